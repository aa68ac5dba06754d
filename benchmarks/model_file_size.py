"""Size of a saved 224-px ResNet-50 pipeline: safe format (float32, float16, for_training) against a pickle.

Fits the full default pipeline (``make_age_pipeline(image_size=224)``) for one epoch on 8 chips (the
size does not depend on training), saves it every way, and reloads the float32 file in a fresh Python
process to compare its ages with the fitted pipeline's. See ``docs/model_files.md``.

Usage::

    .venv/bin/python benchmarks/model_file_size.py --data ../shared/data/utkface
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np

from skage.datasets import load_utkface
from skage.pipeline import make_age_pipeline, save_model

_RELOAD = ("import sys, time, numpy as np; from skage.pipeline import load_model; t = time.time(); "
           "m = load_model(sys.argv[1]); print(f'load {time.time() - t:.1f}s', file=sys.stderr); "
           "print(*m.predict(np.load(sys.argv[2], allow_pickle=True)).tolist())")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="../shared/data/utkface", help="UTKFace chip folder")
    parser.add_argument("--image-size", type=int, default=224)
    args = parser.parse_args()

    faces = load_utkface(args.data)
    idx = np.random.default_rng(0).choice(len(faces.y), 12, replace=False)
    X, y = faces.X[idx], faces.y[idx]
    pipe = make_age_pipeline(image_size=args.image_size, max_epochs=1, batch_size=8, device="cpu", random_state=0,
                             verbose=0, n_jobs=1)
    start = time.time()
    pipe.fit(X[:8], y[:8])
    print(f"fit {time.time() - start:.0f}s")
    net = pipe.named_steps["model"].estimator_
    weights = sum(t.numel() * t.element_size() for t in net.module_.state_dict().values())
    n_params = sum(p.numel() for p in net.module_.parameters())
    print(f"network weights fp32: {weights / 1e6:.1f} MB ({n_params / 1e6:.2f} M parameters)")

    out = Path(tempfile.mkdtemp(prefix="skage-size-"))
    for name, kwargs in [("float32", {}), ("float16", {"dtype": "float16"}), ("for_training", {"for_training": True})]:
        start = time.time()
        path = save_model(pipe, out / f"{name}.skage", **kwargs)
        size = os.path.getsize(path)
        print(f"save_model {name}: {size / 1e6:.1f} MB = {size / weights:.3f} x weights, {time.time() - start:.1f}s")
    start = time.time()
    joblib.dump(pipe, out / "pipe.joblib")
    size = os.path.getsize(out / "pipe.joblib")
    print(f"joblib.dump: {size / 1e6:.1f} MB = {size / weights:.2f} x weights, {time.time() - start:.1f}s")

    expected = pipe.predict(X[8:])
    np.save(out / "X.npy", X[8:])
    done = subprocess.run([sys.executable, "-c", _RELOAD, str(out / "float32.skage"), str(out / "X.npy")],
                          capture_output=True, text=True, check=True)
    print(done.stderr.strip().splitlines()[-1], "(fresh process)")
    reloaded = np.array([float(v) for v in done.stdout.split()])
    print("fresh-process ages identical:", bool(np.array_equal(expected, reloaded)), expected.round(3).tolist())


if __name__ == "__main__":
    main()
