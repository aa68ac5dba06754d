"""``skage predict --draw DIR``: one picture per input photo, its faces boxed and aged."""

import sys
from pathlib import Path

from ._common import CLIError, first_clash


def drawing_paths(folder, inputs):
    """The picture of each input: ``DIR/<name without extension>.jpg``, in input order; a name that
    comes again (the same name in two folders, ``a.png`` beside ``a.jpg``) gets ``-2``, ``-3``, ...

    The folder is created; refused, before any work, when it is a file or when a picture would
    replace one of the inputs (any spelling or link of it).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise CLIError(f"--draw {folder} is a file; give a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CLIError(f"--draw {folder}: cannot create the folder ({exc.strerror})") from None
    taken, paths = set(), []
    for item in inputs:
        stem = Path(item).stem or "photo"
        name, n = f"{stem}.jpg", 1
        while name.lower() in taken:  # lower: a case-insensitive file system would merge them
            n += 1
            name = f"{stem}-{n}.jpg"
        taken.add(name.lower())
        paths.append(folder / name)
    # Only a picture that exists already can be an input: the others need no resolving.
    clash = first_clash([path for path in paths if path.exists()], inputs)
    if clash is not None:
        raise CLIError(f"--draw {folder}: {clash[0]} is an input ({clash[1]}): drawing there would overwrite it; "
                       "give another folder")
    return paths


def draw_photos(table, paths):
    """Draw each photo of ``table`` (rows of ``iter_predict_faces``, indexed by input position) to its
    path; photos that could not be read have nothing to draw. Returns how many were drawn."""
    from tqdm import tqdm

    from ..io import ImageReadError
    from ..viz import draw_faces

    drawn = 0
    for position, faces in table.groupby(level=0, sort=False):
        if faces["flag"].iloc[0] in ("unreadable", "error"):
            continue
        try:
            draw_faces(faces["input"].iloc[0], faces, paths[position])
        except Exception as exc:  # e.g. the file changed since it was read, a full disk: the rows still count
            reason = exc if isinstance(exc, ImageReadError) else f"{type(exc).__name__}: {exc}"
            tqdm.write(f"note: {faces['input'].iloc[0]} not drawn: {reason}", file=sys.stderr)  # not into the bar
            continue
        drawn += 1
    return drawn
