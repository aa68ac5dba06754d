"""Full-scale benchmark: every deep ablation row against a bare PyTorch loop, in one prepared command.

One run aligns and parses the chips (once: cached), trains and scores each
row on a seeded split, and writes ``full_scale_<tag>.md/.csv/.png`` (tag: the
GPU's short name, e.g. ``h200``, or ``cpu``). Rows, each differing from the
one before by one thing (see ``skage.compare.DEEP_ROWS``):

- **bare loop**: torchvision ResNet, Gaussian-label cross-entropy (sigma 3)
  over ages 0..100, AdamW, cosine schedule, the preset's augmentation, bf16
  autocast, channels_last; on a GPU its uint8 chips sit on the GPU. The
  accuracy and speed reference, trained in the same run.
- **CNN-only**: ``AgeNet(attention=False)``, no resampling, equal-weight
  label cross-entropy (``cb_beta=0``) plus its MAE term, ``gamma_knn=0``.
- **KNN-only (CNN embeddings)**: the CNN-only net frozen; the age of its 10
  nearest training embeddings alone.
- **+balanced**: ``AgeBinResampler`` (full over-sampling).
- **+class-balanced loss**: effective-number weights (``cb_beta=0.999``)
  computed from the bin counts *before* resampling (the pipeline hands its
  resampler's counts to the network at fit).
- **+parsing attention**: region masks and the attention network.
- **+KNN loss**: the KNN-consistency term (``gamma_knn=0.1``).
- **+KNN = full**: the previous net frozen plus KNN refinement.
- **full, dlib backbone**: only where ``skage.nn`` offers
  ``backbone="dlib_resnet"`` (``--rows`` must name ``dlib_full``).

Training budget: equal images seen. Over-sampling makes an epoch ~3x longer
on UTKFace, so the resampled rows get ``epochs * n_train / n_resampled``
epochs (rounded) and every row trains on about ``epochs * n_train`` images.

Speed: ``train_img_s`` is images per second over the epochs after the first
(skorch's epoch timer for AgeNet, the same span for the bare loop);
``predict_img_s`` times prediction of the test part after a warm-up (KNN rows
include the neighbour search). Alignment and parsing are done once up front
and are not in these figures.

Presets (``--preset``):

- ``gpu``: 224 px, ResNet-50, batch 128, 24 epochs, rotation 10 deg + zoom
  (crop side 0.75-1) + flips + brightness, 3 seeds for the headline rows
  (bare loop, +KNN loss, +KNN = full) while the time budget (500 s from
  start) allows. Sized for one H100/H200 in under 9 minutes.
- ``cpu``: 48 px, ResNet-18, batch 64, 6 epochs, a seeded 2,000-chip subset,
  no zoom (``aug_scale=(1, 1)``: at a short CPU budget zoom costs accuracy),
  budget 38 minutes; sized for 2 CPU cores.
- ``--smoke``: 32 px, 1 epoch, a few chips: checks the whole path in seconds.

Rows whose estimated time would overrun the budget are skipped and listed
as skipped; results are rewritten after every run, so a run stopped from
outside still leaves its finished rows.

Alignment and parsing need dlib; their result is kept as one small file per
data set (transforms and landmarks, ``--prep-dir``, default ``.data/full_scale``)
from which the chips and masks are rebuilt without dlib. A machine without
dlib (a GPU box) therefore needs the chips plus that file only::

    # here (dlib): copy the chips into the repo, write the prep file (about 2 min on 2 cores)
    python benchmarks/full_scale.py --prepare-only --preset gpu --data utkface:.data/utkface
    # on the GPU machine (skorch, imbalanced-learn, pynndescent installed; see docs/benchmarks.md)
    python benchmarks/full_scale.py --preset gpu --data utkface:.data/utkface --out $OUT

Other held-out sets: ``--train KIND:PATH --test KIND:PATH`` trains on all of
one and scores all of the other (no split).
"""

