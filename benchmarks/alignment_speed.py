"""Images per second of ``skage.alignment.FaceAligner`` (HOG detection + 68 landmarks + warp).

Two inputs, both read from JPEG files so decoding is included:

* ``chip200``: UTKFace's 200 px chips, read in place.
* ``loose448``: the same chips centred in 448 px canvases with replicated
  edges (a loose crop: the face covers a smaller part of the image). Made at
  run time in a temporary folder and deleted afterwards; never saved in the
  repository.

For each input and ``n_jobs`` the aligner first runs on a few images (loads
dlib's models, starts joblib's workers), then on ``--n`` images; the second
run is timed (wall clock). Worker start-up shows in the warm-up time. For
``n_jobs=1`` the images per CPU-second of the process are reported too: on a
shared machine they say what one idle core would do. The machine's 1-minute
load average is printed because other processes share it.

Usage::

    .venv/bin/python benchmarks/alignment_speed.py [--n 300] [--n-jobs 1 2] [--out FILE.md]
"""

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

from skage.alignment import FaceAligner

REPO = Path(__file__).resolve().parents[1]


def find_data(folder):
    for candidate in (folder, os.environ.get("SKAGE_UTKFACE"), REPO.parent / "shared" / "data" / "utkface"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise SystemExit("UTKFace chips not found: pass --data or set SKAGE_UTKFACE")


def loose_crops(paths, folder, size=448):
    out = []
    for path in paths:
        chip = np.asarray(Image.open(path).convert("RGB"))
        top = (size - chip.shape[0]) // 2
        left = (size - chip.shape[1]) // 2
        pads = ((top, size - chip.shape[0] - top), (left, size - chip.shape[1] - left), (0, 0))
        target = Path(folder) / f"{path.stem}.448.jpg"
        Image.fromarray(np.pad(chip, pads, mode="edge")).save(target, quality=95)
        out.append(target)
    return out


def measure(paths, n_jobs, upsample):
    aligner = FaceAligner(n_jobs=n_jobs, upsample=upsample).fit()
    start = time.perf_counter()
    aligner.transform(paths[: max(8, 2 * 32 * (n_jobs or 1))])  # models loaded, workers started
    cold = time.perf_counter() - start
    start, cpu_start = time.perf_counter(), time.process_time()
    result = aligner.align(paths)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    rate = float(np.mean(result.flags == "ok"))
    # CPU time of this process only: meaningful for n_jobs=1, where all the work happens here
    per_cpu_second = len(paths) / cpu if n_jobs in (None, 1) else float("nan")
    return len(paths) / elapsed, per_cpu_second, cold, rate


def _fmt(value):
    return "-" if np.isnan(value) else f"{value:.1f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--n-jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--upsample", type=int, default=0)
    parser.add_argument("--data", default=None)
    parser.add_argument("--out", default=None, help="also write the table to this Markdown file")
    args = parser.parse_args(argv)

    files = sorted(find_data(args.data).glob("*.jpg"))
    paths = [files[i] for i in np.linspace(0, len(files) - 1, args.n).astype(int)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        inputs = {"chip200": paths, "loose448": loose_crops(paths, tmp)}
        for name, items in inputs.items():
            for n_jobs in args.n_jobs:
                load = os.getloadavg()[0]
                speed, per_cpu, cold, rate = measure(items, n_jobs, args.upsample)
                rows.append((name, n_jobs, speed, per_cpu, cold, rate, load))
                print(f"{name:9s} n_jobs={n_jobs}: {speed:6.1f} img/s, {per_cpu:6.1f} img per CPU-s, "
                      f"warm-up {cold:5.1f} s, detected {rate:.1%}, load avg {load:.1f}", flush=True)
    table = [
        "| input | n_jobs | images/s (wall) | images per CPU-second | warm-up call (s) | detected | load avg before |",
        "|---|---|---|---|---|---|---|",
    ] + [
        f"| {name} | {jobs} | {speed:.1f} | {_fmt(cpu)} | {cold:.1f} | {rate:.1%} | {load:.1f} |"
        for name, jobs, speed, cpu, cold, rate, load in rows
    ]
    text = "\n".join(table)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
