"""Expanding command-line inputs (files, folders, globs) without losing any."""

import glob
from pathlib import Path


def expand_inputs(items):
    """Files named on the command line, in order; folders give all their files (sorted).

    Every file of a folder is kept, images or not, so that a stray text file
    gets an error row instead of vanishing; so are broken symbolic links
    (dangling, or in a loop) and links to folders, which are not followed
    (a link to a parent folder would recurse forever), and special files such
    as FIFOs, which are never read (they would block): each gets an error row.
    Hidden names (starting with ``.``) are skipped. A name that matches
    nothing is kept too (its row will say "file not found").

    Parameters
    ----------
    items : list of str
        Files, folders and glob patterns, as typed.

    Returns
    -------
    files : list of str
        One entry per row-to-be, in order.
    empty : list of str
        The folders among ``items`` that gave no entry, for a note: an empty
        folder among other inputs would otherwise pass unnoticed.
    """
    out, empty = [], []
    for item in items:
        path = Path(item)
        if path.is_dir():
            found = _folder_entries(path)
            out += found
            if not found:
                empty.append(item)
        elif any(ch in item for ch in "*?[") and not path.exists():
            matches = sorted(glob.glob(item, recursive=True))
            out += matches if matches else [item]
        else:
            out.append(item)
    return out, empty


def _folder_entries(folder):
    # rglob descends into real folders only (not into links to folders) and lists broken links; all but
    # those real folders is an entry: files, links to folders, broken links, FIFOs and other special files.
    return sorted(str(p) for p in folder.rglob("*")
                  if not p.name.startswith(".") and not (p.is_dir() and not p.is_symlink()))
