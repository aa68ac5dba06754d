"""Compare the hand-crafted baselines (LBP+SVR, HOG+SVR, HOG+tree) against predicting the mean age.

Runs on synthetic cartoon faces by default (about a minute on 2 cores); pass ``--data utkface:PATH``
(or any ``KIND:PATH[:CSV]`` that :func:`skage.datasets.load_dataset` reads) for real faces::

    python examples/baseline_comparison.py
    python examples/baseline_comparison.py --data utkface:../shared/data/utkface --limit 1000
"""

import argparse

import numpy as np
from sklearn.dummy import DummyRegressor
from sklearn.model_selection import train_test_split

from skage.datasets import load_dataset, make_synthetic_faces
from skage.features import make_hog_svr, make_hog_tree, make_lbp_svr
from skage.metrics import age_report

parser = argparse.ArgumentParser(description="Hand-crafted age-estimation baselines.")
parser.add_argument("--data", help="KIND:PATH[:CSV]; synthetic faces when left out")
parser.add_argument("--limit", type=int, default=400, help="number of faces (default: %(default)s)")
parser.add_argument("--seed", type=int, default=0)
args = parser.parse_args()

if args.data:
    data = load_dataset(args.data)
    keep = np.random.default_rng(args.seed).permutation(len(data.y))[: args.limit]
    X, y = data.X[keep], data.y[keep]
else:
    faces = make_synthetic_faces(n_samples=args.limit, image_size=64, random_state=args.seed)
    X, y = faces.images, faces.y

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.34, random_state=args.seed)
models = {
    "mean age": DummyRegressor(),
    "LBP + SVR": make_lbp_svr(n_jobs=2),
    "HOG + SVR": make_hog_svr(n_jobs=2),
    "HOG + tree": make_hog_tree(random_state=args.seed, n_jobs=2),
}
print(f"{len(y_train)} training / {len(y_test)} test faces\n")
print(f"{'model':<12} {'MAE':>6} {'CMAE':>6} {'Acc@5':>6} {'bias':>6}")
for name, model in models.items():
    report = age_report(y_test, model.fit(X_train, y_train).predict(X_test))
    print(f"{name:<12} {report.mae:6.2f} {report.cmae:6.2f} {100 * report.acc:5.1f}% {report.bias:6.2f}")
