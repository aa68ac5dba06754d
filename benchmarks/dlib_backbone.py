"""dlib's face ResNet in PyTorch: descriptor fidelity and speed, and AgeNet fine-tuned from it.

Three steps, each a sub-command:

``chips``
    dlib's own 150-px chips of every UTKFace image (HOG detection, 5-point
    landmarks, ``dlib.get_face_chip(img, shape, size=150, padding=0.25)``),
    plus the 12 parsing-region masks from dlib's 68 landmarks fitted on
    each chip; saved as ``.npy`` under ``--cache`` so that reruns skip it.
    An image where HOG finds no face is landmarked in its whole frame
    (UTKFace images are already face crops), and counted.
``descriptors``
    Reader load time; cosine of ``skage.nn.dlib_descriptors`` against
    ``dlib.face_recognition_model_v1.compute_face_descriptor`` on ``--n``
    real chips; throughput of both (img/s), torch in fp32 and bf16.
``finetune``
    ``AgeNet(backbone="dlib_resnet")`` on the seeded 70/30 split
    (``train_test_split(..., test_size=0.3, random_state=0)``) of the
    cached chips, with or without parsing attention; prints and appends
    ``skage.metrics.age_report`` figures to ``--out``.
``ensemble``
    ``make_age_pipeline(model="ensemble")`` end to end on the image files
    of the same split (``--seed`` picks another): aligned once, the
    fine-tuned network and the descriptor SVR, their ages averaged; rows
    for the ensemble and for each member (``VotingRegressor.transform``),
    from one fit. The network weighs its loss by the training bin counts
    before resampling, which the pipeline hands it. ``--model deep`` fits the
    network's pipeline alone (``net_params={"backbone": "dlib_resnet"}``);
    ``--groups race`` balances age bin × race with ``fit_with_groups`` and
    lets the KNN stage count the resampler's repeats (``duplicates="count"``,
    issue 13's method). Every row also gets the age-standardised gaps
    (per-group CMAE, groups with ≥ 100 test faces) across race and gender.
    ``--bias-correction S`` wraps the model in ``AgeBiasCorrector``
    (``make_age_pipeline(bias_correction=S)``): rows for the corrected ages
    at strength S, at full strength (1.0, the same fit, post hoc) and the
    uncorrected ones; the held-out fifth's ages and predictions and the
    fitted line are saved with ``--save-outputs``.

Run::

    python benchmarks/dlib_backbone.py chips --data ../shared/data/utkface
    python benchmarks/dlib_backbone.py descriptors --data ../shared/data/utkface --n 64
    python benchmarks/dlib_backbone.py finetune --epochs 8 [--no-attention]
    python benchmarks/dlib_backbone.py ensemble --epochs 12 --out benchmarks/results/dlib_backbone_cpu.md
    python benchmarks/dlib_backbone.py ensemble --model deep --groups race --epochs 12
    python benchmarks/dlib_backbone.py ensemble --epochs 12 --bias-correction 0.5 --seed 3

Results: ``benchmarks/results/dlib_backbone_cpu.md``.
"""

import argparse
import datetime
import os
import platform
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = REPO / ".cache" / "dlib_chips"
DEFAULT_DATA = REPO.parent / "shared" / "data" / "utkface"


def _chip_one(path):
    import dlib

    from skage.alignment import model_path
    from skage.parsing import region_masks

    detector = _chip_one.detector = getattr(_chip_one, "detector", None) or dlib.get_frontal_face_detector()
    sp5 = _chip_one.sp5 = getattr(_chip_one, "sp5", None) or dlib.shape_predictor(model_path("landmarks5"))
    sp68 = _chip_one.sp68 = getattr(_chip_one, "sp68", None) or dlib.shape_predictor(model_path("landmarks68"))
    image = dlib.load_rgb_image(str(path))
    faces = detector(image, 0) or detector(image, 1)
    found = len(faces) > 0
    box = max(faces, key=lambda r: r.area()) if found else dlib.rectangle(0, 0, image.shape[1] - 1, image.shape[0] - 1)
    chip = dlib.get_face_chip(image, sp5(image, box), size=150, padding=0.25)
    # The face of a padding-0.25 chip fills its central 100 px; the detector only refines that box.
    chip_faces = [r for r in detector(chip, 0) if r.center().x > 45 and r.center().x < 105]
    chip_box = chip_faces[0] if chip_faces else dlib.rectangle(25, 25, 125, 125)
    shape = sp68(chip, chip_box)
    landmarks = np.array([(p.x, p.y) for p in shape.parts()], dtype=np.float64)
    return chip, region_masks(landmarks, 150, 0.05), found


