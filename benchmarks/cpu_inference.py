"""CPU inference speed: skage's AgeNet.predict against a bare PyTorch loop, same run.

The bare loop is what the issue measured: torchvision ResNet-50, 224 px, bf16
autocast, channels_last, inference mode, with the same uint8 → float
normalisation per batch that skage does. skage runs ``AgeNet.predict`` with
its defaults (bf16 autocast for CPU prediction, channels_last) on the same
uint8 chips, once as the CNN-only model and once with parsing attention
(4 mask channels). Rounds alternate between the three so that load from other
processes hits all of them alike; the median round is reported.

Run::

    python benchmarks/cpu_inference.py --n 64 --rounds 3

Results: ``benchmarks/results/cpu_inference.md``.
"""

import argparse
import datetime
import platform
import time

import numpy as np
import torch
import torchvision

from skage.nn import AgeNet
from skage.nn._data import to_model_input


def bare_loop(model, X, batch_size):
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        for start in range(0, len(X), batch_size):
            x = to_model_input(torch.from_numpy(X[start:start + batch_size, :, :, :3]), "cpu")
            model(x).float()


def timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=64, help="images per timed pass")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--regions", type=int, default=4, help="mask channels for the attention model")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(args.n, args.size, args.size, 3 + args.regions), dtype=np.uint8)
    y = rng.uniform(1, 90, size=args.n)

    bare = torchvision.models.resnet50(weights=None).eval().to(memory_format=torch.channels_last)
    common = dict(max_epochs=0, batch_size=args.batch_size, device="cpu", verbose=0, random_state=0)
    # max_epochs=0: builds the network for these inputs without training (weights don't change speed).
    cnn = AgeNet(attention=False, **common).fit(X[:4, ..., :3], y[:4])
    attn = AgeNet(attention=True, **common).fit(X[:4], y[:4])
    X_rgb = np.ascontiguousarray(X[..., :3])

    runs = {
        "bare loop (ResNet-50, bf16, channels_last)": lambda: bare_loop(bare, X, args.batch_size),
        "skage AgeNet.predict, attention=False": lambda: cnn.predict(X_rgb),
        f"skage AgeNet.predict, attention=True ({args.regions} masks)": lambda: attn.predict(X),
    }
    for fn in runs.values():  # warm-up: oneDNN kernels are built on first use
        timed(fn)
    times = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, fn in runs.items():
            times[name].append(timed(fn))

    print(f"date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}")
    print(f"cpu: {platform.processor() or platform.machine()}, torch threads: {torch.get_num_threads()}, "
          f"torch {torch.__version__}")
    print(f"{args.n} images of {args.size} px, batch {args.batch_size}, {args.rounds} rounds (median)")
    reference = None
    for name, values in times.items():
        rate = args.n / float(np.median(values))
        reference = reference or rate
        spread = ", ".join(f"{args.n / v:.1f}" for v in values)
        print(f"{name:55s} {rate:6.1f} img/s  (rounds: {spread})  ratio to bare: {rate / reference:.2f}")


if __name__ == "__main__":
    main()
