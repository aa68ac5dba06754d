"""Argument parsing and the sub-commands."""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from .. import __version__
from ._audit import add_interval_columns, add_parsers, check_interval_model
from ._common import (ATTENTION_FILES, DEMO_FACES, DEMO_MODEL, DEMO_REPORT, FILE_OUT_COMMANDS, CLIError,
                      _add_command, _add_data, _add_model, _aligner_of, _load_data, _load_model, _positive_int,
                      _predict, _refuse_overwriting, _write_failure)
from ._overlap import add_training_faces_option, only_unseen, training_record

#: make_age_pipeline options that have their own command-line flags.
_COMMON = ("model", "image_size", "max_epochs", "batch_size", "device", "bias_correction", "degrade", "no_face")

#: Demo rows on real faces: ones that train in minutes on a CPU; the last is the model the demo saves.
_DEMO_DATA_ROWS = ("hog_svr", "descriptor_svr", "descriptor_balanced", "descriptor_full")


# ---------------------------------------------------------------- helpers

def _load_config(path):
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise CLIError(f"config file not found: {path}")
    text = path.read_text()
    try:
        if path.suffix.lower() in (".yml", ".yaml"):
            import yaml

            config = yaml.safe_load(text) or {}
        else:
            config = json.loads(text)
    except Exception as exc:
        raise CLIError(f"cannot parse config file {path}: {exc}") from None
    if not isinstance(config, dict):
        raise CLIError(f"config file {path} must hold a mapping of options, got {type(config).__name__}")
    return config


def _pipeline_kwargs(args, config):
    """Options of make_age_pipeline: the config file, overridden by explicit flags."""
    from ..pipeline import MODELS
    from ..pipeline._factory import DEFAULT_MODEL, builder_options

    kwargs = {k: v for k, v in config.items() if k != "params"}
    for name in _COMMON:
        value = getattr(args, name, None)
        if value is not None:
            kwargs[name] = value
    # make_age_pipeline's default when none is named; an unknown one (config file) is refused when it is built
    model = kwargs.get("model", DEFAULT_MODEL)
    if not getattr(args, "quiet", False):
        kwargs.setdefault("progress", True)
    elif model in MODELS and "verbose" in builder_options(model):  # models with a training log
        kwargs["verbose"] = 0
    return kwargs, config.get("params", {})


def _build_pipeline(kwargs, params):
    from ..pipeline import make_age_pipeline

    try:
        pipe = make_age_pipeline(**kwargs)
        if params:
            pipe.set_params(**params)
    except (TypeError, ValueError) as exc:
        raise CLIError(f"invalid pipeline option: {exc}") from None
    return pipe


def _unseen_data(args, model_info):
    """The dataset of ``--data``, without the faces that trained the model (per ``--training-faces``)."""
    X, y, meta = _load_data(args.data, args.limit, args.seed, writes=args)
    return only_unseen(args, model_info, X, y, meta)


def _groups(meta):
    return {g: meta[g].to_numpy() for g in ("gender", "race") if g in meta and meta[g].notna().any()} or None


# ---------------------------------------------------------------- commands

def _comparison(args, X, y, meta, pipeline_params, default_rows=None, return_models=False):
    """The comparison table for demo and benchmark: run, print (per-bin columns left to the files)."""
    from ..compare import DEFAULT_ROWS, comparison_markdown, run_comparison

    rows = args.rows.split(",") if args.rows else (default_rows or DEFAULT_ROWS)
    try:
        table, models = run_comparison(X, y, meta, rows=rows, split=args.split, test_size=args.test_size,
                                       random_state=args.seed, pipeline_params=pipeline_params, n_jobs=args.n_jobs,
                                       out_dir=args.out, log=None if args.quiet else print, return_models=True)
    except ValueError as exc:
        raise CLIError(str(exc)) from None
    print()
    print(comparison_markdown(table.drop(columns=[c for c in table.columns if c.startswith("mae[")])))
    if args.out:
        print(f"tables and plots written to {args.out}")
    return (table, models) if return_models else table