import argparse
import datetime
import hashlib
import os
import platform
import re
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # run from a checkout without installing skage

import torch  # noqa: E402

from skage.compare import (DEEP_ROWS, REFINED_ROWS, ROW_TITLES, TRAINING_PRESETS, available_rows,  # noqa: E402
                           comparison_markdown, deep_row_params, refine_fitted, split_indices)

BARE = "bare"
TITLES = {BARE: "bare PyTorch loop", **ROW_TITLES}
ABLATION_ROWS = ("cnn_only", "knn_only", "balanced", "cb_loss", "attention", "knn_loss", "full")
HEADLINE_ROWS = (BARE, "knn_loss", "full")  # repeated over seeds while the budget allows
# Run order: the reference and the headline rows first, so a tight budget drops the intermediate rows.
RUN_ORDER = (BARE, "cnn_only", "knn_only", "knn_loss", "full", "balanced", "cb_loss", "attention", "dlib_full")


def _from_recipe(name, **extra):
    """A preset from a training recipe of ``skage.compare.TRAINING_PRESETS`` (it carries the augmentation)."""
    recipe = TRAINING_PRESETS[name]
    net = recipe["net"]
    aug = dict(rotation=net["aug_rotation"], brightness=net["aug_brightness"], flip=net["aug_flip"],
               scale=tuple(net["aug_scale"]))
    return dict(image_size=recipe["image_size"], backbone=net["backbone"], epochs=recipe["max_epochs"],
                batch_size=recipe["batch_size"], aug=aug, **extra)


PRESETS = {
    "gpu": _from_recipe("gpu", predict_batch_size=512, limit=None, seeds=3, budget_s=500),
    "cpu": _from_recipe("cpu", predict_batch_size=256, limit=2000, seeds=3, budget_s=38 * 60),
}
SMOKE = dict(image_size=32, backbone="resnet18", epochs=1, batch_size=16, predict_batch_size=64, limit=40,
             aug=dict(rotation=10.0, brightness=0.2, flip=0.5, scale=(1.0, 1.0)), seeds=1, budget_s=600)


def log(msg):
    print(f"[{datetime.datetime.now(datetime.timezone.utc):%H:%M:%S}] {msg}", flush=True)


# ------------------------------------------------------------------ data


def load(spec, limit=None, seed=0):
    """Paths, ages and metadata of a ``KIND:PATH`` data set, optionally a seeded subset."""
    from skage.datasets import load_dataset

    data = load_dataset(spec)
    X, y = np.asarray(data.X, dtype=object), np.asarray(data.y, dtype=float)
    meta = data.metadata.reset_index(drop=True) if getattr(data, "metadata", None) is not None else None
    if limit and limit < len(y):
        keep = np.sort(np.random.default_rng(seed).choice(len(y), size=limit, replace=False))
        X, y = X[keep], y[keep]
        meta = meta.iloc[keep].reset_index(drop=True) if meta is not None else None
    return X, y, meta


def _prep_path(prep_dir, paths, size):
    names = "\n".join(sorted(os.path.basename(p) for p in paths))
    digest = hashlib.sha1(names.encode()).hexdigest()[:12]
    return Path(prep_dir) / f"prep_{size}px_{len(paths)}_{digest}.npz"


