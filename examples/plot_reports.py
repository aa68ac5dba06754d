"""Write every skage report plot for a quick age model.

The model is deliberately simple (HOG features + ridge regression, 5-fold
out-of-fold predictions) so the script runs in seconds on a CPU; the plots
are the point. It uses 400 UTKFace chips read in place from
``../shared/data/utkface`` (or ``$SKAGE_UTKFACE``, or ``--data``) and falls
back to synthetic numbers when the folder is absent. Images are never copied.

Usage::

    python examples/plot_reports.py [OUT_DIR] [--n-faces 400] [--data FOLDER]

OUT_DIR defaults to /tmp/skage-report.
"""

import argparse
import os
from pathlib import Path

import numpy as np
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skage.viz import UTKFACE_GROUP_NAMES, plot_per_bin_mae, write_report

REPO = Path(__file__).resolve().parents[1]


def find_utkface(folder=None):
    for candidate in (folder, os.environ.get("SKAGE_UTKFACE"), REPO.parent / "shared" / "data" / "utkface"):
        if candidate and Path(candidate).is_dir() and any(Path(candidate).glob("*.jpg")):
            return Path(candidate)
    return None


def parse_utkface_name(path):
    """``(age, gender, race)`` from ``age_gender_race_date.jpg.chip.jpg``.

    A few files miss a field; their age (always first) is kept but gender and
    race are unknown (NaN), since it is ambiguous which field is missing.
    """
    fields = path.name.split("_")
    age = float(fields[0])
    if len(fields) < 4:
        return age, np.nan, np.nan
    return age, float(fields[1]), float(fields[2])


def hog_features(paths, size=64):
    from skimage.color import rgb2gray
    from skimage.feature import hog
    from skimage.transform import resize

    from skage.io import read_image

    rows = []
    for path in paths:
        gray = resize(rgb2gray(read_image(path)), (size, size), anti_aliasing=True)
        rows.append(hog(gray, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2)))
    return np.asarray(rows)


def utkface_data(folder, n_faces, seed=0):
    files = sorted(folder.glob("*.jpg"))
    chosen = [files[i] for i in np.sort(np.random.default_rng(seed).choice(len(files), n_faces, replace=False))]
    labels = np.array([parse_utkface_name(p) for p in chosen])
    return hog_features(chosen), labels[:, 0], {"gender": labels[:, 1], "race": labels[:, 2]}


def synthetic_data(n_faces, seed=0):
    """Features that carry a noisy age signal, with UTKFace-like skewed ages and group codes."""
    rng = np.random.default_rng(seed)
    ages = np.clip(rng.gamma(4.0, 8.0, n_faces), 1, 100).round()
    X = np.c_[ages + rng.normal(0, 12, n_faces), rng.normal(size=(n_faces, 30))]
    groups = {"gender": rng.integers(0, 2, n_faces).astype(float), "race": rng.integers(0, 5, n_faces).astype(float)}
    return X, ages, groups


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", nargs="?", default="/tmp/skage-report", help="folder for the PNGs")
    parser.add_argument("--n-faces", type=int, default=400)
    parser.add_argument("--data", help="UTKFace chip folder (default: $SKAGE_UTKFACE or ../shared/data/utkface)")
    args = parser.parse_args(argv)

    folder = find_utkface(args.data)
    if folder is not None:
        print(f"HOG features of {args.n_faces} UTKFace chips from {folder}")
        X, ages, groups = utkface_data(folder, args.n_faces)
    else:
        print("UTKFace not found; using synthetic numbers")
        X, ages, groups = synthetic_data(args.n_faces)

    cv = KFold(5, shuffle=True, random_state=0)
    ridge = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(0, 5, 11)))
    pred = cross_val_predict(ridge, X, ages, cv=cv)
    baseline = cross_val_predict(DummyRegressor(strategy="median"), X, ages, cv=cv)

    out_dir = Path(args.out_dir)
    paths = write_report(ages, pred, out_dir, groups=groups, embeddings=X, names=UTKFACE_GROUP_NAMES)
    compare = out_dir / "per_bin_mae_compare.png"
    plot_per_bin_mae(ages, {"HOG + ridge": pred, "median age (dummy)": baseline}, path=compare)
    paths["per_bin_mae_compare"] = compare
    for name, path in paths.items():
        print(f"{name:>20}: {path}")


if __name__ == "__main__":
    main()
