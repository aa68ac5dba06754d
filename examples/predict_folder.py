"""Predict the age of every image in a folder, one row per face, errors included.

    .venv/bin/python examples/predict_folder.py MODEL FOLDER [--out preds.csv]

What `skage predict MODEL FOLDER --out preds.csv` does, from Python. Make a model with
`skage fit --model descriptor --data utkface:../shared/data/utkface --out model.skage` (minutes on a
CPU). Unreadable files and images without a face keep their row: the `error` and `flag` columns say
what happened; a photo with several faces gives one row per face.
"""

import argparse
from pathlib import Path

from skage.pipeline import load_model, predict_faces


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("folder")
    parser.add_argument("--out")
    args = parser.parse_args()
    files = sorted(str(p) for p in Path(args.folder).rglob("*") if p.is_file() and not p.name.startswith("."))
    table = predict_faces(load_model(args.model), files, progress=True)
    if args.out:
        table.to_csv(args.out, index=False)
    else:
        print(table.to_string(index=False, na_rep=""))


if __name__ == "__main__":
    main()