def prepare(paths, size, prep_dir, n_jobs):
    """Align and parse once; keep per-image transforms and chip landmarks (no pixels).

    Returns a dict with ``transforms`` (N, 2, 3), ``landmarks`` (N, 68, 2)
    in chip pixels, ``align_flags`` and ``parse_flags``, rows in the order of
    ``paths`` (matched by file name, so the file travels between machines).
    """
    path = _prep_path(prep_dir, paths, size)
    names = np.array([os.path.basename(p) for p in paths])
    if path.is_file():
        with np.load(path, allow_pickle=False) as stored:
            order = pd.Series(np.arange(len(stored["names"])), index=stored["names"])
            rows = order.loc[names].to_numpy()
            return {key: stored[key][rows] for key in ("transforms", "landmarks", "align_flags", "parse_flags")}
    from skage.alignment import FaceAligner
    from skage.parsing import FaceParser

    t0 = time.perf_counter()
    # a face HOG misses is centre-cropped and trained on, as when these rows were first measured
    # (skage's default since issue 24 leaves such images out: on_failure="blank")
    aligned = FaceAligner(detector="hog", output_size=size, on_failure="center", n_jobs=n_jobs).fit().align(list(paths))
    t1 = time.perf_counter()
    parsed = FaceParser(n_jobs=n_jobs).fit(aligned.chips).parse(aligned.chips, landmarks=aligned.landmarks)
    t2 = time.perf_counter()
    log(f"prepared {len(paths)} chips at {size} px: alignment {len(paths) / (t1 - t0):.0f} img/s "
        f"({(aligned.flags != 'ok').sum()} not aligned), parsing {len(paths) / (t2 - t1):.0f} img/s "
        f"({(parsed.flags == 'template').sum()} on the template)")
    out = {"transforms": aligned.transforms, "landmarks": parsed.landmarks,
           "align_flags": aligned.flags.astype("<U10"), "parse_flags": parsed.flags.astype("<U8")}
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(tmp, names=names, **out)
    os.replace(tmp, path)
    return out


def _chips_with_masks(paths, transforms, landmarks, size, blur):
    from skage.alignment._geometry import warp_image
    from skage.io import read_image
    from skage.parsing._regions import REGIONS, region_masks

    out = np.zeros((len(paths), size, size, 3 + len(REGIONS)), np.uint8)
    for i, (path, matrix, points) in enumerate(zip(paths, transforms, landmarks)):
        if np.all(np.isfinite(matrix)):  # NaN: the aligner could not read the file; black chip
            out[i, ..., :3] = warp_image(read_image(path), matrix, size)
        out[i, ..., 3:] = region_masks(points, size, blur)
    return out


def materialize(paths, prep, size, cache_dir, n_jobs, blur=0.05):
    """uint8 chips + region masks ``(N, S, S, 3 + K)`` as a read-only memmap, rebuilt without dlib."""
    from joblib import Parallel, delayed

    key = hashlib.sha1()
    for p in paths:
        st = os.stat(p)
        key.update(f"{os.path.abspath(p)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    key.update(np.ascontiguousarray(prep["transforms"]).tobytes())
    key.update(np.ascontiguousarray(prep["landmarks"]).tobytes())
    key.update(f"{size}|{blur}".encode())
    path = Path(cache_dir) / f"chips_{size}px_{len(paths)}_{key.hexdigest()[:16]}.npy"
    if path.is_file():
        return np.load(path, mmap_mode="r")
    path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    chunk = 64
    starts = range(0, len(paths), chunk)
    blocks = Parallel(n_jobs=n_jobs)(
        delayed(_chips_with_masks)(paths[s:s + chunk], prep["transforms"][s:s + chunk],
                                   prep["landmarks"][s:s + chunk], size, blur) for s in starts)
    tmp = path.with_suffix(".tmp.npy")
    out = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(len(paths),) + blocks[0].shape[1:])
    for s, block in zip(starts, blocks):
        out[s:s + len(block)] = block
    out.flush()
    del out
    os.replace(tmp, path)
    log(f"built {len(paths)} chips + masks at {size} px in {time.perf_counter() - t0:.0f} s ({path})")
    return np.load(path, mmap_mode="r")


# ------------------------------------------------------------ bare loop


def _autocast(device, fp32):
    from skage.nn import cpu_supports_bf16

    kind = torch.device(device).type
    enabled = not fp32 and (kind == "cuda" or (kind == "cpu" and cpu_supports_bf16()))
    return torch.autocast(kind, dtype=torch.bfloat16, enabled=enabled)


