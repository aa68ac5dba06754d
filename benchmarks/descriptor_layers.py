"""Which outputs of dlib's face ResNet carry age: the descriptor, inner stages, flip averaging.

    .venv/bin/python benchmarks/descriptor_layers.py [--data ../shared/data/utkface] [--out FILE.md]

Aligns the UTKFace dev chips once (dlib geometry, 150 px, cached in .cache/), computes the globally
averaged maps of residual stages 2-4 and the 128-d descriptor with ``FaceDescriptor(engine="torch")``,
with and without flip averaging, and scores an RBF SVR (standardised features) on each choice, with
and without the KNN blend of ``make_age_pipeline(model="descriptor")``, on the seeded 70/30 split.
This is how the descriptor model's representation was chosen.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from skage.alignment import FaceAligner
from skage.datasets import load_utkface
from skage.features import LAYER_WIDTHS, FaceDescriptor
from skage.metrics import age_report
from skage.refine import KNNAgeRefiner

REPO = Path(__file__).resolve().parents[1]
LAYERS = ("layer2", "layer3", "layer4", "descriptor")
CHOICES = [  # (label, layers, flip)
    ("descriptor (dlib's output)", ("descriptor",), False),
    ("descriptor, flip-averaged", ("descriptor",), True),
    ("layer4 (256-d pooled)", ("layer4",), False),
    ("layer4, flip-averaged", ("layer4",), True),
    ("layer3", ("layer3",), False),
    ("layer2", ("layer2",), False),
    ("layer3 + layer4, flip-averaged", ("layer3", "layer4"), True),
    ("layer2 + layer3 + layer4, flip-averaged", ("layer2", "layer3", "layer4"), True),
]


def columns(layers):
    """Column indices of ``layers`` in the features of all of ``LAYERS``."""
    starts = np.cumsum([0] + [LAYER_WIDTHS[name] for name in LAYERS])
    return np.concatenate([np.arange(starts[LAYERS.index(n)], starts[LAYERS.index(n) + 1]) for n in layers])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "utkface"))
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "descriptor_layers_cpu.md"))
    args = parser.parse_args(argv)

    faces = load_utkface(args.data)
    chips = FaceAligner(geometry="dlib", landmarks=5, output_size=150, n_jobs=2,
                        cache_dir=REPO / ".cache" / "chips").fit().transform(faces.X)
    features, seconds = {}, {}
    for flip in (False, True):
        start = time.perf_counter()
        features[flip] = FaceDescriptor(engine="torch", layers=LAYERS, flip=flip).fit_transform(chips)
        seconds[flip] = time.perf_counter() - start
    y = faces.y.astype(float)
    train, test = train_test_split(np.arange(len(y)), test_size=0.3, random_state=0)
    lines = [f"# dlib face ResNet outputs as age features ({len(train)} train / {len(test)} test, seed 0)", "",
             f"Command: `.venv/bin/python benchmarks/descriptor_layers.py` ({' '.join(sys.argv[1:])})", "",
             f"Features of {len(y)} chips: {seconds[False]:.0f} s plain, {seconds[True]:.0f} s flip-averaged "
             "(torch, bf16 on this CPU).", "",
             "| features | dims | KNN blend | MAE | CMAE | Acc@5 | bias |", "|---|---:|---:|---:|---:|---:|---:|"]
    for label, layers, flip in CHOICES:
        X = StandardScaler().fit(features[flip][train][:, columns(layers)]).transform(features[flip][:, columns(layers)])
        for blend in (0.0, 0.2):
            model = KNNAgeRefiner(SVR(C=30, epsilon=1.0), n_neighbors=20, blend=blend, metric="cosine",
                                  embedding="input").fit(X[train], y[train])
            r = age_report(y[test], model.predict(X[test]))
            lines.append(f"| {label} | {X.shape[1]} | {blend} | {r.mae:.2f} | {r.cmae:.2f} | {100 * r.acc:.1f}% | "
                         f"{r.bias:.2f} |")
            print(lines[-1], flush=True)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