def build_chips(data, cache, n_jobs=2):
    from joblib import Parallel, delayed

    from skage.datasets import load_utkface

    faces = load_utkface(data)
    cache.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    out = Parallel(n_jobs=n_jobs, batch_size=32)(delayed(_chip_one)(p) for p in faces.X)
    chips = np.stack([np.concatenate([c, m], axis=-1) for c, m, _ in out]).astype(np.uint8)
    found = np.array([f for _, _, f in out])
    np.save(cache / "chips.npy", chips)
    np.save(cache / "ages.npy", np.asarray(faces.y, dtype=np.float32))
    np.save(cache / "paths.npy", np.asarray([str(p) for p in faces.X]))
    print(f"{len(chips)} chips {chips.shape} in {time.perf_counter() - start:.0f} s; "
          f"HOG found a face in {found.sum()}, whole-frame fallback for {(~found).sum()}")


def load_chips(cache):
    chips = np.load(cache / "chips.npy", mmap_mode="r")
    return chips, np.load(cache / "ages.npy"), np.load(cache / "paths.npy")


def descriptors(data, cache, n, batch_size, rounds):
    import dlib
    import torch

    from skage.alignment import model_path
    from skage.nn import DlibFaceResNet, dlib_descriptors, read_dlib_net

    start = time.perf_counter()
    read_dlib_net(model_path("face_recognition"))
    read_s = time.perf_counter() - start
    start = time.perf_counter()
    DlibFaceResNet.from_dlib_file()
    module_s = time.perf_counter() - start
    print(f"reader: file read in {read_s:.3f} s; DlibFaceResNet.from_dlib_file() in {module_s:.3f} s")

    chips = np.ascontiguousarray(load_chips(cache)[0][:n, ..., :3])
    reference = dlib.face_recognition_model_v1(model_path("face_recognition"))
    rows = {}
    for name, fn in [
        ("dlib (compute_face_descriptor per chip)",
         lambda: np.array([reference.compute_face_descriptor(c) for c in chips])),
        ("dlib (compute_face_descriptor, list of chips)",
         lambda: np.array(reference.compute_face_descriptor(list(chips)))),
        ("torch fp32", lambda: dlib_descriptors(chips, batch_size=batch_size, bf16=False)),
        ("torch bf16", lambda: dlib_descriptors(chips, batch_size=batch_size, bf16=True)),
    ]:
        fn()  # warm-up (loads the cached module, oneDNN kernels)
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            out = fn()
            times.append(time.perf_counter() - t)
        rows[name] = (out, float(np.median(times)))
    expected = rows["dlib (compute_face_descriptor per chip)"][0]
    print(f"{n} real chips, batch {batch_size}, median of {rounds} rounds, torch threads {torch.get_num_threads()}")
    print("| engine | img/s | ms/img | cosine vs dlib min | mean | max abs diff |\n|---|---:|---:|---:|---:|---:|")
    for name, (out, seconds) in rows.items():
        cos = (out * expected).sum(1) / np.linalg.norm(out, axis=1) / np.linalg.norm(expected, axis=1)
        print(f"| {name} | {n / seconds:.1f} | {1000 * seconds / n:.1f} | {cos.min():.6f} | {cos.mean():.6f} "
              f"| {np.abs(out - expected).max():.2e} |")


class _TimeBudget:
    """Stop training (skorch catches KeyboardInterrupt and keeps the net) once ``budget_s`` have passed;
    print progress every ``every`` batches."""

    def __new__(cls, budget_s, every=20):
        from skorch.callbacks import Callback

        class TimeBudget(Callback):
            def initialize(self):
                self.start_, self.batches_, self.stopped_ = time.perf_counter(), 0, False
                return self

            def on_batch_end(self, net, training=False, **kwargs):
                if not training:
                    return
                self.batches_ += 1
                elapsed = time.perf_counter() - self.start_
                if self.batches_ % every == 0:
                    print(f"  batch {self.batches_}: {elapsed / 60:.1f} min, {elapsed / self.batches_:.1f} s/batch, "
                          f"loss {net.history[-1, 'batches', -1, 'train_loss']:.3f}", flush=True)
                if elapsed > budget_s:
                    self.stopped_ = True
                    print(f"  time budget of {budget_s / 60:.0f} min reached after {self.batches_} batches", flush=True)
                    raise KeyboardInterrupt

        return TimeBudget()


