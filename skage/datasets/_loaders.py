"""Loaders for the public age-estimation sets: labels from file names, folder trees or CSV files."""

import re
from pathlib import Path

import numpy as np
import pandas as pd

from ._base import SkipLog, check_folder, find_images, make_dataset, parse_age

_UTK_GENDERS = {"0": "male", "1": "female"}
_UTK_RACES = {"0": "white", "1": "black", "2": "asian", "3": "indian", "4": "other"}
_AFAD_GENDERS = {"111": "male", "112": "female"}
_GENDER_LETTERS = {"m": "male", "f": "female", "male": "male", "female": "female", "0": "male", "1": "female"}
_MORPH_RACES = {"b": "black", "w": "white", "a": "asian", "h": "hispanic", "o": "other", "i": "indian"}
_FGNET_NAME = re.compile(r"^(\d+)A(\d+)[a-z]?$", re.IGNORECASE)
_MORPH_NAME = re.compile(r"^(\d+)_(\d+)([MF])(\d+)$", re.IGNORECASE)
_IMDB_SUBJECT = re.compile(r"(nm\d+)")

_RETURNS_DOC = """
    Returns
    -------
    data : :class:`sklearn.utils.Bunch`
        ``X`` : ndarray of str (object dtype), image paths; ``y`` : ndarray of
        float, ages in years; ``metadata`` : DataFrame aligned with ``X``, with
        at least the columns ``gender`` ("male"/"female"), ``race`` and
        ``subject_id`` (NaN where the format does not record them);
        ``skipped`` : list of ``(file, reason)`` for entries left out, each
        also announced by a :class:`SkippedFileWarning`; ``DESCR`` and ``path``.

    Raises
    ------
    FileNotFoundError
        If the folder (or CSV file) does not exist.
    ValueError
        If the folder holds no images or no entry could be parsed.
"""


def _first_field(name):
    """Name up to the first dot: UTKFace chips are called ``a_g_r_date.jpg.chip.jpg``."""
    return name.split(".", 1)[0]


def _from_file_names(name, path, labels, description="Labels parsed from file names."):
    """Dataset of the images under ``path`` labelled by ``labels(file, folder)``.

    ``labels`` returns ``(age, metadata row)`` for a file to keep, or a
    string: the reason it is skipped.
    """
    folder = check_folder(path)
    files = find_images(folder)
    log = SkipLog()
    kept, ages, meta = [], [], []
    for f in files:
        found = labels(f, folder)
        if isinstance(found, str):
            log.add(f, found)
            continue
        kept.append(f)
        ages.append(found[0])
        meta.append(found[1])
    return make_dataset(name, folder, kept, ages, meta, log.items, description, len(files))


def _utkface_labels(f, folder):
    fields = _first_field(f.name).split("_")
    age, reason = parse_age(fields[0])
    if age is None or len(fields) < 2:
        return reason or "name has no age_gender_race fields"
    row = {"gender": np.nan, "race": np.nan}
    if len(fields) >= 4:
        row = {"gender": _UTK_GENDERS.get(fields[1], np.nan), "race": _UTK_RACES.get(fields[2], np.nan)}
    return age, row


def _fgnet_labels(f, folder):
    match = _FGNET_NAME.match(f.stem)
    if not match:
        return "name does not match FG-NET's SSSAaa.JPG pattern"
    age, reason = parse_age(match.group(2))
    return reason if age is None else (age, {"subject_id": int(match.group(1))})


def _afad_labels(f, folder):
    parts = f.relative_to(folder).parts
    if len(parts) < 3:
        return "not inside an age/gender/ folder pair"
    age_dir, gender_dir = parts[-3], parts[-2]
    if gender_dir not in _AFAD_GENDERS:
        return f"gender folder {gender_dir!r} is neither 111 (male) nor 112 (female)"
    age, reason = parse_age(age_dir)
    return f"age folder: {reason}" if age is None else (age, {"gender": _AFAD_GENDERS[gender_dir]})


def _morph_labels(f, folder):
    match = _MORPH_NAME.match(f.stem)
    if not match:
        return "name does not match MORPH's SSSSSS_PPGaa.JPG pattern"
    age, reason = parse_age(match.group(4))
    if age is None:
        return reason
    return age, {"gender": _GENDER_LETTERS[match.group(3).lower()], "subject_id": int(match.group(1))}


def load_utkface(path):
    """Load UTKFace, labelled by file name ``age_gender_race_datetime.jpg[.chip.jpg]``.

    Gender is 0 male / 1 female, race 0 white, 1 black, 2 asian, 3 indian,
    4 other. A few real files miss a field (``61_1_2017...jpg.chip.jpg``);
    their age is still the first field, so they are kept, with NaN gender and
    race because which field is missing cannot be told. UTKFace has no person
    ids, so ``subject_id`` is NaN. Ages above 116 or not numbers are skipped.

    Parameters
    ----------
    path : str or path-like
        Folder of UTKFace images (searched recursively).
    {returns}
    Examples
    --------
    >>> from skage.datasets import load_utkface
    >>> faces = load_utkface("../shared/data/utkface")  # doctest: +SKIP
    >>> faces.X.shape, len(faces.skipped)  # doctest: +SKIP
    ((6419,), 0)
    """
    return _from_file_names("UTKFace", path, _utkface_labels)


