"""Prediction speed of a saved model on UTKFace's 200-px chips: a batch, and one image.

    .venv/bin/skage fit --model descriptor --data utkface:../shared/data/utkface --config CFG --out model.skage
    .venv/bin/python benchmarks/descriptor_speed.py model.skage [--data ../shared/data/utkface] [--n 200]

CFG is a JSON file with {"n_jobs": 2}. The batch is every 31st chip (models are loaded and warmed first).
"""

import argparse
import os
import time
from pathlib import Path

from skage.pipeline import load_model

REPO = Path(__file__).resolve().parents[1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "utkface"))
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args(argv)
    files = sorted(str(p) for p in Path(args.data).glob("*.jpg"))[::31][:args.n]
    start = time.perf_counter()
    model = load_model(args.model)
    print(f"load_model: {time.perf_counter() - start:.1f} s")
    model.predict(files[:8])  # dlib and torch models loaded, workers started
    start = time.perf_counter()
    model.predict(files)
    print(f"{len(files)} chips: {len(files) / (time.perf_counter() - start):.1f} img/s "
          f"(load average {os.getloadavg()[0]:.1f})")
    start = time.perf_counter()
    model.predict(files[:1])
    print(f"one image: {1000 * (time.perf_counter() - start):.0f} ms")


if __name__ == "__main__":
    main()
