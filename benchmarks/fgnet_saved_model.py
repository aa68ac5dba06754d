"""Issue 22's (b) for a saved model: score a ``skage fit`` model file on all of FG-NET.

``cross_dataset.py`` fits its rows on a 70 % split; this scores a model trained elsewhere, e.g. on
all the UTKFace chips by ``skage fit`` (the cold CPU-budget runs), with the same figures: overall,
gray and colour photos apart, children's age groups, and the prediction rate (model loaded).

Run::

    .venv/bin/python benchmarks/fgnet_saved_model.py ensemble_all.skage --save-outputs fgnet_pred.npz
"""

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cross_dataset import DATA, fgnet_figures, grayscale_photos  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help="a model file written by skage fit")
    parser.add_argument("--fgnet", default=str(DATA / "fgnet"))
    parser.add_argument("--save-outputs", help=".npz to keep the ages and predictions")
    args = parser.parse_args(argv)

    from skage.datasets import load_fgnet
    from skage.pipeline import load_model

    fg = load_fgnet(args.fgnet)
    model = load_model(args.model)
    start = time.perf_counter()
    pred = np.asarray(model.predict(fg.X), float)
    seconds = time.perf_counter() - start
    figures = fgnet_figures(fg.y, pred, grayscale_photos(fg.X))
    figures.update(predict_s=seconds, photos_per_s=len(fg.y) / seconds)
    print(json.dumps(figures, indent=1))
    if args.save_outputs:
        np.savez(args.save_outputs, y_fgnet=fg.y, pred_fgnet=pred)


if __name__ == "__main__":
    main()