def cmd_demo(args):
    """Compare models, then leave the best CPU-friendly one behind with a report and the commands that reuse it."""
    out = Path(args.out)
    if args.data:
        X, y, meta = _load_data(args.data, args.limit, args.seed, writes=args)
        source, data_spec = args.data, args.data
        # The descriptor rows share one cache: each face is aligned and described once.
        params = {"random_state": args.seed, "memory": str(out / "cache"), "progress": not args.quiet}
        rows, keep = _DEMO_DATA_ROWS, "descriptor_full"
    else:
        from ..datasets import make_synthetic_faces

        faces = make_synthetic_faces(n_samples=args.n_samples, image_size=args.image_size,
                                     random_state=args.seed, return_metadata=True)
        X, y, meta = faces.images, faces.y, faces.metadata
        source, data_spec = f"{len(y)} synthetic faces (no --data given)", None
        params = {"image_size": args.image_size, "max_epochs": args.max_epochs, "batch_size": args.batch_size,
                  "device": args.device, "random_state": args.seed, "verbose": 0,
                  # Synthetic faces are drawn centred and upright: nothing for dlib to detect or align.
                  "align": False}
        rows, keep = None, "full"
    print(f"skage {__version__} demo on {source}")
    _, models = _comparison(args, X, y, meta, params, default_rows=rows, return_models=True)
    if keep not in models:  # --rows left the demo's model out: the table is the result
        return
    _leave_model_behind(args, models[keep], X, y, meta, out, data_spec)


def _leave_model_behind(args, model, X, y, meta, out, data_spec):
    """Save the demo's model and its report on the held-out faces; print the commands that reuse them."""
    from ..compare import split_indices
    from ..pipeline import save_model
    from ..viz import write_report

    test = split_indices(np.asarray(y, dtype=float), args.split, args.test_size, args.seed,
                         meta["subject_id"] if "subject_id" in meta else None)[1]
    if data_spec is None:  # synthetic faces live in memory: write the held-out ones where the commands can read them
        data_spec = _write_faces(out / DEMO_FACES, X[test], np.asarray(y)[test])
    train = np.setdiff1d(np.arange(len(y)), test)
    X_train, X_test = ((X[train], X[test]) if isinstance(X, np.ndarray)
                       else ([X[i] for i in train], [X[i] for i in test]))
    model_path = save_model(model, out / DEMO_MODEL, data=data_spec, n_train=int(len(train)),
                            **training_record(X_train))
    pngs = write_report(np.asarray(y)[test], model.predict(X_test), out / DEMO_REPORT,
                        groups=_groups(meta.iloc[test].reset_index(drop=True)))
    print(f"\nmodel saved to {model_path}; report on the {len(test)} held-out faces: "
          f"{', '.join(str(p) for p in pngs.values())}")
    print("reuse them:")
    print(f"  skage predict {model_path} PHOTOS_OR_FOLDERS... [--out predictions.csv]")
    print(f"  skage report {model_path} --data {data_spec} --out {out / DEMO_REPORT}")


def _write_faces(folder, images, ages):
    """Images as PNG files, labels in ``<folder>.csv`` beside them (not inside, so the folder holds only
    faces); returns the ``folder:`` dataset spec that reads them back."""
    import pandas as pd
    from PIL import Image

    from ..io import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    names = [f"face_{i:04d}.png" for i in range(len(images))]
    for name, image in zip(names, images):
        with atomic_write(folder / name, "wb") as f:
            Image.fromarray(np.asarray(image)[..., :3]).save(f, format="PNG")
    labels = folder.with_suffix(".csv")
    with atomic_write(labels, newline="") as f:
        pd.DataFrame({"file": names, "age": ages}).to_csv(f, index=False)
    return f"folder:{folder}:{labels}"


def cmd_fit(args):
    """Fit and save; the file records the training faces, so that no command scores or calibrates on them."""
    from ..pipeline import save_model

    if args.calibrate is not None and not 0 < args.calibrate < 1:
        raise CLIError(f"--calibrate must be a fraction in (0, 1), e.g. 0.2, got {args.calibrate}")
    config = _load_config(args.config)
    X, y, _ = _load_data(args.data, args.limit, args.seed, writes=args)
    kwargs, params = _pipeline_kwargs(args, config)
    pipe = _build_pipeline(kwargs, params)
    if args.calibrate is None:
        print(f"fitting on {len(y)} faces from {args.data} ...")
        model, train, info = pipe.fit(X, y), np.arange(len(y)), {}
    else:
        from ..intervals import ConformalAgeRegressor

        # Split conformal at fit: the held-out share never trains the model, so the intervals it
        # calibrates hold for new faces by construction; no separate calibration data is needed.
        n_cal = int(np.ceil(args.calibrate * len(y)))
        print(f"fitting on {len(y) - n_cal} faces from {args.data}, calibrating intervals on the other {n_cal} ...")
        model = ConformalAgeRegressor(pipe, calibration_size=args.calibrate, random_state=args.seed).fit(X, y)
        train = np.setdiff1d(np.arange(len(y)), model.calibration_indices_)
        info = {"n_calibration": int(len(model.calibration_indices_)), "calibration_data": args.data}
    path = save_model(model, args.out, data=args.data, n_train=int(len(train)), options=kwargs, **info,
                      **training_record(X[train]))
    print(f"model saved to {path}")


