"""The raw pretrained pipeline (``load_model("pretrained")``, dlib's CC0 age network): MAE and speed.

Nothing is trained: every figure is the network as Cydral trained it, on
skage's alignment (dlib's 64-px chips, padding 0.2, 5 landmarks). Data sets:
the first ``--n-utkface`` UTKFace chips sorted by file name, and every photo
of FG-NET (``annotations.csv``). MAE is given for gray and colour photos
apart (gray: a single channel, or three equal channels) and for children
(0-9) apart. Speed: alignment (dlib detection cascade, 5 landmarks, chip)
and the network (PyTorch, float32), in wall seconds and in CPU seconds of
this process (``time.process_time``, all threads), which do not depend on
what else runs on a shared machine.

Run::

    python benchmarks/pretrained.py --utkface ../shared/data/utkface --fgnet ../shared/data/fgnet --threads 1
"""

import argparse
import datetime
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from skage.pipeline import load_model  # noqa: E402


def is_gray(path):
    """A single-channel photo, or one whose three channels are equal."""
    with Image.open(path) as image:
        if image.mode in ("1", "L", "LA", "I", "I;16", "F"):
            return True
        pixels = np.asarray(image.convert("RGB"))
    return bool((pixels[..., 0] == pixels[..., 1]).all() and (pixels[..., 1] == pixels[..., 2]).all())


def measure(name, files, ages, model):
    aligner, regressor = model.named_steps["align"], model.named_steps["model"]
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = aligner.align(files)
    wall1, cpu1 = time.perf_counter(), time.process_time()
    predicted = regressor.predict(result.chips)
    wall2, cpu2 = time.perf_counter(), time.process_time()
    table = pd.DataFrame({"file": [Path(f).name for f in files], "age": ages, "predicted": predicted,
                          "flag": result.flags, "gray": [is_gray(f) for f in files]})
    table["error"] = table["predicted"] - table["age"]
    n = len(files)
    speed = (f"{name}: {n} images; alignment {1000 * (cpu1 - cpu0) / n:.1f} CPU ms / image "
             f"({n / (wall1 - wall0):.1f} img/s wall), network {1000 * (cpu2 - cpu1) / n:.2f} CPU ms / chip "
             f"({n / (wall2 - wall1):.0f} chips/s wall); whole pipeline {n / (wall2 - wall0):.1f} img/s wall; "
             f"flags {table['flag'].value_counts().to_dict()}")
    gray, child = table["gray"], table["age"] <= 9
    subsets = [("all", table["age"] >= 0), ("colour", ~gray), ("gray", gray), ("age 0-9", child),
               ("age >= 10", ~child), ("colour, 0-9", ~gray & child), ("gray, 0-9", gray & child),
               ("colour, >= 10", ~gray & ~child), ("gray, >= 10", gray & ~child),
               ("age > 80 (past its last class)", table["age"] > 80)]
    rows = []
    for label, mask in subsets:
        part = table[mask & table["predicted"].notna()]
        if len(part):
            rows.append({"subset": label, "n": len(part), "MAE": round(part["error"].abs().mean(), 2),
                         "mean error (predicted - true)": round(part["error"].mean(), 2)})
    return speed, pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--utkface", type=Path)
    parser.add_argument("--n-utkface", type=int, default=1000)
    parser.add_argument("--fgnet", type=Path)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "pretrained_cpu.md")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    model = load_model("pretrained")
    sets = []
    if args.utkface:
        files = sorted(args.utkface.glob("*.jpg"))[:args.n_utkface]
        sets.append((f"UTKFace, first {len(files)} files by name", [str(f) for f in files],
                     np.array([float(f.name.split("_")[0]) for f in files])))
    if args.fgnet:
        labels = pd.read_csv(args.fgnet / "annotations.csv")
        sets.append((f"FG-NET, all {len(labels)} photos", [str(args.fgnet / f) for f in labels["filename"]],
                     labels["age"].to_numpy(float)))
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = ["# The raw pretrained pipeline: dlib's CC0 age network (Cydral), no training", "",
             f"Command ({stamp}, {torch.get_num_threads()} torch thread(s), shared 2-core x86-64 CPU):", "",
             "```bash", "python " + " ".join(sys.argv), "```", ""]
    for name, files, ages in sets:
        speed, table = measure(name, files, ages, model)
        print(speed)
        print(table.to_string(index=False))
        lines += [f"## {name}", "", speed, "", table.to_markdown(index=False), ""]
    args.out.write_text("\n".join(lines))
    print(f"written to {args.out}")


if __name__ == "__main__":
    main()
