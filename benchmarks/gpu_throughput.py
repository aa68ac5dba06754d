"""GPU throughput: skage's AgeNet.fit / predict against a bare PyTorch loop, same run.

The bare reference is the loop the issue describes: torchvision ResNet-50,
224 px, batch 128, bf16 autocast, channels_last, no compile, AdamW,
cross-entropy over 101 ages, augmentation on the GPU, pre-decoded uint8 data
(held on the GPU, the most favourable feeding there is). It uses skage's
``to_model_input`` for the uint8 → float, normalisation and augmentation step
so that both sides do the same per-image work; everything else is plain
PyTorch.

skage trains ``AgeNet`` with its defaults on the same uint8 chips held in
host memory (DataLoader workers gather and pin the batches, the copy to the
GPU is asynchronous): once as the CNN-only model (``attention=False``, the
same network as the bare loop) and once with parsing attention on 4 mask
channels. Training speed is taken from epochs after the first (cuDNN
autotuning and worker start-up fall into epoch 1); skage's per-epoch
durations come from its history. The ratio skage / bare is the figure of
merit (goal >= 1.0).

Run on a CUDA machine::

    python benchmarks/gpu_throughput.py                 # ~2-3 minutes on an H100/H200
    python benchmarks/gpu_throughput.py --compile       # torch.compile on both sides

Results
-------
Not measured yet: the task that wrote this script had no GPU. No figures are
recorded here; run the script on a GPU and keep its full output (card, date,
img/s, ratios) in ``benchmarks/results/``.
"""

import argparse
import datetime
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
import torchvision

from skage.nn import AgeNet
from skage.nn._data import to_model_input

AUGMENT = dict(rotation=10.0, brightness=0.2, flip=0.5, scale=(0.75, 1.0))


def bare_train(X_gpu, y_gpu, epochs, batch_size, compile_model):
    model = torchvision.models.resnet50(weights=None, num_classes=101)
    model = model.cuda().to(memory_format=torch.channels_last).train()
    step_model = torch.compile(model) if compile_model else model
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    n = len(X_gpu)
    durations = []
    for _ in range(epochs):
        torch.cuda.synchronize()
        start = time.perf_counter()
        order = torch.randperm(n, device="cuda")
        for first in range(0, n, batch_size):
            index = order[first:first + batch_size]
            x = to_model_input(X_gpu[index], "cuda", augment=AUGMENT)
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = F.cross_entropy(step_model(x).float(), y_gpu[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        torch.cuda.synchronize()
        durations.append(time.perf_counter() - start)
    return model, step_model, durations


def bare_predict(step_model, X_gpu, batch_size):
    step_model.eval()
    torch.cuda.synchronize()
    start = time.perf_counter()
    outputs = []
    with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16):
        for first in range(0, len(X_gpu), batch_size):
            x = to_model_input(X_gpu[first:first + batch_size], "cuda")
            outputs.append(torch.softmax(step_model(x).float(), 1) @ torch.arange(101.0, device="cuda"))
    torch.cat(outputs).cpu()
    return time.perf_counter() - start


def skage_run(X, y, epochs, batch_size, predict_batch_size, compile_model, attention):
    net = AgeNet(attention=attention, max_epochs=epochs, batch_size=batch_size, device="cuda", verbose=0,
                 compile=compile_model, iterator_valid__batch_size=predict_batch_size, random_state=0)
    net.fit(X, y)
    durations = list(net.history[:, "dur"])
    net.predict(X[:predict_batch_size])  # warm-up of the inference shapes
    torch.cuda.synchronize()
    start = time.perf_counter()
    net.predict(X)
    return durations, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=4096, help="training images per epoch")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--predict-batch-size", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run; the first is warm-up")
    parser.add_argument("--regions", type=int, default=4)
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        sys.exit("gpu_throughput.py needs a CUDA GPU; none is visible")
    if args.epochs < 2:
        sys.exit("--epochs must be >= 2: the first epoch is warm-up")
    torch.backends.cudnn.benchmark = True

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(args.n, args.size, args.size, 3 + args.regions), dtype=np.uint8)
    y = rng.uniform(1, 90, size=args.n)
    X_rgb = np.ascontiguousarray(X[..., :3])
    X_gpu = torch.from_numpy(X_rgb).cuda()
    y_gpu = torch.from_numpy(np.rint(y).astype(np.int64)).cuda()

    def rate(durations):
        return args.n / float(np.median(durations[1:]))

    _, bare_model, bare_durations = bare_train(X_gpu, y_gpu, args.epochs, args.batch_size, args.compile)
    bare_predict(bare_model, X_gpu[:args.predict_batch_size], args.predict_batch_size)  # warm-up
    bare_infer = args.n / bare_predict(bare_model, X_gpu, args.predict_batch_size)
    del bare_model, X_gpu
    torch.cuda.empty_cache()

    results = {"bare loop (data on GPU)": (rate(bare_durations), bare_infer)}
    for attention in (False, True):
        durations, predict_seconds = skage_run(X if attention else X_rgb, y, args.epochs, args.batch_size,
                                               args.predict_batch_size, args.compile, attention)
        name = f"skage AgeNet attention={attention}"
        results[name] = (rate(durations), args.n / predict_seconds)
        torch.cuda.empty_cache()

    print(f"card: {torch.cuda.get_device_name()}  date: {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}"
          f"  torch {torch.__version__}  compile={args.compile}")
    print(f"{args.n} images of {args.size} px, train batch {args.batch_size}, predict batch "
          f"{args.predict_batch_size}, {args.epochs} epochs (first is warm-up)")
    bare_fit, bare_pred = results["bare loop (data on GPU)"]
    for name, (fit_rate, predict_rate) in results.items():
        print(f"{name:32s} train {fit_rate:8.0f} img/s (ratio {fit_rate / bare_fit:.2f})   "
              f"predict {predict_rate:8.0f} img/s (ratio {predict_rate / bare_pred:.2f})")


if __name__ == "__main__":
    main()
