"""Expanding command-line inputs (files, folders, globs) without losing any."""

import glob
from pathlib import Path


def expand_inputs(items):
    """Files named on the command line, in order; folders give all their files (sorted).

    Every file of a folder is kept, images or not, so that a stray text file
    gets an error row instead of vanishing. A name that matches nothing is kept
    too (its row will say "file not found").
    """
    out = []
    for item in items:
        path = Path(item)
        if path.is_dir():
            out += sorted(str(p) for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        elif any(ch in item for ch in "*?[") and not path.exists():
            matches = sorted(glob.glob(item, recursive=True))
            out += matches if matches else [item]
        else:
            out.append(item)
    return out