def finetune(cache, args):
    import torch
    from sklearn.model_selection import train_test_split

    from skage.metrics import age_report
    from skage.nn import AgeNet

    chips, ages, _ = load_chips(cache)
    index = np.arange(len(chips))
    train, test = train_test_split(index, test_size=0.3, random_state=0)
    X = np.asarray(chips) if args.attention else np.ascontiguousarray(chips[..., :3])
    if args.threads:
        torch.set_num_threads(args.threads)
    params = dict(backbone="dlib_resnet", attention=args.attention, max_epochs=args.epochs,
                  batch_size=args.batch_size, lr=args.lr, backbone_lr_scale=args.backbone_lr_scale,
                  freeze_stages=args.freeze_stages, amp=args.amp, device="cpu", random_state=0,
                  aug_scale=(0.85, 1.0), verbose=1)
    X_fit, y_fit = X[np.sort(train)], ages[np.sort(train)]
    if args.balance:
        # The pipeline's balance step: age bins over-sampled to equal counts (jittered copies), and the
        # class-balanced loss weighted by the counts before resampling, as make_age_pipeline/skage fit do.
        from skage.sampling import AgeBinResampler

        resampler = AgeBinResampler(random_state=0)
        X_fit, y_fit = resampler.fit_resample(X_fit, y_fit)
        params["cb_counts"] = resampler.bin_counts_
    budget = _TimeBudget(args.budget_min * 60)
    net = AgeNet(**params, callbacks=[("time_budget", budget)])
    start = time.perf_counter()
    net.fit(X_fit, y_fit)
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    outputs = net.predict_outputs(X[test])
    pred = outputs.ages
    predict_s = time.perf_counter() - start
    if args.out:
        np.save(Path(args.out).with_suffix(f".{'att' if args.attention else 'cnn'}.pred.npy"), pred)
    if args.save_outputs:
        # Embeddings of both parts, so that heads on top (KNN refinement) can be measured without retraining.
        train_outputs = net.predict_outputs(X[np.sort(train)])
        np.savez(args.save_outputs, train=np.sort(train), test=test, train_ages=train_outputs.ages,
                 train_embeddings=train_outputs.embeddings, test_ages=pred, test_embeddings=outputs.embeddings,
                 test_proba=outputs.proba)
    report = age_report(ages[test], pred)
    epochs = len(net.history) - (1 if budget.stopped_ else 0)
    done = f"{epochs}" + (f" + {budget.batches_ % -(-len(train) // args.batch_size)} batches (time budget)"
                          if budget.stopped_ else "")
    name = "dlib_resnet" + (" + parsing attention" if args.attention else "") + (" + balanced" if args.balance else "")
    line = (f"| {name} | {done} / {args.epochs} | "
            f"{report.mae:.2f} | {report.cmae:.2f} | {100 * report.acc:.1f}% | {report.bias:.2f} | "
            f"{fit_s / 60:.1f} min | {predict_s:.0f} s |")
    print({k: v for k, v in params.items()}, f"train {len(train)} test {len(test)}")
    print(line)
    if args.out:
        with open(args.out, "a") as f:
            f.write(f"<!-- {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
                    f"{os.cpu_count()} cores, params {params} -->\n{line}\n")


