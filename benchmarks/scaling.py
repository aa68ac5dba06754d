"""How each stage's cost grows with the number of faces, measured at a few sizes and extrapolated.

    nice -n 5 .venv/bin/python benchmarks/scaling.py [--data ../shared/data/utkface] [--sizes 1000 4000 6419] \\
        [--n-jobs 2] [--torch-threads 1] [--dask-size 1000] [--deep-max N] [--out benchmarks/results/scaling_cpu.md]

Stages, each on the first N faces of one fixed shuffle of the chips (so the sizes are nested), each
timed on its own (nothing cached between stages or sizes): the unreadable-input check (reads every
file, threads), alignment into dlib's 150-px chips (the descriptor model) and into 224-px chips
(the deep model), parsing masks on the 224-px chips, the descriptor features (torch engine, stages 3+4,
flipped: the factory's settings; torch threads), the RBF SVR fit and predict on the standardised
features, and the KNN stage (index on all N, then the N faces queried) exact and with pynndescent.
Models are loaded and numba compiled on a few faces first, outside the timings. With --dask-size,
alignment is timed again on that many faces under joblib's dask backend on a local cluster of
--n-jobs single-thread workers. Writes a Markdown report (with the load average seen at each
stage: the machine may be shared) and a JSON file of the raw timings next to it.
"""

import argparse
import json
import os
import platform
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
TARGET = 300_000  # faces: IMDB-Clean is about 280k
PER_FACE = ("check", "align_dlib150", "align_eyes224", "parse224", "describe")


@contextmanager
def timed(times, name):
    start = time.perf_counter()
    yield
    times[name] = {"s": time.perf_counter() - start, "load": round(os.getloadavg()[0], 1)}
    print(f"  {name}: {times[name]['s']:.1f} s (load {times[name]['load']})", flush=True)


def stages(files, ages, n_jobs, deep=True):
    """Time every stage on ``files`` (the 224-px alignment and parsing only with ``deep``); {stage: {"s", "load"}}."""
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    from skage.alignment import FaceAligner
    from skage.features import FaceDescriptor
    from skage.features._baselines import SVR_C, SVR_EPSILON
    from skage.parsing import FaceParser
    from skage.refine import KNNAgeRefiner
    from skage.sampling._unreadable import _read_errors

    t = {}
    with timed(t, "check"):
        _read_errors(files, n_jobs)
    with timed(t, "align_dlib150"):
        chips = FaceAligner(landmarks=5, geometry="dlib", output_size=150, n_jobs=n_jobs).fit().transform(files)
    with timed(t, "describe"):
        features = FaceDescriptor(engine="torch", layers=("layer3", "layer4"), flip=True).fit().transform(chips)
    del chips
    if deep:
        with timed(t, "align_eyes224"):
            chips = FaceAligner(output_size=224, n_jobs=n_jobs).fit().transform(files)
        with timed(t, "parse224"):
            FaceParser(n_jobs=n_jobs).fit(chips).parse(chips)
        del chips
    keep = np.isfinite(features).all(axis=1)
    Z, y = StandardScaler().fit_transform(features[keep]), ages[keep]
    with timed(t, "svr_fit"):
        svr = SVR(C=SVR_C, epsilon=SVR_EPSILON).fit(Z, y)
    with timed(t, "svr_predict"):
        svr.predict(Z)
    for algorithm in ("exact", "pynndescent"):
        with timed(t, f"knn_{algorithm}"):
            knn = KNNAgeRefiner(None, n_neighbors=min(20, len(y) - 1), metric="cosine", embedding="input",
                                algorithm=algorithm, random_state=0)
            knn.fit(Z, y).predict(Z)
    return t


def dask_alignment(files, n_jobs):
    """Alignment of ``files`` under joblib's dask backend on a local cluster, and with the default one."""
    import joblib
    from distributed import Client, LocalCluster

    from skage.alignment import FaceAligner

    t = {}
    aligner = FaceAligner(landmarks=5, geometry="dlib", output_size=150, n_jobs=n_jobs).fit()
    with LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.run(lambda: __import__("skage.alignment"))
        with joblib.parallel_config(backend="dask"):
            FaceAligner(landmarks=5, geometry="dlib", output_size=150).fit().transform(files[:64])  # workers warm
            with timed(t, "align_dlib150 (dask)"):
                chips_dask = aligner.transform(files)
    with timed(t, "align_dlib150 (loky)"):
        chips = aligner.transform(files)
    assert np.array_equal(chips, chips_dask)
    return t


def fit_exponent(sizes, seconds):
    """b of t = a N^b, least squares in log-log over the measured sizes."""
    b, log_a = np.polyfit(np.log(sizes), np.log(seconds), 1)
    return float(b), float(np.exp(log_a))


