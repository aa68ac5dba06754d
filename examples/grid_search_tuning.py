"""Tune the class-balanced loss weight λ and the KNN blend with GridSearchCV and a CMAE scorer.

    .venv/bin/python examples/grid_search_tuning.py [--data utkface:../shared/data/utkface] [--n 80]

Without --data it uses synthetic faces. Settings are tiny so that it runs on a laptop CPU in a few
minutes; on a GPU raise --image-size and --max-epochs.
"""

import argparse

import numpy as np
from sklearn.model_selection import GridSearchCV, KFold

from skage.metrics import get_age_scorer
from skage.pipeline import make_age_pipeline


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="KIND:PATH, e.g. utkface:../shared/data/utkface")
    parser.add_argument("--n", type=int, default=80, help="faces to use")
    parser.add_argument("--image-size", type=int, default=48)
    parser.add_argument("--max-epochs", type=int, default=2)
    args = parser.parse_args()

    if args.data:
        from skage.datasets import load_dataset

        ds = load_dataset(args.data)
        pick = np.random.default_rng(0).choice(len(ds.y), args.n, replace=False)
        X, y, align = ds.X[pick], ds.y[pick], True
    else:
        from skage.datasets import make_synthetic_faces

        faces = make_synthetic_faces(n_samples=args.n, image_size=args.image_size, random_state=0)
        X, y, align = faces.images, faces.y, False  # synthetic faces are already centred crops

    pipe = make_age_pipeline(image_size=args.image_size, max_epochs=args.max_epochs, batch_size=16,
                             device="auto", align=align, random_state=0, verbose=0,
                             net_params={"backbone": "resnet18"})  # resnet50 is the default; 18 keeps this quick
    grid = {
        "model__estimator__lambda_cb": [0.0, 1.0],  # class-balanced cross-entropy weight
        "model__blend": [0.0, 0.5],                 # 0 = network alone, 1 = KNN alone
        "model__n_neighbors": [5],
    }
    search = GridSearchCV(pipe, grid, scoring=get_age_scorer("neg_cmae"), cv=KFold(2, shuffle=True, random_state=0))
    search.fit(X, y)
    for params, score in zip(search.cv_results_["params"], search.cv_results_["mean_test_score"]):
        print(f"CMAE {-score:6.2f}  {params}")
    print("best:", search.best_params_)


if __name__ == "__main__":
    main()