def ensemble(args):
    from sklearn.model_selection import train_test_split

    from skage.datasets import load_utkface
    from skage.metrics import age_report
    from skage.pipeline import make_age_pipeline

    from fairness import group_cmae  # benchmarks/fairness.py, beside this script

    faces = load_utkface(args.data)
    X, ages = np.asarray(faces.X), np.asarray(faces.y, dtype=float)
    meta = {g: faces.metadata[g].to_numpy(dtype=object) for g in ("race", "gender")}
    index = np.arange(len(X)) if not args.limit else np.random.default_rng(0).permutation(len(X))[:args.limit]
    train, test = train_test_split(index, test_size=0.3, random_state=args.seed)
    train = np.sort(train)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    # the pipeline hands the network its resampler's bin counts (the ages before resampling) at fit
    net_params = dict(amp=args.amp, test_time_flip=args.test_time_flip)
    if args.model == "ensemble":
        pipe = make_age_pipeline(model="ensemble", max_epochs=args.epochs, batch_size=args.batch_size,
                                 device="cpu", random_state=0, n_jobs=args.n_jobs, net_params=net_params,
                                 bias_correction=args.bias_correction)
    else:
        pipe = make_age_pipeline(max_epochs=args.epochs, batch_size=args.batch_size, device="cpu", random_state=0,
                                 n_jobs=args.n_jobs, net_params={"backbone": "dlib_resnet", **net_params},
                                 bias_correction=args.bias_correction)
    corrector = pipe[-1] if args.bias_correction else None
    start = time.perf_counter()
    if args.groups:
        from skage.sampling import fit_with_groups

        if args.model != "deep":
            raise SystemExit("--groups needs --model deep (fit_with_groups balances a pipeline's own resampler)")
        refiner = "model__estimator__model__duplicates" if corrector else "model__duplicates"
        fit_with_groups(pipe.set_params(**{refiner: "count"}), X[train], ages[train], meta[args.groups][train])
    else:
        pipe.fit(X[train], ages[train])
    fit_s = time.perf_counter() - start
    start = time.perf_counter()
    vote = corrector.estimator_ if corrector else pipe[-1]
    if args.model == "ensemble":
        members = vote.transform(pipe[:-1].transform(X[test]))  # one column per member, in vote order
        pred = np.average(members, axis=1, weights=vote.weights)
        names = [name for name, _ in vote.estimators]
        scored = [("ensemble (mean)", pred)]
    else:
        pred = pipe.predict(X[test]) if not corrector else vote.predict(pipe[:-1].transform(X[test]))
        members, names = pred[:, None], ["deep alone" + (f", age bin × {args.groups}" if args.groups else "")]
        scored = []
    predict_s = time.perf_counter() - start
    if corrector:
        label = "ensemble" if args.model == "ensemble" else "deep"
        scored = [(f"{label}, bias-corrected {args.bias_correction:g}", corrector.correct(pred)),
                  (f"{label}, bias-corrected 1 (same fit, post hoc)", corrector.correct(pred, strength=1.0)),
                  *scored]
        print(f"held-out line: prediction = {corrector.slope_:.3f} * age + {corrector.intercept_:.2f} "
              f"({len(corrector.cv_ages_)} faces)")
    rows = []
    for name, p in scored + list(zip(names, members.T)):
        report = age_report(ages[test], p)
        gaps = [group_cmae(ages[test], p, meta[g][test]) for g in ("race", "gender")]
        rows.append(f"| {name}, seed {args.seed} | {args.epochs} | {report.mae:.2f} | {report.cmae:.2f} | "
                    f"{100 * report.acc:.1f}% | {report.bias:.2f} | "
                    + " | ".join(f"{max(g.values()) - min(g.values()):.2f}" if len(g) > 1 else "n/a" for g in gaps)
                    + f" | {fit_s / 60:.1f} min | {predict_s:.0f} s |")
    print(f"train {len(train)} test {len(test)}", *rows, sep="\n")
    if args.save_outputs:
        extra = {} if not corrector else dict(cv_ages=corrector.cv_ages_, cv_predictions=corrector.cv_predictions_,
                                              line=[corrector.slope_, corrector.intercept_])
        np.savez(args.save_outputs, test=test, paths=X[test], ages=ages[test], members=members, names=names, **extra)
    if args.out:
        with open(args.out, "a") as f:
            f.write(f"<!-- {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.node()}, "
                    f"{os.cpu_count()} cores, {args.model}, groups {args.groups}, max_epochs={args.epochs}, "
                    f"batch_size={args.batch_size}, amp={args.amp}, bias_correction={args.bias_correction}, "
                    f"test_time_flip={args.test_time_flip}, "
                    f"train {len(train)}, "
                    f"test {len(test)} -->\n" + "\n".join(rows) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=("chips", "descriptors", "finetune", "ensemble"))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--n", type=int, default=64, help="chips for the descriptor comparison")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--backbone-lr-scale", type=float, default=0.1)
    parser.add_argument("--freeze-stages", type=int, default=1)
    parser.add_argument("--no-attention", dest="attention", action="store_false")
    parser.add_argument("--balance", action="store_true",
                        help="over-sample age bins (AgeBinResampler) and weight the loss by the counts before")
    parser.add_argument("--amp", type=lambda v: {"auto": "auto", "1": True, "0": False}[v], default=False,
                        help="bf16 autocast: auto, 1 or 0 (default 0: fp32 trained faster here, see results)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--budget-min", type=float, default=55, help="stop training after this many minutes")
    parser.add_argument("--out", default=None, help="append the result row to this Markdown file")
    parser.add_argument("--save-outputs", default=None, help="save ages and embeddings of train and test (.npz)")
    parser.add_argument("--seed", type=int, default=0, help="ensemble: seed of the 70/30 split")
    parser.add_argument("--limit", type=int, default=None, help="ensemble: a seeded subset of this many faces")
    parser.add_argument("--model", choices=("ensemble", "deep"), default="ensemble", help="ensemble step: which pipeline")
    parser.add_argument("--bias-correction", type=float, default=None, metavar="S",
                        help="ensemble step: make_age_pipeline(bias_correction=S) (AgeBiasCorrector strength)")
    parser.add_argument("--test-time-flip", action="store_true",
                        help="ensemble step: the network averages each chip and its mirror image at prediction")
    parser.add_argument("--groups", choices=("race", "gender"), default=None,
                        help="ensemble step, --model deep: balance age bin × this group (fit_with_groups)")
    args = parser.parse_args(argv)
    if args.step == "chips":
        build_chips(args.data, args.cache, args.n_jobs)
    elif args.step == "descriptors":
        descriptors(args.data, args.cache, args.n, args.batch_size, args.rounds)
    elif args.step == "ensemble":
        ensemble(args)
    else:
        finetune(args.cache, args)


if __name__ == "__main__":
    main()