def load_fgnet(path):
    """Load FG-NET, labelled by file name ``SSSAaa[x].JPG`` (subject SSS at age aa).

    ``001A02.JPG`` is subject 1 at age 2; a trailing letter (``001A43a.JPG``)
    marks a second photo at the same age. Use ``metadata.subject_id`` for
    person-disjoint splits (e.g. leave-one-person-out).

    Parameters
    ----------
    path : str or path-like
        Folder of FG-NET images (searched recursively).
    {returns}
    Examples
    --------
    >>> from skage.datasets import load_fgnet
    >>> fgnet = load_fgnet("FGNET/images")  # doctest: +SKIP
    >>> fgnet.metadata.subject_id.nunique()  # doctest: +SKIP
    82
    """
    return _from_file_names("FG-NET", path, _fgnet_labels)


def load_afad(path):
    """Load AFAD from its ``age/gender/*.jpg`` tree (gender folder 111 male, 112 female).

    Parameters
    ----------
    path : str or path-like
        The root holding the age folders (e.g. ``AFAD-Full``).
    {returns}
    Examples
    --------
    >>> from skage.datasets import load_afad
    >>> afad = load_afad("AFAD-Full")  # doctest: +SKIP
    """
    return _from_file_names("AFAD", path, _afad_labels, "Labels from the age/gender folders.")


# --- CSV-labelled sets -------------------------------------------------------------------------

#: Column names accepted by the CSV loaders (first match wins, compared case-insensitively).
FILE_COLUMNS = ("file", "filename", "file_name", "path", "image", "image_path", "img", "photo")
AGE_COLUMNS = ("age", "real_age", "apparent_age", "label")
SUBJECT_COLUMNS = ("subject_id", "subject", "person_id", "person", "identity", "id_num")
GENDER_COLUMNS = ("gender", "sex")
RACE_COLUMNS = ("race", "ethnicity")


def _resolve_csv(folder, csv):
    csv_path = Path(csv).expanduser()
    if not csv_path.is_file() and (folder / csv_path).is_file():
        csv_path = folder / csv_path
    if not csv_path.is_file():
        raise FileNotFoundError(f"label CSV not found: {csv} (also looked in {folder})")
    return csv_path


def _pick(frame, candidates, what, csv_path, required=True):
    lower = {str(c).strip().lower(): c for c in frame.columns}
    for name in candidates:
        if name in lower:
            return lower[name]
    if required:
        raise ValueError(
            f"{csv_path} has no {what} column: expected one of {', '.join(candidates)}; "
            f"found {', '.join(map(str, frame.columns))}"
        )
    return None


def _normalise(value, table):
    if pd.isna(value):
        return np.nan
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # pandas reads a 0/1 column with gaps as floats
    return table.get(str(value).strip().lower(), np.nan)


def _from_csv(name, folder, csv, subject_from_name=None, races=None, description=""):
    folder = check_folder(folder)
    csv_path = _resolve_csv(folder, csv)
    try:
        frame = pd.read_csv(csv_path)
    except pd.errors.EmptyDataError:  # pandas' own message ("No columns to parse from file") names no file
        raise ValueError(f"label CSV {csv_path} is empty: expected a header row (e.g. file,age) and one row "
                         "per image") from None
    except UnicodeDecodeError as exc:
        raise ValueError(f"label CSV {csv_path} is not UTF-8 text (it holds the byte "
                         f"{exc.object[exc.start]:#04x}); save it as UTF-8") from None
    except pd.errors.ParserError as exc:
        raise ValueError(f"label CSV {csv_path} cannot be parsed: {exc}") from None
    if frame.empty:
        raise ValueError(f"label CSV {csv_path} has no rows")
    file_col = _pick(frame, FILE_COLUMNS, "file", csv_path)
    age_col = _pick(frame, AGE_COLUMNS, "age", csv_path)
    subject_col = _pick(frame, SUBJECT_COLUMNS, "subject", csv_path, required=False)
    gender_col = _pick(frame, GENDER_COLUMNS, "gender", csv_path, required=False)
    race_col = _pick(frame, RACE_COLUMNS, "race", csv_path, required=False)
    used = {file_col, age_col, subject_col, gender_col, race_col}
    extras = [c for c in frame.columns if c not in used]

    log = SkipLog()
    kept, ages, meta = [], [], []
    for i, row in enumerate(frame.to_dict("records")):
        raw = row[file_col]
        if pd.isna(raw) or not str(raw).strip():
            log.add(f"{csv_path} row {i + 2}", "empty file name")
            continue
        file = Path(str(raw).strip())
        file = file if file.is_absolute() else folder / file
        age, reason = parse_age(row[age_col])
        if age is None:
            log.add(file, f"{csv_path.name} row {i + 2}: {reason}")
            continue
        if not file.is_file():
            log.add(file, f"{csv_path.name} row {i + 2}: file not found")
            continue
        entry = {c: row[c] for c in extras}
        entry["gender"] = _normalise(row[gender_col], _GENDER_LETTERS) if gender_col is not None else np.nan
        if race_col is not None:
            entry["race"] = _normalise(row[race_col], races) if races else row[race_col]
        if subject_col is not None and not pd.isna(row[subject_col]):
            entry["subject_id"] = row[subject_col]
        elif subject_from_name is not None:
            entry["subject_id"] = subject_from_name(file)
        kept.append(file)
        ages.append(age)
        meta.append(entry)
    return make_dataset(name, folder, kept, ages, meta, log.items, description, len(frame))


