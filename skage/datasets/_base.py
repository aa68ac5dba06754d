"""What every loader shares: finding images, reporting skipped files, building the result."""

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import Bunch

#: File extensions treated as images (compared case-insensitively).
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")

#: Oldest age accepted in a label (UTKFace's oldest face); larger values are label errors.
MAX_AGE = 116

#: Metadata columns present in every loader's result (NaN where a format lacks them).
STANDARD_COLUMNS = ("gender", "race", "subject_id")


class SkippedFileWarning(UserWarning):
    """A file was left out of a dataset because its name or label could not be parsed.

    Examples
    --------
    >>> import tempfile, warnings
    >>> from pathlib import Path
    >>> from skage.datasets import SkippedFileWarning, load_utkface
    >>> with tempfile.TemporaryDirectory() as folder, warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     for name in ("30_0_0_20170109.jpg", "holiday.jpg"):
    ...         (Path(folder) / name).touch()
    ...     faces = load_utkface(folder)
    >>> [w.category is SkippedFileWarning for w in caught], len(faces.X), faces.skipped[0][1]
    ([True], 1, "age 'holiday' is not a number")
    """


def check_folder(path):
    """Return ``path`` as a :class:`~pathlib.Path`, raising if it is not an existing folder."""
    folder = Path(path).expanduser()
    if not folder.exists():
        raise FileNotFoundError(f"dataset folder not found: {folder}")
    if not folder.is_dir():
        raise NotADirectoryError(f"dataset path is not a folder: {folder}")
    return folder


def find_images(folder):
    """All image files below ``folder``, sorted, so results do not depend on the file system order."""
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
    if not files:
        raise ValueError(f"no image files ({', '.join(IMAGE_EXTENSIONS)}) found in {folder}")
    return files


def parse_age(text):
    """Age in years from a label, or ``None`` with the reason when it is not a plausible age."""
    try:
        age = float(str(text).strip())
    except ValueError:
        return None, f"age {text!r} is not a number"
    if not np.isfinite(age) or age < 0 or age > MAX_AGE:
        return None, f"age {text!r} is outside 0..{MAX_AGE}"
    return age, None


class SkipLog:
    """Collects ``(file, reason)`` pairs and warns for each, so no file disappears silently."""

    def __init__(self):
        self.items = []

    def add(self, file, reason):
        self.items.append((str(file), reason))
        warnings.warn(f"skipped {file}: {reason}", SkippedFileWarning, stacklevel=4)


def make_dataset(name, folder, files, ages, metadata, skipped, description, n_seen):
    """Assemble the Bunch returned by every loader.

    ``metadata`` is a list of dicts aligned with ``files``; the standard columns
    are always present so that downstream code can rely on them.
    """
    if not files:
        shown = "; ".join(f"{f}: {r}" for f, r in skipped[:3])
        raise ValueError(f"none of the {n_seen} entries in {folder} could be used ({shown})")
    frame = pd.DataFrame(metadata, index=pd.RangeIndex(len(files)))
    for column in STANDARD_COLUMNS:
        if column not in frame:
            frame[column] = np.nan
    frame = frame[list(STANDARD_COLUMNS) + [c for c in frame.columns if c not in STANDARD_COLUMNS]]
    y = np.asarray(ages, dtype=float)
    descr = (
        f"{name} faces from {folder}\n"
        f"{len(files)} images, ages {y.min():g}-{y.max():g} (median {np.median(y):g}); "
        f"{len(skipped)} file(s) skipped (see `skipped`).\n{description}"
    )
    return Bunch(
        X=np.array([str(f) for f in files], dtype=object),
        y=y,
        metadata=frame,
        skipped=list(skipped),
        DESCR=descr,
        path=str(folder),
    )