def bare_fit_predict(X_train, y_train, X_test, cfg, seed, device, fp32):
    """The reference: plain PyTorch, the same recipe; returns (test ages, epoch durations, predict s)."""
    import torch.nn.functional as F
    import torchvision

    from skage.nn._data import to_model_input

    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    model = getattr(torchvision.models, cfg["backbone"])(weights=None, num_classes=101)
    model = model.to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, cfg["epochs"]))
    ages = torch.arange(101, dtype=torch.float32, device=device)
    on_gpu = torch.device(device).type == "cuda"
    data = torch.from_numpy(np.ascontiguousarray(X_train[..., :3]))
    data = data.to(device) if on_gpu else data
    target = torch.as_tensor(np.asarray(y_train, dtype=np.float32)).clamp(0, 100).to(device)
    n, bs = len(data), cfg["batch_size"]
    durations = []
    for _ in range(cfg["epochs"]):
        model.train()
        if on_gpu:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        order = torch.randperm(n, generator=gen).to(device if on_gpu else "cpu")
        for first in range(0, n, bs):
            index = order[first:first + bs]
            x = to_model_input(data[index], device, augment=cfg["aug"])
            y = target[index]
            labels = torch.softmax(-0.5 * ((ages[None, :] - y[:, None]) / 3.0) ** 2, dim=1)
            with _autocast(device, fp32):
                logits = model(x)
            loss = -(labels * F.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        scheduler.step()
        if on_gpu:
            torch.cuda.synchronize()
        durations.append(time.perf_counter() - t0)

    def predict(X):
        model.eval()
        out = []
        with torch.inference_mode():
            for first in range(0, len(X), cfg["predict_batch_size"]):
                x = torch.from_numpy(np.ascontiguousarray(X[first:first + cfg["predict_batch_size"], ..., :3]))
                x = to_model_input(x.pin_memory() if on_gpu else x, device)
                with _autocast(device, fp32):
                    logits = model(x)
                out.append(torch.softmax(logits.float(), dim=1) @ ages)
        return torch.cat(out).cpu().numpy().astype(float)

    predict(X_test[:cfg["predict_batch_size"]])  # warm-up
    if on_gpu:
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    y_pred = predict(X_test)
    return y_pred, durations, time.perf_counter() - t0


# ---------------------------------------------------------- skage rows


def make_row(row, cfg, seed, device, fp32):
    """The row's skage pipeline on pre-aligned, pre-parsed chips (alignment and parsing steps off)."""
    from skage.pipeline import make_age_pipeline

    net_params = dict(backbone=cfg["backbone"], iterator_valid__batch_size=cfg["predict_batch_size"],
                      aug_rotation=cfg["aug"]["rotation"], aug_brightness=cfg["aug"]["brightness"],
                      aug_flip=cfg["aug"]["flip"], aug_scale=tuple(cfg["aug"]["scale"]))
    if fp32:
        net_params["amp"] = False
    shared = dict(image_size=cfg["image_size"], max_epochs=cfg["epochs"], batch_size=cfg["batch_size"],
                  device=device, random_state=seed, verbose=0, net_params=net_params)
    params = deep_row_params(row, shared)
    pipe = make_age_pipeline(**params)
    pipe.set_params(align="passthrough", parse="passthrough")
    return pipe, params


def resampled_size(y, seed):
    from skage.sampling import AgeBinResampler

    _, y_res = AgeBinResampler(random_state=seed).fit_resample(np.arange(len(y)).reshape(-1, 1), y)
    return len(y_res)


THROUGHPUT_ROWS = ("cnn_only", "knn_loss")


def predict_throughput(title, net, X, device):
    """``(title, n, img/s)`` of ``net.predict`` over all of ``X`` (the second of two passes)."""
    net.predict(X)
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize()
    t0 = time.perf_counter()
    net.predict(X)
    rate = len(X) / (time.perf_counter() - t0)
    log(f"{title}: AgeNet.predict {rate:.0f} img/s over {len(X)} chips")
    return title, len(X), rate


def _net(pipe):
    model = pipe.steps[-1][1]
    return getattr(model, "estimator_", model)


# ---------------------------------------------------------------- main


def device_tag(device):
    if torch.device(device).type == "cuda":
        name = torch.cuda.get_device_name()
        match = re.search(r"\b([A-Z]+\d+[A-Za-z]*)\b", name.replace("NVIDIA", ""))
        return (match.group(1) if match else re.sub(r"\W+", "_", name)).lower(), name
    return "cpu", platform.processor() or platform.machine()


def summarise(records):
    """Per model: mean (and sd over seeds) of the scores, mean of the speeds."""
    table = pd.DataFrame.from_records(records)
    if table.empty:
        return table
    done = table[table["status"] == "ok"]
    order = [TITLES[r] for r in (BARE, *ROW_TITLES) if TITLES[r] in set(done["model"])]
    rows = []
    for model in order:
        part = done[done["model"] == model]
        row = {"model": model, "seeds": len(part)}
        for col in ("mae", "cmae", "acc@5", "bias"):
            row[col] = part[col].mean()
            row[col + "_sd"] = part[col].std(ddof=1) if len(part) > 1 else np.nan
        for col in [c for c in part.columns if c.startswith(("mae[", "gap["))]:
            row[col] = part[col].mean()
        for col in ("epochs", "train_images", "fit_s", "train_img_s", "predict_img_s"):
            row[col] = part[col].mean()
        rows.append(row)
    summary = pd.DataFrame(rows)
    bare = summary.loc[summary["model"] == TITLES[BARE]]
    if len(bare):
        summary["train_vs_bare"] = summary["train_img_s"] / float(bare["train_img_s"].iloc[0])
    return summary


def headline_markdown(summary):
    lines = ["| model | seeds | MAE | CMAE | Acc@5 | bias | epochs | train img/s | vs bare | predict img/s |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]

    def pm(row, col, pct=False):
        value, sd = row[col], row[col + "_sd"]
        if pct:
            return f"{100 * value:.1f}%" + ("" if pd.isna(sd) else f" ± {100 * sd:.1f}")
        return f"{value:.2f}" + ("" if pd.isna(sd) else f" ± {sd:.2f}")

    for _, r in summary.iterrows():
        train = "" if pd.isna(r["train_img_s"]) else f"{r['train_img_s']:.0f}"
        epochs = "" if pd.isna(r["epochs"]) else f"{r['epochs']:.0f}"
        ratio = "" if pd.isna(r.get("train_vs_bare", np.nan)) or pd.isna(r["train_img_s"]) else f"{r['train_vs_bare']:.2f}"
        lines.append(f"| {r['model']} | {r['seeds']} | {pm(r, 'mae')} | {pm(r, 'cmae')} | {pm(r, 'acc@5', True)} | "
                     f"{pm(r, 'bias')} | {epochs} | {train} | {ratio} | {r['predict_img_s']:.0f} |")
    return "\n".join(lines) + "\n"


def write_results(out_dir, tag, header, records, skipped, predictions, y_test0, throughput=()):
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    runs = pd.DataFrame.from_records(records)
    runs.to_csv(out / f"full_scale_{tag}.csv", index=False)
    summary = summarise(records)
    text = [f"# Full-scale benchmark ({tag})", "", header, ""]
    if len(summary):
        text += ["## Mean over seeds (± sd where more than one)", "", headline_markdown(summary), "",
                 "## All columns (means)", "", comparison_markdown(summary[[c for c in summary.columns
                                                                            if not c.endswith("_sd")]])]
    if throughput:
        text += ["", "## Network prediction throughput (AgeNet.predict on every chip, after a warm-up pass)", "",
                 "| model | chips | img/s |", "|---|---:|---:|"]
        text += [f"| {name} | {n} | {rate:.0f} |" for name, n, rate in throughput]
    if skipped:
        text += ["", "## Skipped (time budget)", ""] + [f"- {s}" for s in skipped]
    (out / f"full_scale_{tag}.md").write_text("\n".join(text) + "\n")
    if predictions:
        from skage.viz import plot_per_bin_mae

        plot_per_bin_mae(y_test0, predictions, path=out / f"full_scale_{tag}.png")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", choices=sorted(PRESETS), default="gpu")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes: checks the whole path in seconds")
    parser.add_argument("--data", default="utkface:.data/utkface", help="KIND:PATH, split --test-size for testing")
    parser.add_argument("--train", help="KIND:PATH to train on (with --test: no split)")
    parser.add_argument("--test", help="KIND:PATH to score on")
    parser.add_argument("--split", choices=("random", "stratified", "person"), default="random")
    parser.add_argument("--test-size", type=float, default=0.3)
    parser.add_argument("--rows", help=f"comma-separated, from {[BARE, *ABLATION_ROWS, 'dlib_full']}")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--image-size", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--limit", type=int, help="seeded subset of the (training) data set; 0 = all")
    parser.add_argument("--seeds", type=int, help="seeds of the headline rows (bare, +KNN loss, full)")
    parser.add_argument("--budget-s", type=float, help="wall-clock budget from start; later runs are skipped")
    parser.add_argument("--equal-epochs", action="store_true",
                        help="same epochs for every row (default: same number of training images)")
    parser.add_argument("--fp32", action="store_true", help="no bf16 autocast anywhere")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--threads", type=int,
                        help="torch CPU threads (default: torch's); on a CPU shared with other jobs 1 can be "
                             "several times faster than 2, whose threads wait on each other")
    parser.add_argument("--n-jobs", type=int, default=os.cpu_count())
    parser.add_argument("--prep-dir", default=str(REPO / ".data" / "full_scale"))
    parser.add_argument("--cache-dir", default=str(REPO / ".cache" / "full_scale"))
    parser.add_argument("--prepare-only", action="store_true", help="align and parse, write the prep file, stop")
    parser.add_argument("--out", default=str(REPO / "benchmarks" / "results"))
    parser.add_argument("--tag", help="results file suffix (default: the GPU's short name, or cpu)")
    return parser.parse_args(argv)


