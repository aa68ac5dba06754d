"""Full-pipeline prediction speed on the CPU: align + parse + net + KNN, per stage, batch and single image.

Builds the default skage pipeline (224 px, ResNet-50 with parsing attention,
KNN refinement), or with ``--backbone dlib_resnet`` the same pipeline on dlib's
face ResNet (dlib's 150-px face chips), on ``--fit`` chips with ``max_epochs=0`` (weights do not
change speed), then times ``pipeline.predict`` on ``--n`` other chips given
as file paths, and one image at a time. Each stage is also timed on its own,
in wall seconds and in CPU seconds of this process (``time.process_time``,
all threads): on a shared machine the CPU time per image is the figure that
does not depend on what else runs.

Run::

    python benchmarks/predict_speed.py --data utkface:../shared/data/utkface --n 128 --n-jobs 2
    python benchmarks/predict_speed.py --data utkface:../shared/data/utkface --n 128 --backbone dlib_resnet
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from skage.datasets import load_dataset  # noqa: E402
from skage.pipeline import make_age_pipeline  # noqa: E402


def timed(fn):
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall, time.process_time() - cpu


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="utkface:../shared/data/utkface")
    parser.add_argument("--fit", type=int, default=200, help="chips the KNN index is built on")
    parser.add_argument("--n", type=int, default=128, help="chips predicted in one batch")
    parser.add_argument("--singles", type=int, default=10, help="one-image predictions (median reported)")
    parser.add_argument("--image-size", type=int, default=None, help="chip side (default: the backbone's)")
    parser.add_argument("--backbone", default=None, help="AgeNet backbone (default: AgeNet's, ResNet-50)")
    parser.add_argument("--n-jobs", type=int, default=None, help="workers of the alignment and parsing stages")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)

    data = load_dataset(args.data)
    paths = list(np.asarray(data.X, dtype=object)[np.random.default_rng(0).permutation(len(data.y))])
    fit_paths, test_paths = paths[:args.fit], paths[args.fit:args.fit + args.n]
    y = np.asarray(data.y, dtype=float)
    ages = dict(zip(data.X, y))
    pipe = make_age_pipeline(image_size=args.image_size, max_epochs=0, device="cpu", verbose=0, random_state=0,
                             n_jobs=args.n_jobs, net_params={"backbone": args.backbone} if args.backbone else None)
    pipe.fit(fit_paths, [ages[p] for p in fit_paths])
    steps = [(name, step) for name, step in pipe.steps[:-1] if step != "passthrough" and hasattr(step, "transform")]
    model = pipe.steps[-1][1]

    pipe.predict(test_paths[:8])  # warm-up: oneDNN kernels, joblib workers
    _, wall, cpu = timed(lambda: pipe.predict(test_paths))
    singles = [timed(lambda p=p: pipe.predict([p]))[1] for p in test_paths[:args.singles]]

    stage_rows = []
    X = test_paths
    for name, step in steps:
        X, s_wall, s_cpu = timed(lambda step=step, X=X: step.transform(X))
        stage_rows.append((name, s_wall, s_cpu))
    _, s_wall, s_cpu = timed(lambda: model.predict(X))
    stage_rows.append(("model (net + KNN)", s_wall, s_cpu))

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}, {os.cpu_count()} CPUs, "
          f"torch threads {torch.get_num_threads()}, load average {load:.1f}, n_jobs {args.n_jobs}")
    net = pipe.named_steps["model"].estimator_
    print(f"{args.n} chips of {args.data}, backbone {net.backbone}, {pipe.named_steps['align'].output_size} px, "
          f"KNN index on {args.fit} chips")
    print(f"pipeline.predict: {args.n / wall:.1f} img/s wall, {1000 * cpu / args.n:.1f} ms CPU per image")
    print(f"one image: median {1000 * np.median(singles):.0f} ms wall (min {1000 * min(singles):.0f})")
    for name, s_wall, s_cpu in stage_rows:
        print(f"  {name:20s} {1000 * s_wall / args.n:7.1f} ms wall/img  {1000 * s_cpu / args.n:7.1f} ms CPU/img")


if __name__ == "__main__":
    main()
