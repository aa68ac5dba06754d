"""Align UTKFace chips, parse them into face regions and save a PNG grid.

Reads ``--n`` chips spread over all ages in place from
``../shared/data/utkface`` (or ``$SKAGE_UTKFACE``, or ``--data``); images are
never copied. Each panel shows the aligned chip with its region masks from
:class:`skage.parsing.FaceParser`, titled with the age and the alignment and
landmark flags.

Usage::

    python examples/plot_face_regions.py [OUT_PNG] [--n 12] [--size 224] [--data FOLDER]

OUT_PNG defaults to /tmp/skage_face_regions.png.
"""

import argparse
import os
from pathlib import Path

import numpy as np

from skage.alignment import FaceAligner
from skage.parsing import FaceParser
from skage.viz import plot_region_grid

REPO = Path(__file__).resolve().parents[1]


def find_data(folder):
    for candidate in (folder, os.environ.get("SKAGE_UTKFACE"), REPO.parent / "shared" / "data" / "utkface"):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise SystemExit("UTKFace chips not found: pass --data or set SKAGE_UTKFACE")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", default="/tmp/skage_face_regions.png")
    parser.add_argument("--n", type=int, default=12)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--data", default=None)
    args = parser.parse_args(argv)

    files = sorted(find_data(args.data).glob("*.jpg"))
    paths = [files[i] for i in np.linspace(0, len(files) - 1, args.n).astype(int)]
    aligner = FaceAligner(output_size=args.size).fit()
    aligned = aligner.align(paths)
    chips = aligned.chips
    face_parser = FaceParser().fit(chips)
    parsed = face_parser.transform(chips)
    titles = [
        f"age {p.name.split('_')[0]}: {a}/{b}"
        for p, a, b in zip(paths, aligned.flags, face_parser.parse(chips).flags)
    ]
    plot_region_grid(parsed, args.out, ncols=4, titles=titles)
    print(f"wrote {args.out} ({len(paths)} faces)")


if __name__ == "__main__":
    main()
