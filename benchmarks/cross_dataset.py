"""Issue 22's protocol: a UTKFace split, all of FG-NET as users' photos, and FG-NET's people in training.

For every row (a pipeline built by ``skage.pipeline.make_age_pipeline``):

(a) a seeded 70/30 split of the UTKFace chips (``skage.compare.split_indices``, ``--seed``): MAE,
    CMAE, Acc@5, bias, and the race and gender gaps on the age bins every group fills (≥ 100 test
    faces per group, ≥ 30 per bin), with bootstrap 95 % intervals; and how far the age moves when
    1,000 of the test chips are given in grayscale (mean change, and mean absolute change);
(b) the same fit scored on **all** of FG-NET (loose, scanned, often gray photos; cross-dataset):
    overall, gray and colour photos apart (MAE and mean signed error), and ages 0–2, 3–9, 10–19
    and 0–9;
(c) with ``--person-folds K``: FG-NET's 82 people in K folds; each fold trains on the 70 % of
    UTKFace plus the other folds' FG-NET photos and is scored on its own people (pooled). The
    fitted pipeline's front (alignment, degraded copies, features) is reused and its back
    (``scale`` onwards) refitted per fold (descriptor rows).

Chips and descriptors are cached under ``--cache`` (joblib memory of the pipelines' own steps),
so rows that share a front end align and describe each face once. ``--save-outputs DIR`` keeps
each row's predictions (``ROW_seedS.npz``) for post-hoc analysis.

Run::

    .venv/bin/python benchmarks/cross_dataset.py --rows descriptor,descriptor_degraded --seed 0 \\
        --out benchmarks/results/cross_dataset_cpu.md --save-outputs .cache/xd/outputs
    .venv/bin/python benchmarks/cross_dataset.py --rows descriptor_degraded --person-folds 5

Results: ``benchmarks/results/cross_dataset_cpu.md``.
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent))

#: FG-NET age groups reported apart (children are what users complain about most).
AGE_GROUPS = {"0-2": (0, 2), "3-9": (3, 9), "10-19": (10, 19), "0-9": (0, 9)}
MIN_GROUP, MIN_CELL = 100, 30


def rows(cache, seed, n_jobs):
    """Row name -> a function building the unfitted pipeline."""
    from skage.pipeline import make_age_network_pipeline, make_age_pipeline, pretrained_model

    cache = None if cache is None else str(cache)
    common = dict(memory=cache, random_state=seed, n_jobs=n_jobs)
    return {
        # dlib's CC0 age network with its own head: nothing learned from UTKFace (fit checks the files)
        "age_network": lambda: pretrained_model(memory=cache, n_jobs=n_jobs),
        # the same network fine-tuned on the UTKFace chips, distilled from itself (make_age_network_pipeline)
        "age_network_tuned": lambda: make_age_network_pipeline(memory=cache, random_state=seed, n_jobs=n_jobs,
                                                               verbose=0),
        # ... with half its pull toward the middle ages undone (a fifth of the training faces held out)
        "age_network_tuned_bc": lambda: make_age_network_pipeline(memory=cache, random_state=seed, n_jobs=n_jobs,
                                                                  verbose=0, bias_correction=0.5),
        "descriptor": lambda: make_age_pipeline(model="descriptor", **common),
        # issue 33's recipe, the default model: both networks' tops on cached activations, stacked out of fold
        "stacked": lambda: make_age_pipeline(model="stacked", verbose=1, **common),
        "descriptor_degraded": lambda: make_age_pipeline(model="descriptor", degrade=1.0, **common),
        # class-balanced sample weights instead of over-sampling: the SVR fits each face once (its
        # fit grows with the square of the rows, and the degraded copies double them)
        # the two averaged: make_age_pipeline(model="two_networks") (its descriptor member is the row above)
        "two_networks": lambda: make_age_pipeline(model="two_networks", **common),
        "descriptor_weighted": lambda: make_age_pipeline(model="descriptor", balance=False, bin_weights=True,
                                                         **common),
        "descriptor_degraded_weighted": lambda: make_age_pipeline(model="descriptor", degrade=1.0, balance=False,
                                                                  bin_weights=True, **common),
        # the fine-tuned dlib network (12 epochs, over-sampled bins) averaged with the row above as its
        # descriptor member (bin weights, not over-sampling: the SVR's fit grows with the square of the rows)
        "ensemble": lambda: make_age_pipeline(model="ensemble", max_epochs=12, degrade=1.0, bin_weights=True,
                                              verbose=0, **common).set_params(model__descriptor__balance="passthrough"),
    }


def grayscale_photos(paths):
    """True for photos stored as one channel or whose three channels are equal (FG-NET's gray scans)."""
    from PIL import Image

    out = np.zeros(len(paths), bool)
    for i, p in enumerate(paths):
        with Image.open(p) as im:
            if im.mode in ("L", "LA", "1", "I", "I;16"):
                out[i] = True
                continue
            a = np.asarray(im.convert("RGB"), np.int16)
        out[i] = np.abs(a[..., 0] - a[..., 1]).max() <= 8 and np.abs(a[..., 1] - a[..., 2]).max() <= 8
    return out


def _finite(y, pred):
    ok = np.isfinite(pred)
    return y[ok], pred[ok], int((~ok).sum())


def utk_figures(y, pred, meta, n_boot=200, seed=0):
    """(a): the report's figures plus common-bin gaps with bootstrap 95 % intervals."""
    from fairness import common_bin_gap

    from skage.metrics import age_report

    keep = np.isfinite(pred)
    y, pred, meta = y[keep], pred[keep], meta[keep].reset_index(drop=True)
    r = age_report(y, pred)
    out = {"n": r.n, "no_age": int((~keep).sum()), "mae": r.mae, "cmae": r.cmae, "acc5": r.acc, "bias": r.bias}
    rng = np.random.default_rng(seed)
    boot = [rng.integers(0, len(y), len(y)) for _ in range(n_boot)]
    for col in ("race", "gender"):
        labels = meta[col].to_numpy(dtype=object)
        try:
            gap, bins = common_bin_gap(y, pred, labels, min_n=MIN_GROUP, min_cell=MIN_CELL)
        except ValueError:  # fewer than two groups large enough (a --limit run)
            out[f"gap_{col}"] = (np.nan, np.nan, np.nan, [])
            continue
        gaps = []
        for idx in boot:
            try:
                gaps.append(common_bin_gap(y[idx], pred[idx], labels[idx], MIN_GROUP, MIN_CELL)[0])
            except ValueError:  # a resample without a common bin
                continue
        lo, hi = np.percentile(gaps, [2.5, 97.5]) if gaps else (np.nan, np.nan)
        out[f"gap_{col}"] = (gap, lo, hi, bins)
    return out


def fgnet_figures(y, pred, gray):
    """(b): MAE overall, gray and colour (MAE and mean signed error), and children's age groups."""
    from skage.metrics import age_report

    keep = np.isfinite(pred)
    y, pred, gray = y[keep], pred[keep], gray[keep]
    r = age_report(y, pred)
    out = {"n": int(len(y)), "no_age": int((~keep).sum()), "mae": r.mae, "cmae": r.cmae, "acc5": r.acc, "bias": r.bias,
           "signed": float(np.mean(pred - y))}
    for name, m in (("gray", gray), ("colour", ~gray)):
        out[f"{name}_mae"] = float(np.mean(np.abs(pred - y)[m]))
        out[f"{name}_signed"] = float(np.mean((pred - y)[m]))
        out[f"{name}_n"] = int(m.sum())
    for name, (lo, hi) in AGE_GROUPS.items():
        m = (y >= lo) & (y <= hi)
        out[f"mae_{name}"] = float(np.mean(np.abs(pred - y)[m]))
        out[f"signed_{name}"] = float(np.mean((pred - y)[m]))
    return out


def gray_consistency(pipe, paths, pred_colour, n=1000, seed=0):
    """Mean and mean absolute change of the age when the same test chips are given in grayscale."""
    from PIL import Image

    pick = np.sort(np.random.default_rng(seed).choice(len(paths), min(n, len(paths)), replace=False))
    gray = [np.asarray(Image.open(paths[i]).convert("L").convert("RGB")) for i in pick]
    change = pipe.predict(gray) - pred_colour[pick]
    return {"gray_shift": float(np.nanmean(change)), "gray_abs_change": float(np.nanmean(np.abs(change)))}


def _back_start(pipe):
    """The first step (c) refits per fold: ``scale`` for descriptor rows, ``degrade`` for network rows."""
    return "scale" if "describe" in pipe.named_steps else "degrade"


def _features_at_fit(pipe, X, y, stop):
    """What the fitted pipeline's steps from ``stop`` on were trained on: the fit path before ``stop``.

    Replays the pipeline's own fitted steps (the same seeds, so the same degraded copies; every
    result comes from the cache the fit filled).
    """
    from sklearn.base import clone

    names = [name for name, _ in pipe.steps]
    data, source = (X, y), np.arange(len(y))
    for name in names[:names.index(stop)]:
        step = pipe.named_steps[name]
        if step == "passthrough":
            continue
        if hasattr(step, "fit_resample"):
            step = clone(step)
            data = step.fit_resample(*data)
            source = source[step.sample_indices_]  # which input each output row is (a copy of)
        else:
            data = (step.transform(data[0]), data[1])
    return (*data, source)


def warmed(back, epochs):
    """A copy of the fitted pipeline ``back`` whose network goes on training for ``epochs`` at its next ``fit``.

    skorch's ``warm_start`` keeps the weights. A new optimizer, callbacks and history start a new
    learning-rate schedule of ``epochs``: skorch would resume the finished one, which ended at zero.
    """
    from copy import deepcopy

    model = deepcopy(back)
    net = model.steps[-1][1]
    if not hasattr(net, "warm_start"):
        raise ValueError(f"--warm-epochs continues a network's training; the row's last step is {net!r}")
    net.set_params(warm_start=True, max_epochs=epochs)
    net.initialize_optimizer()
    net.initialize_callbacks()
    net.initialize_history()
    return model


def _with_caches(estimator):
    """Every step under ``estimator`` that has a ``memory`` cache, frozen members' steps included."""
    found, todo = [], [estimator]
    while todo:
        obj = todo.pop()
        if getattr(obj, "memory", None) is not None:
            found.append(obj)
        inner = [getattr(obj, "estimator", None), *(s for _, s in getattr(obj, "steps", [])),
                 *(e for _, e in getattr(obj, "estimators", [])), *getattr(obj, "estimators_", [])]
        todo += [e for e in inner if hasattr(e, "get_params")]
    return found


def cold_rate(pipe, paths, n=300, seed=0):
    """Images per second predicting ``n`` test files with every cache switched off (what a user sees)."""
    cached = {id(step): (step, step.memory) for step in _with_caches(pipe)}
    for step, _ in cached.values():
        step.memory = None
    pick = np.random.default_rng(seed).choice(len(paths), min(n, len(paths)), replace=False)
    t0 = time.time()
    pipe.predict(paths[pick])
    rate = len(pick) / (time.time() - t0)
    for step, memory in cached.values():
        step.memory = memory
    return rate


def person_folds(pipe, X_tr, y_tr, fg, gray, k, seed, log, n_jobs=1, warm_epochs=0):
    """(c): FG-NET's people in K folds; each fold's model also trains on the other folds' photos.

    The front of the fitted pipeline (alignment, degraded copies, features) is reused, and a clone
    of its back (``scale`` onwards) is fitted per fold on the UTKFace training features plus the
    other folds' FG-NET features (and their degraded copies, when the row makes them): the same
    model the whole pipeline would train, without describing the 10,816 UTKFace chips again.
    Network rows (no ``describe``) refit from ``degrade`` on: the aligned chips are reused, the
    copies and the network made again per fold.

    ``warm_epochs`` (network rows): instead of training a new network per fold, the fitted one
    trains that many more epochs on the other folds' FG-NET photos plus as many UTKFace training
    chips drawn at random (and their degraded copies), under its own recipe (learning rate,
    distillation, now from the UTKFace-trained network), as DEX fine-tuned its pretrained network
    on FG-NET. Each fold thus still trains on the 70 % of UTKFace and the other folds' people, in
    two stages, at a small fraction of the cost.
    """
    from joblib import Parallel, delayed
    from sklearn.base import clone
    from sklearn.model_selection import GroupKFold

    stop = _back_start(pipe)
    F_tr, y_f, _ = _features_at_fit(pipe, X_tr, y_tr, stop)
    F_fg, y_fg, source = _features_at_fit(pipe, fg.X, fg.y, stop)  # with the FG-NET photos' own degraded copies
    n_fg = len(fg.y)
    back = pipe[[name for name, _ in pipe.steps].index(stop):]
    front = pipe[:[name for name, _ in pipe.steps].index(stop)]
    while hasattr(front.steps[-1][1], "fit_resample"):  # a sampler last (DropNoFace) has no transform
        front = front[:-1]
    F_test = front.transform(fg.X)

    def fold(tr, te):
        t0 = time.time()
        rows = np.isin(source, tr)
        if warm_epochs:
            replay = np.random.default_rng(seed).choice(len(y_f), min(len(y_f), rows.sum()), replace=False)
            model = warmed(back, warm_epochs).fit(np.r_[F_tr[replay], F_fg[rows]], np.r_[y_f[replay], y_fg[rows]])
        else:
            model = clone(back).fit(np.r_[F_tr, F_fg[rows]], np.r_[y_f, y_fg[rows]])
        return te, model.predict(F_test[te]), time.time() - t0

    pred = np.full(n_fg, np.nan)
    groups = fg.metadata.subject_id.to_numpy()
    splits = list(GroupKFold(n_splits=k, shuffle=True, random_state=seed).split(fg.X, groups=groups))
    # the folds' SVRs are single-threaded: fit them side by side (a network uses the cores itself)
    jobs = n_jobs if stop == "scale" else 1
    for i, (te, pred_te, seconds) in enumerate(Parallel(n_jobs=jobs)(delayed(fold)(tr, te) for tr, te in splits)):
        pred[te] = pred_te
        log(f"  person fold {i + 1}/{k}: {n_fg - len(te)} FG-NET photos in training, MAE on {len(te)} "
            f"{np.nanmean(np.abs(pred[te] - fg.y[te])):.2f} ({seconds:.0f} s)")
    return fgnet_figures(fg.y, pred, gray), pred


def _fmt_gap(g):
    gap, lo, hi, bins = g
    return f"{gap:.2f} [{lo:.2f}, {hi:.2f}]"


def report_lines(name, seed, a, b, fit_s, rate, c=None):
    lines = [f"| {name} | {seed} | {a['mae']:.2f} | {a['cmae']:.2f} | {100 * a['acc5']:.1f}% | {a['bias']:.2f} | "
             f"{_fmt_gap(a['gap_race'])} | {_fmt_gap(a['gap_gender'])} | {a['gray_shift']:+.2f} "
             f"({a['gray_abs_change']:.2f}) | {fit_s / 60:.1f} min | {a['cold_rate']:.0f} / {a['cold_rate_fgnet']:.0f} img/s |"]
    fg = (f"| {name} | {seed} | {b['mae']:.2f} | {b['cmae']:.2f} | {100 * b['acc5']:.1f}% | "
          f"{b['gray_mae']:.2f} ({b['gray_signed']:+.2f}) | {b['colour_mae']:.2f} ({b['colour_signed']:+.2f}) | "
          f"{b['gray_signed'] - b['colour_signed']:+.2f} | " +
          " | ".join(f"{b['mae_' + g]:.2f} ({b['signed_' + g]:+.2f})" for g in AGE_GROUPS) + " |")
    lines.append(fg)
    if c is not None:
        lines.append(f"| {name} | {seed} | {c['mae']:.2f} | {c['gray_mae']:.2f} | {c['colour_mae']:.2f} | "
                     f"{c['mae_0-9']:.2f} | {c['mae_10-19']:.2f} |")
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", default="descriptor")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--utkface", default=str(DATA / "utkface"))
    parser.add_argument("--fgnet", default=str(DATA / "fgnet"))
    parser.add_argument("--limit", type=int, default=None, help="use a seeded sample of this many UTKFace chips")
    parser.add_argument("--person-folds", type=int, default=0)
    parser.add_argument("--warm-epochs", type=int, default=0,
                        help="(c) for network rows: train the fitted network this many more epochs per fold "
                             "instead of a new network (see person_folds)")
    parser.add_argument("--folds-only", action="store_true",
                        help="only (c): readies the pipeline's front (it learns nothing) instead of fitting the row")
    parser.add_argument("--cache", default=str(REPO / ".cache" / "xd"))
    parser.add_argument("--no-cache", action="store_true", help="no joblib memory: fit and predict times as a user sees them")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--out", default=None, help="Markdown file the results are appended to")
    parser.add_argument("--save-outputs", default=None)
    args = parser.parse_args(argv)

    from skage.compare import split_indices
    from skage.datasets import load_fgnet, load_utkface

    def log(msg):
        print(msg, flush=True)

    utk = load_utkface(args.utkface)
    X, y, meta = utk.X, utk.y, utk.metadata
    if args.limit:
        keep = np.sort(np.random.default_rng(0).choice(len(y), args.limit, replace=False))
        X, y, meta = X[keep], y[keep], meta.iloc[keep].reset_index(drop=True)
    tr, te = split_indices(y, test_size=0.3, random_state=args.seed)
    fg = load_fgnet(args.fgnet)
    gray = grayscale_photos(fg.X)
    log(f"UTKFace {len(y)} chips: {len(tr)} train / {len(te)} test (seed {args.seed}); FG-NET {len(fg.y)} photos "
        f"({gray.sum()} gray) of {fg.metadata.subject_id.nunique()} people")
    table_a, table_b, table_c = [], [], []
    for name in args.rows.split(","):
        factory = rows(None if args.no_cache else args.cache, args.seed, args.n_jobs)[name]
        if args.folds_only:
            pipe = factory()
            for _, step in pipe.steps[:[n for n, _ in pipe.steps].index(_back_start(pipe))]:
                if step != "passthrough" and not hasattr(step, "fit_resample"):
                    step.fit(None)  # aligner and features learn nothing from the faces
            c, pred_c = person_folds(pipe, X[tr], y[tr], fg, gray, args.person_folds, args.seed, log, args.n_jobs)
            log(f"{name} (c) {json.dumps(c)}")
            if args.save_outputs:
                os.makedirs(args.save_outputs, exist_ok=True)
                np.savez(Path(args.save_outputs) / f"{name}_seed{args.seed}_folds.npz", y_fgnet=fg.y, gray=gray,
                         subject=fg.metadata.subject_id.to_numpy(), pred_person_folds=pred_c)
            continue
        t0 = time.time()
        pipe = factory().fit(X[tr], y[tr])
        fit_s = time.time() - t0
        t0 = time.time()
        pred_te = pipe.predict(X[te])
        rate = len(te) / (time.time() - t0)
        pred_fg = pipe.predict(fg.X)
        a = utk_figures(y[te], pred_te, meta.iloc[te].reset_index(drop=True), seed=args.seed)
        a.update(gray_consistency(pipe, X[te], pred_te, seed=args.seed))
        a["cold_rate"] = cold_rate(pipe, X[te], seed=args.seed)
        a["cold_rate_fgnet"] = cold_rate(pipe, fg.X, seed=args.seed)
        b = fgnet_figures(fg.y, pred_fg, gray)
        log(f"{name}: fit {fit_s / 60:.1f} min, predict {rate:.1f} img/s\n  (a) {json.dumps(a, default=str)}\n"
            f"  (b) {json.dumps(b)}")
        def save(pred_c=None):
            if args.save_outputs:
                os.makedirs(args.save_outputs, exist_ok=True)
                np.savez(Path(args.save_outputs) / f"{name}_seed{args.seed}.npz", test_idx=te, y_test=y[te],
                         pred_test=pred_te, y_fgnet=fg.y, pred_fgnet=pred_fg, gray=gray,
                         subject=fg.metadata.subject_id.to_numpy(),
                         pred_person_folds=pred_c if pred_c is not None else [])

        save()
        c, pred_c = None, None
        if args.person_folds:
            c, pred_c = person_folds(pipe, X[tr], y[tr], fg, gray, args.person_folds, args.seed, log, args.n_jobs,
                                     warm_epochs=args.warm_epochs)
            log(f"  (c) {json.dumps(c)}")
            save(pred_c)
        la = report_lines(name, args.seed, a, b, fit_s, rate, c)
        table_a.append(la[0])
        table_b.append(la[1])
        if c is not None:
            table_c.append(la[2])
    stamp = (f"{datetime.date.today()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores; "
             f"`benchmarks/cross_dataset.py --rows {args.rows} --seed {args.seed}"
             f"{f' --person-folds {args.person_folds}' if args.person_folds else ''}"
             f"{f' --warm-epochs {args.warm_epochs}' if args.warm_epochs else ''}"
             f"{f' --limit {args.limit}' if args.limit else ''}`")
    md = [f"### {stamp}", "",
          "(a) UTKFace 70/30 split (gaps: per-group CMAE on the bins every group fills, bootstrap 95 %)", "",
          "| row | seed | MAE | CMAE | Acc@5 | bias | race gap | gender gap | gray copy: shift (mean abs) | fit | "
          "predict, no cache: chips / FG-NET |",
          "|---|---:|---:|---:|---:|---:|---|---|---:|---:|---:|", *table_a, "",
          "(b) trained on that 70 %, scored on all of FG-NET: MAE (mean signed error)", "",
          "| row | seed | MAE | CMAE | Acc@5 | gray | colour | gray − colour signed | " + " | ".join(AGE_GROUPS) + " |",
          "|---|---:|---:|---:|---:|---|---|---:|" + "---|" * len(AGE_GROUPS), *table_b, ""]
    if table_c:
        how = (f"the fitted network trained {args.warm_epochs} more epochs on the other folds' photos and as many "
               "UTKFace chips" if args.warm_epochs else "the other folds' photos in training")
        md += [f"(c) FG-NET people in {args.person_folds} folds, {how}", "",
               "| row | seed | MAE | gray | colour | 0-9 | 10-19 |", "|---|---:|---:|---:|---:|---:|---:|", *table_c, ""]
    text = "\n".join(md)
    print(text)
    if args.out:
        with open(args.out, "a") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
