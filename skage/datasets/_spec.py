"""``KIND:PATH[:CSV]`` strings, so that command lines can name any supported dataset."""

from pathlib import Path

from ._loaders import load_afad, load_fgnet, load_folder, load_imdb_clean, load_morph, load_utkface

#: Dataset kinds understood by :func:`load_dataset`, with whether a CSV is required (True),
#: optional (None) or not used (False).
DATASET_KINDS = {
    "utkface": (load_utkface, False),
    "fgnet": (load_fgnet, False),
    "afad": (load_afad, False),
    "morph": (load_morph, None),
    "imdb-clean": (load_imdb_clean, True),
    "folder": (load_folder, True),
}


def parse_dataset_spec(spec):
    """Split ``"KIND:PATH[:CSV]"`` into ``(kind, path, csv)``; ``csv`` is None when absent.

    Examples
    --------
    >>> from skage.datasets import parse_dataset_spec
    >>> parse_dataset_spec("folder:faces:labels.csv")
    ('folder', 'faces', 'labels.csv')
    """
    kinds = ", ".join(DATASET_KINDS)
    if not isinstance(spec, str) or ":" not in spec:
        raise ValueError(f"dataset spec must look like KIND:PATH[:CSV] with KIND one of {kinds}; got {spec!r}")
    kind, rest = spec.split(":", 1)
    kind = kind.strip().lower().replace("_", "-")
    if kind not in DATASET_KINDS:
        raise ValueError(f"unknown dataset kind {kind!r} in {spec!r}; expected one of {kinds}")
    path, csv = rest, None
    if ":" in rest:
        path, csv = rest.rsplit(":", 1)
    if not path:
        raise ValueError(f"dataset spec {spec!r} has no PATH; expected {kind}:PATH")
    return kind, path, csv or None


def load_dataset(spec):
    """Load a dataset named by a ``KIND:PATH[:CSV]`` string.

    Parameters
    ----------
    spec : str
        ``utkface:PATH``, ``fgnet:PATH``, ``afad:PATH``, ``morph:PATH[:CSV]``,
        ``imdb-clean:PATH:CSV`` or ``folder:PATH:CSV``. PATH is the image
        folder; CSV the label file (relative to the working directory or PATH).

    Returns
    -------
    data : :class:`sklearn.utils.Bunch`
        As returned by the matching ``load_*`` function.

    Raises
    ------
    ValueError
        For a malformed spec, an unknown KIND or a missing required CSV.
    FileNotFoundError
        If PATH or CSV does not exist.

    Examples
    --------
    >>> from skage.datasets import load_dataset
    >>> faces = load_dataset("utkface:../shared/data/utkface")  # doctest: +SKIP
    """
    kind, path, csv = parse_dataset_spec(spec)
    loader, needs_csv = DATASET_KINDS[kind]
    if not Path(path).expanduser().exists():
        raise FileNotFoundError(f"dataset folder not found: {path} (from {spec!r})")
    if needs_csv and csv is None:
        raise ValueError(f"{kind} needs a label CSV: use {kind}:{path}:CSV")
    if needs_csv is False:
        if csv is not None:
            raise ValueError(f"{kind} takes labels from its file names; drop the ':{csv}' part of {spec!r}")
        return loader(path)
    return loader(path, csv)
