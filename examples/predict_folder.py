"""Predict the age of every image in a folder, one row per face, errors included.

    .venv/bin/python examples/predict_folder.py MODEL FOLDER [--out preds.csv]

The same as `skage predict MODEL FOLDER --out preds.csv`, from Python. Make a model with
`skage fit --data utkface:../shared/data/utkface --limit 500 --out model.joblib` (or
examples/reuse_saved_model.py). Unreadable files and images without a face keep their row: the
`error` and `flag` columns say what happened.
"""

import argparse

from skage.cli import main as skage_main


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("folder")
    parser.add_argument("--out")
    args = parser.parse_args()
    argv = ["predict", args.model, args.folder] + (["--out", args.out] if args.out else [])
    raise SystemExit(skage_main(argv))


if __name__ == "__main__":
    main()
