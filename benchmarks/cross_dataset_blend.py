"""Averaging two rows of ``cross_dataset.py``: how much weight the CC0 age network deserves.

Reads the saved outputs of two rows (``--save-outputs`` of ``cross_dataset.py``, the same seed)
and scores ``w * A + (1 - w) * B``, with the weight ``w`` chosen without looking at the faces it
is scored on:

- FG-NET: its people in 5 folds; each fold's ``w`` minimises the MAE on the other folds' photos
  (cross-fitting), and the pooled predictions are scored (overall, gray, colour, children);
- UTKFace test split: with the median of those five weights (chosen on FG-NET only), and with the
  weight chosen on a random half of the test faces, scored on the other half (and vice versa).

Run::

    .venv/bin/python benchmarks/cross_dataset_blend.py .cache/xd/outputs/descriptor_degraded_seed0.npz \\
        .cache/xd/outputs/age_network_seed0.npz
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

WEIGHTS = np.round(np.arange(0, 1.0001, 0.05), 2)


def best_weight(y, a, b):
    maes = [np.nanmean(np.abs(w * a + (1 - w) * b - y)) for w in WEIGHTS]
    return float(WEIGHTS[int(np.argmin(maes))])


def main(argv=None):
    from sklearn.model_selection import GroupKFold

    from cross_dataset import _finite, fgnet_figures
    from skage.metrics import age_report as _report

    def age_report(y, pred):  # photos without a face have no age, in either row: scored as cross_dataset.py does
        return _report(*_finite(y, pred)[:2])

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    A, B = np.load(args.a, allow_pickle=True), np.load(args.b, allow_pickle=True)
    assert np.array_equal(A["test_idx"], B["test_idx"]), "the two rows were run on different splits"
    y_fg, gray, subject = A["y_fgnet"], A["gray"], A["subject"]
    pred = np.full(len(y_fg), np.nan)
    chosen = []
    for tr, te in GroupKFold(n_splits=5, shuffle=True, random_state=args.seed).split(y_fg, groups=subject):
        w = best_weight(y_fg[tr], A["pred_fgnet"][tr], B["pred_fgnet"][tr])
        chosen.append(w)
        pred[te] = w * A["pred_fgnet"][te] + (1 - w) * B["pred_fgnet"][te]
    fg = fgnet_figures(y_fg, pred, gray)
    print(f"FG-NET, weight of {Path(args.a).stem} chosen per person fold on the other folds: {chosen}")
    print("  " + ", ".join(f"{k} {v:.2f}" for k, v in fg.items() if isinstance(v, float)))
    y, a, b = A["y_test"], A["pred_test"], B["pred_test"]
    w = float(np.median(chosen))
    r = age_report(y, w * a + (1 - w) * b)
    print(f"UTKFace test, w = {w} (FG-NET's median): MAE {r.mae:.2f} CMAE {r.cmae:.2f} Acc@5 {100 * r.acc:.1f}% "
          f"bias {r.bias:.2f}")
    half = np.random.default_rng(args.seed).permutation(len(y)) < len(y) // 2
    pred_utk = np.empty(len(y))
    ws = []
    for fit_on in (half, ~half):
        w_half = best_weight(y[fit_on], a[fit_on], b[fit_on])
        ws.append(w_half)
        pred_utk[~fit_on] = w_half * a[~fit_on] + (1 - w_half) * b[~fit_on]
    r = age_report(y, pred_utk)
    print(f"UTKFace test, w chosen on the other half {ws}: MAE {r.mae:.2f} CMAE {r.cmae:.2f} "
          f"Acc@5 {100 * r.acc:.1f}% bias {r.bias:.2f}")
    for name, p in (("A alone", a), ("B alone", b)):
        r = age_report(y, p)
        print(f"UTKFace test, {name}: MAE {r.mae:.2f} CMAE {r.cmae:.2f} Acc@5 {100 * r.acc:.1f}% bias {r.bias:.2f}")


if __name__ == "__main__":
    main()
