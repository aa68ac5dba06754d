"""Training parity: skage's CNN-only AgeNet against a bare PyTorch loop, same recipe, same chips, same seeds.

Both train the same torchvision ResNet with the same training recipe
(``skage.compare.TRAINING_PRESETS``: image size, epochs, batch, AdamW at
1e-3 with a cosine schedule, the recipe's augmentation, bf16 autocast where
the device has it) on the same seeded split; both predict the expected age
of a 101-way softmax. What differs is what skage adds by design: the bare
loop minimises the Gaussian-label cross-entropy (sigma 3) only, AgeNet adds
its MAE term (``cb_beta=0``: equal weights, ``gamma_knn=0``), and AgeNet
feeds batches through skorch and its DataLoader.

A regression in skage's training (a wrong normalisation, a lost
augmentation, a broken schedule) shows as skage's MAE drifting away from the
bare loop's. The script exits with status 1 when the mean MAE of skage is
worse than the bare loop's by more than ``--tolerance`` years.

Run (about 10 minutes on 2 idle CPU cores)::

    python benchmarks/parity.py --data utkface:../shared/data/utkface --limit 1500 --seeds 2

Chips are aligned and parsed once and cached exactly as by
``benchmarks/full_scale.py``.
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

import full_scale as fs  # noqa: E402
from skage.compare import split_indices  # noqa: E402
from skage.metrics import age_report  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default="utkface:.data/utkface")
    parser.add_argument("--preset", choices=sorted(fs.PRESETS), default="cpu")
    parser.add_argument("--limit", type=int, default=1500, help="seeded subset; 0 = all")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--image-size", type=int)
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--split", choices=("random", "stratified"), default="random")
    parser.add_argument("--tolerance", type=float, default=0.5, help="allowed mean MAE excess of skage, years")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--n-jobs", type=int, default=None)
    parser.add_argument("--prep-dir", default=str(fs.REPO / ".data" / "full_scale"))
    parser.add_argument("--cache-dir", default=str(fs.REPO / ".cache" / "full_scale"))
    parser.add_argument("--out", help="also write the table as Markdown to this file")
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        fs.torch.set_num_threads(args.threads)

    cfg = dict(fs.PRESETS[args.preset])
    cfg.update({k: v for k, v in (("epochs", args.epochs), ("image_size", args.image_size)) if v is not None})
    device = args.device if args.device != "auto" else ("cuda" if fs.torch.cuda.is_available() else "cpu")
    paths, y, _ = fs.load(args.data, args.limit or None)
    prep = fs.prepare(paths, cfg["image_size"], args.prep_dir, args.n_jobs)
    X = fs.materialize(paths, prep, cfg["image_size"], args.cache_dir, args.n_jobs)[..., :3]

    records = []
    for seed in range(args.seeds):
        train, test = split_indices(y, args.split, 0.3, seed)
        X_train, X_test = X[train], X[test]
        for name in ("bare loop", "skage AgeNet"):
            t0 = time.perf_counter()
            if name == "bare loop":
                y_pred, durations, _ = fs.bare_fit_predict(X_train, y[train], X_test, cfg, seed, device, fp32=False)
            else:
                model, _ = fs.make_row("cnn_only", cfg, seed, device, y[train], fp32=False)
                model.fit(X_train, y[train])
                durations = list(fs._net(model).history[:, "dur"])
                y_pred = model.predict(X_test)
            fit_s = time.perf_counter() - t0
            report = age_report(y[test], y_pred)
            rate = len(train) / float(np.median(durations[1:] or durations))
            records.append({"model": name, "seed": seed, "mae": report.mae, "cmae": report.cmae,
                            "acc@5": report.acc, "bias": report.bias, "train_img_s": rate, "fit_s": fit_s})
            fs.log(f"{name} seed {seed}: MAE {report.mae:.2f} CMAE {report.cmae:.2f} bias {report.bias:.2f}, "
                   f"{rate:.0f} img/s")

    runs = pd.DataFrame.from_records(records)
    mean = runs.groupby("model", sort=False).agg(["mean", "std"])
    lines = [f"parity: {args.data}, {len(y)} chips, {cfg['image_size']} px, {cfg['backbone']}, {cfg['epochs']} epochs, "
             f"aug {cfg['aug']}, {args.seeds} seeds, device {device}", "",
             "| model | MAE | CMAE | Acc@5 | bias | train img/s |", "|---|---:|---:|---:|---:|---:|"]
    for model, r in mean.iterrows():
        lines.append(f"| {model} | {r[('mae', 'mean')]:.2f} ± {r[('mae', 'std')]:.2f} | {r[('cmae', 'mean')]:.2f} | "
                     f"{100 * r[('acc@5', 'mean')]:.1f}% | {r[('bias', 'mean')]:.2f} | {r[('train_img_s', 'mean')]:.0f} |")
    excess = mean.loc["skage AgeNet", ("mae", "mean")] - mean.loc["bare loop", ("mae", "mean")]
    speed = mean.loc["skage AgeNet", ("train_img_s", "mean")] / mean.loc["bare loop", ("train_img_s", "mean")]
    lines += ["", f"skage - bare: {excess:+.2f} years MAE (tolerance {args.tolerance}); training speed ratio {speed:.2f}"]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        Path(args.out).write_text(text)
    return 1 if excess > args.tolerance else 0


if __name__ == "__main__":
    sys.exit(main())