def cmd_predict(args):
    """One row per face of every readable input, one error row per unreadable one; input order kept.

    The rows are written as the photos finish (``--out``: to a temporary file, renamed over the
    CSV at the end, so that an interrupted run leaves the old CSV as it was).
    """
    from ..io import atomic_write
    from ..pipeline import iter_predict_faces
    from ._draw import draw_photos, drawing_paths
    from ._inputs import expand_inputs

    inputs, empty = expand_inputs(args.paths)
    if not inputs:
        raise CLIError(f"no files to predict in {' '.join(args.paths)} (hidden files are skipped)")
    for folder in empty:
        print(f"note: no files to predict in {folder} (hidden files are skipped)", file=sys.stderr)
    if args.out:  # the model and the data were checked with the other --out checks
        _refuse_overwriting(args, inputs, "an input")
    pictures = drawing_paths(args.draw, inputs) if args.draw else None
    model = _load_model(args.model, args.quiet, args.trusted)
    alpha = check_interval_model(model, args.interval) if args.interval is not None else None
    if args.no_face is not None and _aligner_of(model) is not None:
        _aligner_of(model).set_params(on_failure=args.no_face)  # a prediction-time switch: nothing is refitted
    n_drawn = 0

    def tables():
        nonlocal n_drawn
        for table in iter_predict_faces(model, inputs, batch_size=args.batch_size, n_jobs=args.jobs,
                                        progress=not args.quiet):
            if alpha is not None:
                table = add_interval_columns(table, model, alpha)
            if pictures is not None:
                n_drawn += draw_photos(table, pictures)
            yield table

    if args.out:
        n_rows = n_flagged = 0
        # file names that are not valid UTF-8 keep their bytes as backslash escapes instead of failing
        with atomic_write(args.out, "w", encoding="utf-8", errors="backslashreplace", newline="") as f:
            for table in tables():
                table.to_csv(f, header=n_rows == 0, index=False)
                f.flush()
                n_rows, n_flagged = n_rows + len(table), n_flagged + (table["error"] != "").sum()
        print(f"{n_rows} rows written to {args.out} ({n_flagged} with errors or flags)")
    else:
        import pandas as pd

        table = pd.concat(list(tables()), ignore_index=True)
        shown = table.assign(face=table["face"].astype(object).where(table["face"].notna(), ""))  # blank, not <NA>
        print(shown.to_string(index=False, na_rep="", float_format=lambda v: f"{v:.1f}"))
    if pictures is not None:
        print(f"{n_drawn} pictures drawn in {args.draw} (none for the inputs that could not be read)")


def cmd_evaluate(args):
    from ..metrics import age_report

    model, info = _load_model(args.model, args.quiet, args.trusted, return_info=True)
    X, y, meta = _unseen_data(args, info)
    y_pred = _predict(model, X, args.quiet)
    scored = np.isfinite(y_pred)
    if not scored.all():  # e.g. unreadable files: the descriptor model gives them no age
        missing = [str(x) for x in np.asarray(X, dtype=object)[~scored]]
        print(f"note: {len(missing)} of {len(y)} inputs have no age and are left out of the metrics "
              f"(first: {', '.join(missing[:3])})", file=sys.stderr)
        X, y, y_pred, meta = X[scored], y[scored], y_pred[scored], meta[scored].reset_index(drop=True)
    print(age_report(y, y_pred, groups=_groups(meta)).to_markdown())


def cmd_report(args):
    from ..metrics import age_report
    from ..viz import write_report

    model, info = _load_model(args.model, args.quiet, args.trusted, return_info=True)
    X, y, meta = _unseen_data(args, info)
    y_pred = _predict(model, X, args.quiet)
    embeddings = model.transform(X) if hasattr(model, "transform") else None
    paths = write_report(y, y_pred, args.out, groups=_groups(meta), embeddings=embeddings)
    paths.update(_attention_pngs(model, X, y, args.out))
    print(age_report(y, y_pred, groups=_groups(meta)).to_markdown())
    for name, path in paths.items():
        print(f"{name}: {path}")