def report(results, args, dask_times, total):
    sizes = sorted(results)
    names = list(results[sizes[0]])

    def measured(name):
        return [n for n in sizes if name in results[n]]

    lines = [
        "# Scaling of each stage with the number of faces (CPU)",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} on {platform.node() and 'the development machine'}: "
        f"{os.cpu_count()} CPU cores (x86-64, {platform.processor() or platform.machine()}), no GPU, "
        f"possibly shared with other jobs (see the load averages); {args.n_jobs} joblib workers, torch {args.torch_threads} threads. "
        f"Total run {total / 60:.1f} min.",
        "",
        "```bash",
        "nice -n 5 .venv/bin/python " + " ".join(["benchmarks/scaling.py", *sys.argv[1:]]),
        "```",
        "",
        "Wall-clock seconds per stage; in brackets the 1-minute load average at the stage's end (2 cores: "
        "a load above 2 means other jobs took part of them, so times are pessimistic).",
        "",
        "| stage | " + " | ".join(f"{n} faces" for n in sizes) + " | ms/face at the largest | exponent b |",
        "|---|" + "---:|" * (len(sizes) + 2),
    ]
    exponents = {}
    for name in names:
        at = measured(name)
        secs = [results[n][name]["s"] for n in at]
        b, _ = fit_exponent(at, secs)
        exponents[name] = b
        cells = " | ".join(f"{results[n][name]['s']:.1f} ({results[n][name]['load']})" if name in results[n]
                           else "not run" for n in sizes)
        lines.append(f"| {name} | {cells} | {1000 * secs[-1] / at[-1]:.1f} (at {at[-1]}) | {b:.2f} |")
    lines += ["", "b: the slope of log(time) against log(faces) over the sizes above (1 = linear).", ""]
    if dask_times:
        lines += ["Alignment of the first " f"{args.dask_size} faces, the same {args.n_jobs} workers either way "
                  "(results identical):", ""]
        lines += [f"- {name}: {v['s']:.1f} s (load {v['load']})" for name, v in dask_times.items()]
        lines.append("")
    lines += [f"## Extrapolated to {TARGET:,} faces", "",
              "Per-face stages from their core-seconds per face at the largest size measured "
              f"(wall time × {args.n_jobs} workers / faces), spread over W single-core workers with no overhead "
              "(files on shared storage, results back to the client); SVR and KNN from the fitted power law "
              "t = t(N) (300k / N)^b. libsvm's SVR fit runs on one core whatever the cluster.", "",
              "| stage | core-s/face | W = 2 | W = 16 | W = 64 | W = 256 |", "|---|---:|---:|---:|---:|---:|"]

    def fmt(seconds):
        return f"{seconds / 3600:.1f} h" if seconds >= 3600 else f"{seconds / 60:.0f} min"

    for name in names:
        big = measured(name)[-1]
        t_big = results[big][name]["s"]
        if name in PER_FACE:
            cores = args.torch_threads if name == "describe" else args.n_jobs
            per_face = t_big * cores / big
            cells = " | ".join(fmt(per_face * TARGET / w) for w in (2, 16, 64, 256))
            lines.append(f"| {name} | {per_face:.3f} | {cells} |")
        else:
            est = t_big * (TARGET / big) ** exponents[name]
            lines.append(f"| {name} (b = {exponents[name]:.2f}) | - | {fmt(est)} (any W) | | | |")
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "utkface"))
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 4000, 6419])
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--dask-size", type=int, default=1000, help="0 to skip the dask comparison")
    parser.add_argument("--deep-max", type=int, default=None,
                        help="largest size at which the 224-px alignment and parsing run (default: all)")
    # One torch thread: on a shared machine, more threads than free cores make OpenMP's barriers spin
    # (the descriptor ran 6x slower with 2 threads than with 1 at a load average of 6 on 2 cores).
    parser.add_argument("--torch-threads", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results" / "scaling_cpu.md"))
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.torch_threads)

    from skage.datasets import load_utkface

    data = load_utkface(args.data)
    order = np.random.default_rng(0).permutation(len(data.y))
    files, ages = np.asarray(data.X)[order].tolist(), np.asarray(data.y, dtype=float)[order]
    start = time.perf_counter()
    print("warm-up (models loaded, numba compiled; not timed)")
    stages(files[:48], ages[:48], args.n_jobs)
    dask_times = {}
    if args.dask_size:
        print(f"dask backend, {args.dask_size} faces")
        dask_times = dask_alignment(files[: args.dask_size], args.n_jobs)
    results = {}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for n in sorted(args.sizes):
        print(f"{n} faces (load {os.getloadavg()[0]:.1f})")
        results[n] = stages(files[:n], ages[:n], args.n_jobs, deep=args.deep_max is None or n <= args.deep_max)
        # written after every size: a run stopped early still leaves what it measured
        out.write_text(report(results, args, dask_times, time.perf_counter() - start))
        out.with_suffix(".json").write_text(json.dumps(
            {"sizes": results, "dask": dask_times, "n_jobs": args.n_jobs, "torch_threads": args.torch_threads},
            indent=1))
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
