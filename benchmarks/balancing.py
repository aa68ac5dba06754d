"""Effect of age-bin balancing on per-bin MAE and bias, with frozen HOG features.

Seeded 80/20 split of the UTKFace chips (stratified by age bin), HOG features
of 64 px gray chips (``skage.features.HOGFeatures``), and two regressors fitted
with and without :class:`skage.sampling.AgeBinResampler` inside an
imbalanced-learn pipeline (so balancing touches the training split only).

Usage::

    .venv/bin/python benchmarks/balancing.py --data ../shared/data/utkface --out /tmp/balancing.md
"""

import argparse
import time
from pathlib import Path

import numpy as np
from imblearn.pipeline import make_pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from skage.features import HOGFeatures
from skage.metrics import age_bin_indices, age_report
from skage.sampling import AgeBinResampler


def load(folder):
    paths = sorted(str(p) for p in Path(folder).glob("*.jpg"))
    ages = np.array([float(Path(p).name.split("_")[0]) for p in paths])
    return np.array(paths, dtype=object), ages


def models(seed):
    return {
        "ridge": lambda: [StandardScaler(), Ridge(alpha=100.0)],
        "pca100+svr": lambda: [StandardScaler(), PCA(100, random_state=seed), SVR(C=10.0)],
    }


def balancers(seed):
    return {
        "none": None,
        "over, full": AgeBinResampler(sampling_strategy="full", random_state=seed),
        "over, sqrt": AgeBinResampler(sampling_strategy="sqrt", random_state=seed),
        "under, full": AgeBinResampler(sampler=RandomUnderSampler(), sampling_strategy="full", random_state=seed),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/utkface")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-size", type=float, default=0.2)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", help="write the markdown tables here too")
    args = parser.parse_args(argv)

    paths, ages = load(args.data)
    train, test = train_test_split(np.arange(len(ages)), test_size=args.test_size, random_state=args.seed,
                                   stratify=age_bin_indices(ages))
    t0 = time.perf_counter()
    feats = HOGFeatures(image_size=64, n_jobs=args.n_jobs).fit().transform(paths)
    lines = [f"UTKFace chips: {len(ages)} ({len(train)} train / {len(test)} test, seed {args.seed}); "
             f"HOG features {feats.shape[1]}-d from 64 px gray chips in {time.perf_counter() - t0:.0f} s.", ""]
    header = None
    for model_name, make_steps in models(args.seed).items():
        for bal_name, balancer in balancers(args.seed).items():
            steps = ([balancer] if balancer is not None else []) + make_steps()
            t0 = time.perf_counter()
            pipe = make_pipeline(*steps).fit(feats[train], ages[train])
            fit_s = time.perf_counter() - t0
            report = age_report(ages[test], pipe.predict(feats[test]))
            n_fit = len(balancer.sample_indices_) if balancer is not None else len(train)
            if header is None:
                bins = list(report.per_bin["bin"])
                header = ("| model | balancing | n fit | MAE | CMAE | bias | " + " | ".join(bins) + " | fit s |")
                lines += [header, "|" + "---|" * (7 + len(bins))]
                lines.append("| test n per bin | | | | | | " + " | ".join(map(str, report.per_bin["n"])) + " | |")
            row = (f"| {model_name} | {bal_name} | {n_fit} | {report.mae:.2f} | {report.cmae:.2f} | "
                   f"{report.bias:.2f} | " + " | ".join(f"{m:.2f}" for m in report.per_bin["mae"]) +
                   f" | {fit_s:.0f} |")
            lines.append(row)
            print(row, flush=True)
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