def main(argv=None):
    start = time.perf_counter()
    args = parse_args(argv)
    cfg = dict(SMOKE if args.smoke else PRESETS[args.preset])
    for key in ("epochs", "image_size", "batch_size", "limit", "seeds", "budget_s"):
        if getattr(args, key) is not None:
            cfg[key] = getattr(args, key)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")
    if args.preset == "gpu" and not args.smoke and not args.prepare_only and torch.device(device).type != "cuda":
        sys.exit("--preset gpu needs a CUDA GPU (none visible); use --preset cpu")
    if torch.device(device).type == "cuda":
        torch.backends.cudnn.benchmark = True
    rows = args.rows.split(",") if args.rows else [BARE, *ABLATION_ROWS]
    unknown = [r for r in rows if r != BARE and r not in available_rows()]
    if unknown:
        sys.exit(f"unknown or unavailable rows {unknown}; choose from {[BARE, *available_rows()]}")

    # Data: one split of --data, or --train/--test as given.
    if bool(args.train) != bool(args.test):
        sys.exit("--train and --test go together")
    if args.train:
        X_tr_paths, y_tr, meta_tr = load(args.train, cfg["limit"])
        X_te_paths, y_te, meta_te = load(args.test)
        paths = np.concatenate([X_tr_paths, X_te_paths])
        y_all = np.concatenate([y_tr, y_te])
        meta = pd.concat([meta_tr, meta_te], ignore_index=True) if meta_tr is not None and meta_te is not None else None
        fixed = (np.arange(len(y_tr)), np.arange(len(y_tr), len(y_all)))
        data_desc = f"train {args.train} ({len(y_tr)}), test {args.test} ({len(y_te)})"
    else:
        paths, y_all, meta = load(args.data, cfg["limit"])
        fixed = None
        data_desc = f"{args.data} ({len(y_all)} chips{', seeded subset' if cfg['limit'] else ''})"
    size = cfg["image_size"]
    prep = prepare(paths, size, args.prep_dir, args.n_jobs)
    if args.prepare_only:
        log(f"prep file: {_prep_path(args.prep_dir, paths, size)}")
        return None
    X_all = materialize(paths, prep, size, args.cache_dir, args.n_jobs)
    groups_all = {g: meta[g].to_numpy() for g in ("gender", "race")
                  if meta is not None and g in meta and meta[g].notna().any()}

    tag, device_name = device_tag(device)
    tag = args.tag or (tag + ("_smoke" if args.smoke else ""))
    load_avg = os.getloadavg() if hasattr(os, "getloadavg") else None
    header = (f"`{' '.join(['python benchmarks/full_scale.py', *(argv if argv is not None else sys.argv[1:])])}`  \n"
              f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M UTC}, device: {device_name}, "
              f"torch {torch.__version__}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}"
              f"{f', load average at start {load_avg[0]:.1f}' if load_avg else ''}  \n"
              f"data: {data_desc}; split: {'fixed train/test sets' if fixed else args.split}, "
              f"{size} px, {cfg['backbone']}, batch {cfg['batch_size']}, {cfg['epochs']} epochs "
              f"({'equal epochs' if args.equal_epochs else 'equal training images per row'}), "
              f"augmentation {cfg['aug']}, {'fp32' if args.fp32 else 'bf16 autocast where supported'}; "
              f"alignment failures {int((prep['align_flags'] != 'ok').sum())}, template-parsed "
              f"{int((prep['parse_flags'] == 'template').sum())}")
    log(header.replace("  \n", "\n"))

    records, skipped, predictions, throughput = [], [], {}, []
    sec_per_image = {}  # measured training seconds per image, by network kind
    y_test0 = None
    seeds = range(int(cfg["seeds"]))
    plan = [(seed, row) for seed in seeds for row in RUN_ORDER
            if row in rows and (seed == 0 or row in HEADLINE_ROWS)]
    fitted = {}
    for seed, row in plan:
        train, test = fixed if fixed else split_indices(y_all, args.split, args.test_size, seed,
                                                        meta["subject_id"] if meta is not None and "subject_id" in meta else None)
        base = REFINED_ROWS.get(row, (None,))[0]
        refined = row in REFINED_ROWS and base != row
        switches = DEEP_ROWS[base if refined else row][0] if row != BARE else {"attention": False, "balance": False}
        attention = switches["attention"]
        # Rows without attention get RGB only: the gather copies 3 channels, not 3 + K.
        X_train = X_all[train] if attention else X_all[..., :3][train]
        X_test = X_all[test] if attention else X_all[..., :3][test]
        if refined and (seed, base) not in fitted:
            skipped.append(f"{TITLES[row]} seed {seed}: its base row {TITLES[base]} was not trained")
            continue
        # Equal training images: resampled rows get fewer epochs.
        epochs = cfg["epochs"]
        n_seen = len(train)
        if switches["balance"] and not refined:
            n_seen = resampled_size(y_all[train], seed)
            if not args.equal_epochs:
                epochs = max(1, int(round(cfg["epochs"] * len(train) / n_seen)))
        train_images = 0 if refined else epochs * n_seen
        kind = BARE if row == BARE else ("attention" if attention else "rgb")
        per_image = sec_per_image.get(kind) or (sec_per_image.get(BARE, 0) * (1.6 if attention else 1.2))
        estimate = train_images * per_image + (len(test) + (len(train) if refined else 0)) * 2e-3
        elapsed = time.perf_counter() - start
        if elapsed + estimate > cfg["budget_s"]:
            skipped.append(f"{TITLES[row]} seed {seed}: estimated {estimate:.0f} s, {cfg['budget_s'] - elapsed:.0f} s left")
            log(f"skip {TITLES[row]} seed {seed} (estimated {estimate:.0f} s, {cfg['budget_s'] - elapsed:.0f} s left)")
            continue

        log(f"{TITLES[row]} seed {seed}: training on {len(train)} chips ({n_seen} per epoch, {epochs} epochs)")
        t0 = time.perf_counter()
        if row == BARE:
            y_pred, durations, pred_s = bare_fit_predict(X_train, y_all[train], X_test, {**cfg, "epochs": epochs},
                                                         seed, device, args.fp32)
            fit_s = sum(durations)
        else:
            if refined:
                model = refine_fitted(fitted[(seed, base)])
            else:
                model, _ = make_row(row, {**cfg, "epochs": epochs}, seed, device, args.fp32)
                if row in REFINED_ROWS:  # a refined row with its own net (dlib_full): refiner around it
                    from skage.refine import KNNAgeRefiner

                    model.steps[-1] = ("model", KNNAgeRefiner(estimator=model.steps[-1][1], **REFINED_ROWS[row][1]))
            model.fit(X_train, y_all[train])
            fit_s = time.perf_counter() - t0
            durations = [] if refined else list(_net(model).history[:, "dur"])
            model.predict(X_test[:cfg["predict_batch_size"]])  # warm-up
            if torch.device(device).type == "cuda":
                torch.cuda.synchronize()
            t1 = time.perf_counter()
            y_pred = np.asarray(model.predict(X_test), dtype=float)
            pred_s = time.perf_counter() - t1
            fitted[(seed, row)] = model
            if seed == 0 and row in THROUGHPUT_ROWS:
                throughput.append(predict_throughput(TITLES[row], _net(model), X_all if attention else X_all[..., :3],
                                                     device))
        if durations:
            steady = durations[1:] or durations
            sec_per_image[kind] = float(np.median(steady)) / n_seen
        from skage.metrics import age_report

        report = age_report(y_all[test], y_pred, groups={g: v[test] for g, v in groups_all.items()} or None)
        train_img_s = n_seen / float(np.median(durations[1:] or durations)) if durations else np.nan
        records.append({"model": TITLES[row], "row": row, "seed": seed, "status": "ok", **report.to_dict(),
                        "epochs": epochs if not refined else np.nan, "train_images": train_images,
                        "fit_s": fit_s, "train_img_s": train_img_s, "predict_img_s": len(test) / max(pred_s, 1e-9),
                        "device": device})
        if seed == 0:
            predictions[TITLES[row]] = y_pred
            y_test0 = y_all[test]
        log(f"{TITLES[row]} seed {seed}: MAE {report.mae:.2f} CMAE {report.cmae:.2f} Acc@5 {100 * report.acc:.1f}% "
            f"bias {report.bias:.2f}; fit {fit_s:.0f} s, train {train_img_s:.0f} img/s, "
            f"predict {len(test) / max(pred_s, 1e-9):.0f} img/s")
        # Keep only what later rows build on: memory for 224 px chips is precious.
        fitted = {k: v for k, v in fitted.items() if k[0] == seed}
        total = f"total wall time {time.perf_counter() - start:.0f} s"
        write_results(args.out, tag, header + "  \n" + total, records, skipped, predictions, y_test0, throughput)
    total = f"total wall time {time.perf_counter() - start:.0f} s"
    write_results(args.out, tag, header + "  \n" + total, records, skipped, predictions, y_test0, throughput)
    log(f"done in {time.perf_counter() - start:.0f} s; results in {Path(args.out) / f'full_scale_{tag}.md'}")
    return summarise(records)


if __name__ == "__main__":
    main()