def _morph_subject(file):
    match = _MORPH_NAME.match(file.stem)
    return int(match.group(1)) if match else np.nan


def load_morph(path, csv=None):
    """Load MORPH (Album 2), from its CSV or, without one, from file names.

    MORPH names read ``SSSSSS_PPGaa.JPG``: subject, photo number, gender
    letter, age (``003274_00M17.JPG``). The academic CSV (columns ``id_num``,
    ``gender``, ``race``, ``age``, ``photo`` ...) is read with the same column
    rules as :func:`load_folder`; race letters B, W, A, H, O, I become words.

    Parameters
    ----------
    path : str or path-like
        Folder the CSV's file paths are relative to (or of the images).
    csv : str or path-like, optional
        Label CSV, absolute or relative to the working directory or ``path``.
    {returns}
    Examples
    --------
    >>> from skage.datasets import load_morph
    >>> morph = load_morph("MORPH", "morph_2008_nonCommercial.csv")  # doctest: +SKIP
    """
    if csv is not None:
        return _from_csv("MORPH", path, csv, subject_from_name=_morph_subject, races=_MORPH_RACES,
                         description="Labels from a CSV; subject ids from id_num or the file names.")
    return _from_file_names("MORPH", path, _morph_labels)


def _imdb_subject(file):
    match = _IMDB_SUBJECT.search(file.name)
    return match.group(1) if match else np.nan


def load_imdb_clean(path, csv):
    """Load IMDB-Clean from one of its CSV splits (``filename``, ``age``, ``gender``, box columns).

    Face boxes and head pose (``x_min`` ... ``head_pitch``) are kept in
    ``metadata``; the IMDb person id (``nm0000100``) in the file name becomes
    ``subject_id``.

    Parameters
    ----------
    path : str or path-like
        The image root the CSV's ``filename`` column is relative to.
    csv : str or path-like
        e.g. ``imdb_train_new_1024.csv``, absolute or relative to ``path``.
    {returns}
    Examples
    --------
    >>> from skage.datasets import load_imdb_clean
    >>> imdb = load_imdb_clean("imdb-clean-1024", "csvs/imdb_valid_new_1024.csv")  # doctest: +SKIP
    """
    return _from_csv("IMDB-Clean", path, csv, subject_from_name=_imdb_subject,
                     description="Labels from a CSV; subject ids are the IMDb nm-ids in the file names.")


def load_folder(path, csv):
    """Load any folder of images labelled by a CSV file.

    The CSV needs a file column, named one of ``file``, ``filename``,
    ``file_name``, ``path``, ``image``, ``image_path``, ``img``, ``photo``
    (relative to ``path`` or absolute), and an age column, named one of
    ``age``, ``real_age``, ``apparent_age``, ``label``. Optional columns:
    subject (``subject_id``, ``subject``, ``person_id``, ``person``,
    ``identity``, ``id_num``), gender (``gender``, ``sex``; M/F, male/female
    or 0/1 for male/female) and race (``race``, ``ethnicity``, kept as is).
    Names are matched case-insensitively; every other column is copied into
    ``metadata``. Rows whose age is not a plausible number or whose file is
    missing are skipped and reported.

    Parameters
    ----------
    path : str or path-like
        Image folder.
    csv : str or path-like
        Label CSV, absolute or relative to the working directory or ``path``.
    {returns}
    Examples
    --------
    >>> from skage.datasets import load_folder
    >>> data = load_folder("my_faces", "labels.csv")  # doctest: +SKIP
    """
    return _from_csv("Folder", path, csv, description="Labels from a CSV file.")


for _loader in (load_utkface, load_fgnet, load_afad, load_morph, load_imdb_clean, load_folder):
    _loader.__doc__ = _loader.__doc__.replace("    {returns}\n", _RETURNS_DOC + "\n")
