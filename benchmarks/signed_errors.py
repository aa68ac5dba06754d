"""Mean signed error per age bin (UTKFace test chips and FG-NET) of rows saved by cross_dataset.py --save-outputs.

    .venv/bin/python benchmarks/signed_errors.py .cache/xd/outputs/stacked_seed0.npz [...]
"""
import sys

import numpy as np


def main(paths):
    from skage.metrics import age_bin_indices, age_bin_labels

    labels = age_bin_labels()
    print("| row | set | " + " | ".join(labels) + " |")
    print("|---|---|" + "---:|" * len(labels))
    for path in paths:
        r = np.load(path)
        name = path.rsplit("/", 1)[-1].removesuffix(".npz")
        for which, y, p in (("UTKFace test", r["y_test"], r["pred_test"]), ("FG-NET", r["y_fgnet"], r["pred_fgnet"])):
            ok = np.isfinite(p)
            b = age_bin_indices(y[ok])
            cells = [f"{np.mean(p[ok][b == k] - y[ok][b == k]):+.2f} ({np.sum(b == k)})" if np.any(b == k) else "–"
                     for k in range(len(labels))]
            print(f"| {name} | {which} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