def _attention_pngs(model, X, y, out_dir, per_bin=3):
    """Attention and Grad-CAM grids across age groups, for models whose net has parsing attention."""
    import matplotlib.pyplot as plt

    from ..metrics import age_bin_indices
    from ..nn import AgeNet
    from ..pipeline import fitted_model, fitted_model_input
    from ..viz import plot_attention_grid

    net = fitted_model(model)
    if not isinstance(net, AgeNet) or not net.attention:
        print("note: no attention heatmaps: the model has no parsing attention", file=sys.stderr)
        return {}
    bins = age_bin_indices(y)
    pick = np.concatenate([np.flatnonzero(bins == b)[:per_bin] for b in np.unique(bins)])
    chips = fitted_model_input(model, X[pick])  # aligned and parsed, as the net predicts from them
    paths = {}
    for method in ("attention", "grad_cam"):
        paths[f"{method}_grid"] = path = Path(out_dir) / ATTENTION_FILES[f"{method}_grid"]
        plt.close(plot_attention_grid(net, chips, y[pick], path=path, per_bin=per_bin, method=method))
    return paths


def cmd_benchmark(args):
    X, y, meta = _load_data(args.data, args.limit, args.seed, writes=args)
    config = _load_config(args.config)
    kwargs, _ = _pipeline_kwargs(args, config)
    kwargs.setdefault("random_state", args.seed)
    _comparison(args, X, y, meta, kwargs)


# ---------------------------------------------------------------- parser

#: Commands whose first argument is a model file (the others' --model is a kind of model to train).
_MODEL_FILE_COMMANDS = ("predict", "evaluate", "report", "calibrate", "audit")


def _check_out(args):
    """Refuse an unusable --out before any work is done, not after it."""
    out = getattr(args, "out", None)
    if out is None:
        return
    path = Path(out)
    if args.command in FILE_OUT_COMMANDS:
        if path.is_dir():
            raise CLIError(f"--out {out} is a directory; give a file name, e.g. {path / 'model.skage'}")
        if not path.parent.is_dir():
            raise CLIError(f"--out {out}: folder {path.parent} does not exist")
    elif path.exists() and not path.is_dir():  # a folder (demo, benchmark, report, audit)
        raise CLIError(f"--out {out} is a file; give a folder")
    # the files read; predict's inputs once expanded (cmd_predict), the data's once listed (_load_data)
    if args.command in _MODEL_FILE_COMMANDS:
        _refuse_overwriting(args, [args.model], "the model")
    if getattr(args, "config", None):
        _refuse_overwriting(args, [args.config], "the config file")


def _add_common(p, defaults=None):
    from ..pipeline import MODELS

    defaults = defaults or {}
    p.add_argument("--model", choices=MODELS, default=defaults.get("model"),
                   help="stacked (default): one model for every kind of photo, both pretrained dlib networks' "
                        "last stages trained on cached activations and combined out of fold (26 min for "
                        "15,452 chips on a 2-core CPU); "
                        "resnet: the paper's network (wants a GPU); descriptor: dlib's pretrained face "
                        "descriptors under an SVR (trains in minutes on a CPU); ensemble: both averaged, the "
                        "network fine-tuned from dlib's face ResNet (--max-epochs 12: 90 min for 15,452 chips "
                        "on a 2-core CPU); "
                        "two_networks: descriptors on degraded chips averaged with dlib's CC0 age network; "
                        "age_network: that network fine-tuned without forgetting (users' photos, children; "
                        "12 min for 15,452 chips on a 2-core CPU)")
    p.add_argument("--image-size", type=_positive_int, default=defaults.get("image_size"), help="chip side in pixels")
    p.add_argument("--max-epochs", type=_positive_int, default=defaults.get("max_epochs"))
    p.add_argument("--batch-size", type=_positive_int, default=defaults.get("batch_size"))
    p.add_argument("--device", default=defaults.get("device"), help="cpu, cuda or auto")


def _add_comparison(p):
    from ..compare import SPLIT_METHODS

    p.add_argument("--rows", help="comma-separated rows, e.g. lbp_svr,hog_svr,cnn_only (default: all)")
    p.add_argument("--split", default="random", choices=SPLIT_METHODS)
    p.add_argument("--test-size", type=float, default=0.3)
    p.add_argument("--n-jobs", type=int, default=2, help="processes for hand-crafted features")


