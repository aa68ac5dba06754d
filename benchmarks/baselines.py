"""Run the hand-crafted baselines (LBP+SVR, HOG+SVR, HOG+tree) on a seeded random split of a dataset.

Usage::

    python benchmarks/baselines.py                                  # UTKFace from ../shared/data/utkface
    python benchmarks/baselines.py --data fgnet:/data/FGNET/images --limit 500
    python benchmarks/baselines.py --data synthetic --limit 600     # no real data needed

Prints MAE, CMAE, Acc@5, bias score and per-bin MAE (plus MAE per gender / race where the dataset
records them) for each baseline.
"""

import argparse
import platform
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from skage.datasets import load_dataset, make_synthetic_faces
from skage.features import make_hog_svr, make_hog_tree, make_lbp_svr
from skage.metrics import age_report

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = f"utkface:{REPO.parent / 'shared' / 'data' / 'utkface'}"
BASELINES = {"lbp-svr": make_lbp_svr, "hog-svr": make_hog_svr, "hog-tree": make_hog_tree}


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", default=DEFAULT_DATA,
                        help="KIND:PATH[:CSV] (utkface, fgnet, afad, morph, imdb-clean, folder) or 'synthetic' "
                             "(default: %(default)s)")
    parser.add_argument("--test-size", type=float, default=0.34, help="test fraction (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="split / subsample seed (default: %(default)s)")
    parser.add_argument("--n-jobs", type=int, default=2, help="feature extraction processes (default: %(default)s)")
    parser.add_argument("--limit", type=int, default=None, help="use a seeded random subsample of N images")
    parser.add_argument("--models", nargs="+", choices=list(BASELINES), default=list(BASELINES),
                        help="baselines to run (default: all)")
    return parser.parse_args(argv)


def load(spec, limit, seed):
    """Images, ages and metadata for a dataset spec; 'synthetic' draws cartoon faces in memory."""
    if spec == "synthetic":
        faces = make_synthetic_faces(n_samples=limit or 600, image_size=64, random_state=seed)
        return faces.images, faces.y, faces.metadata, "synthetic faces"
    data = load_dataset(spec)
    X, y, meta = data.X, data.y, data.metadata
    if limit is not None and limit < len(y):
        keep = np.sort(np.random.default_rng(seed).choice(len(y), size=limit, replace=False))
        X, y, meta = X[keep], y[keep], meta.iloc[keep].reset_index(drop=True)
    return X, y, meta, data.DESCR.splitlines()[0]


def main(argv=None):
    args = parse_args(argv)
    try:
        X, y, meta, name = load(args.data, args.limit, args.seed)
    except (ValueError, FileNotFoundError) as exc:
        sys.exit(f"baselines.py: cannot load --data {args.data}: {exc}")
    train, test = train_test_split(np.arange(len(y)), test_size=args.test_size, random_state=args.seed)
    groups = {c: meta[c].to_numpy()[test] for c in ("gender", "race") if c in meta and meta[c].notna().any()}
    print(f"# Baselines on {name}")
    print(f"{len(y)} images: {len(train)} train / {len(test)} test (seed {args.seed}); "
          f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC; {platform.processor() or platform.machine()}; "
          f"command: python {' '.join(sys.argv)}\n")

    # Baselines that share a feature extractor (HOG+SVR, HOG+tree) share its output: same numbers, half the time.
    cache = {}
    for model_name in args.models:
        model = BASELINES[model_name](n_jobs=args.n_jobs)
        features, head = model.steps[0][1], model[1:]
        key = repr(features)
        start = time.perf_counter()
        if key not in cache:
            features = clone(features).fit()
            cache[key] = (features.transform(X[train]), features.transform(X[test]))
        F_train, F_test = cache[key]
        head.fit(F_train, y[train])
        pred = head.predict(F_test)
        seconds = time.perf_counter() - start
        report = age_report(y[test], pred, groups=groups or None)
        print(f"## {model_name} ({seconds:.0f} s, features included when first computed)\n")
        print(report.to_markdown())
        print()


if __name__ == "__main__":
    main()