def build_parser():
    parser = argparse.ArgumentParser(prog="skage", description="Fair facial age estimation.")
    parser.add_argument("--version", action="version", version=f"skage {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = _add_command(sub, "demo", cmd_demo, "compare baselines and pipeline stages (synthetic faces unless --data)")
    _add_data(p, required=False)
    _add_common(p, {"image_size": 64, "max_epochs": 8, "batch_size": 32, "device": "auto"})
    p.add_argument("--n-samples", type=int, default=600, help="synthetic faces to draw when no --data")
    _add_comparison(p)
    p.add_argument("--out", default="results/demo",
                   help="folder for the table, the saved model and its report (default: results/demo)")

    p = _add_command(sub, "fit", cmd_fit, "train the pipeline and save it")
    _add_data(p)
    _add_common(p)
    p.add_argument("--config", help="YAML or JSON: make_age_pipeline options, and 'params' for set_params")
    p.add_argument("--bias-correction", type=float, metavar="STRENGTH",
                   help="undo this share (0-1] of the ages' pull toward the middle, measured on a held-out "
                        "fifth of the faces (training takes about 1.8 times as long), e.g. 0.5")
    p.add_argument("--degrade", type=float, metavar="COPIES",
                   help="descriptor, ensemble, two_networks and age_network (1 there by default): train also on "
                        "this many degraded "
                        "copies of each chip (gray, faded, blurred, small, noisy, JPEG), so that old and gray photos "
                        "are not read as old people, e.g. 1")
    p.add_argument("--no-face", choices=("blank", "center"),
                   help="images without a face found: blank (default) gives them no age and leaves them out of "
                        "training; center guesses an age from a centre crop and trains on it")
    p.add_argument("--calibrate", type=float, metavar="FRACTION",
                   help="keep this share of the faces (stratified by age bin) apart from training and calibrate "
                        "conformal age intervals on it (skage predict --interval), e.g. 0.2")
    p.add_argument("--out", required=True, help="model file to write (skage format: data, not a pickle; e.g. model.skage)")

    p = _add_command(sub, "predict", cmd_predict, "predict ages of images, folders or globs")
    _add_model(p)
    p.add_argument("paths", nargs="+")
    p.add_argument("--out", help="CSV to write; prints a table otherwise")
    p.add_argument("--interval", type=float, metavar="LEVEL",
                   help="add age_low/age_high columns, e.g. 0.9 (needs a model from skage fit --calibrate or "
                        "skage calibrate)")
    p.add_argument("--no-face", choices=("blank", "center"),
                   help="images without a face found: blank gives them no age (flag no_face), center the age "
                        "of a centre crop, still flagged no_face (default: the model's own setting)")
    p.add_argument("--batch-size", type=_positive_int, default=256,
                   help="faces per prediction call (default 256); the CSV grows a batch at a time")
    p.add_argument("--jobs", type=_positive_int, default=1, metavar="N",
                   help="processes that read photos and find their faces in parallel (default 1); "
                        "rows keep the input order")
    p.add_argument("--draw", metavar="DIR",
                   help="also write each photo to DIR as NAME.jpg (long side 1280 px), its faces boxed and "
                        "labelled with their ages (and intervals with --interval); a photo without a face "
                        "found says so; unreadable inputs get none")

    p = _add_command(sub, "evaluate", cmd_evaluate, "metrics of a saved model on a dataset")
    _add_model(p)
    _add_data(p)
    add_training_faces_option(p)

    p = _add_command(sub, "benchmark", cmd_benchmark, "the comparison table on a dataset")
    _add_data(p)
    _add_common(p)
    p.add_argument("--config", help="YAML or JSON: make_age_pipeline options for the deep rows")
    _add_comparison(p)
    p.add_argument("--out", default="results/benchmark")

    p = _add_command(sub, "report", cmd_report, "write report plots (PNG) for a saved model on a dataset")
    _add_model(p)
    _add_data(p)
    add_training_faces_option(p)
    p.add_argument("--out", required=True)

    add_parsers(sub)
    return parser


def main(argv=None):
    """Run ``skage`` with ``argv`` (default: the command line); returns the exit status.

    0 on success, 2 for a user error (one line, no traceback), 1 when the
    system fails it, e.g. a full disk (one line naming the file: outputs are
    replaced whole or not at all, so what was there before is intact), 130
    when interrupted with Ctrl-C (one line, as shells report SIGINT).
    """
    args = build_parser().parse_args(argv)
    try:
        _check_out(args)
        args.func(args)
    except CLIError as exc:
        print(f"skage {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"skage {args.command}: error: {_write_failure(exc, args)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        from tqdm import tqdm

        # tqdm.write: on a line of its own, not appended to a progress bar cut short
        tqdm.write(f"skage {args.command}: interrupted", file=sys.stderr)
        return 130
    return 0
