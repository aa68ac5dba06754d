"""The post-hoc figures of the bias-correction section, from the outputs ``dlib_backbone.py ensemble`` saves.

Two modes (results: ``benchmarks/results/dlib_backbone_cpu.md``, "Undoing the pull toward the middle"):

``--choose``, on runs without the correction (``--save-outputs`` of plain ensemble runs): how the strength
    was chosen. A line (or an isotonic curve) of prediction on age, every age bin weighing the same, is
    fitted on one half of the test faces and applied to the other half, both ways, over 5 random halvings;
    MAE, CMAE, bias and Acc@5 per strength.
``--variants``, on runs with ``--bias-correction``: what else was tried on the same saved outputs. Other
    shapes of the held-out relation instead of the line (a quadratic, a cubic, lines broken at 20/40/60,
    15/30/60 or 30/60 years: inverted numerically), fitted on the held-out faces as ``AgeBiasCorrector``
    does and applied to the test predictions at strength 0.5; and the members' ages clipped at 0 before
    the vote (what ``KNNAgeRefiner`` does since 2026-11-29; the runs saved before it had negative ages).
default, on runs with ``--bias-correction``: the ensemble at strength 0, 0.5 and 1 from the saved held-out
    line: per-bin MAE and signed error, the bias's bootstrap 95% interval (500 resamples of the test faces),
    and the race and gender gaps (per-group CMAE, and on the age bins every group fills:
    ``fairness.common_bin_gap``).

Run::

    python benchmarks/bias_correction_outputs.py --choose .cache/ens/seed0.npz .cache/ens/seed1.npz .cache/ens/seed2.npz
    python benchmarks/bias_correction_outputs.py .cache/bc/seed3.npz .cache/bc/seed0.npz .cache/bc/seed2.npz
    python benchmarks/bias_correction_outputs.py --variants .cache/bc/seed3.npz .cache/bc/seed0.npz .cache/bc/seed2.npz .cache/bc/seed4.npz
"""

import argparse
from pathlib import Path

import numpy as np
from sklearn.isotonic import IsotonicRegression

from skage.metrics import acc_at_k, age_bin_indices, bias_score, cmae_score, per_bin_mae
from skage.refine._debias import _bin_balanced_line, _bin_balanced_weights, _undo_pull

STRENGTHS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _correction(kind, ages, pred):
    """Map from a prediction to the age it stands for, fitted on (ages, pred)."""
    if kind == "line":
        slope, intercept = _bin_balanced_line(ages, pred, None)  # AgeBiasCorrector's own fit
        return lambda p: (p - intercept) / slope
    curve = IsotonicRegression(out_of_bounds="clip").fit(ages, pred, sample_weight=_bin_balanced_weights(ages))
    grid = np.arange(0, 117, 0.5)
    rising = np.maximum.accumulate(curve.predict(grid) + grid * 1e-6)  # strictly increasing, so invertible
    return lambda p: np.interp(p, rising, grid)


_GRID = np.arange(0, 117, 0.25)
_SHAPES = {"quadratic": (2, ()), "cubic": (3, ()), "broken at 20/40/60": (1, (20, 40, 60)),
           "broken at 15/30/60": (1, (15, 30, 60)), "broken at 30/60": (1, (30, 60))}


def _shaped_correction(shape, ages, pred):
    """Like ``_correction`` for another shape of prediction on age: a polynomial or a broken line."""
    degree, knots = _SHAPES[shape]

    def basis(x):
        return np.stack([x ** d for d in range(degree + 1)] + [np.maximum(x - k, 0) for k in knots], axis=1)

    root = np.sqrt(_bin_balanced_weights(ages))
    coef, *_ = np.linalg.lstsq(basis(ages) * root[:, None], pred * root, rcond=None)
    rising = np.maximum.accumulate(basis(_GRID) @ coef + _GRID * 1e-6)  # invertible where it turns down
    return lambda p: np.interp(p, rising, _GRID)


def variants(paths):
    runs = [(Path(path).stem, np.load(path, allow_pickle=True)) for path in paths]

    def row(title, predict):
        cells = []
        for stem, saved in runs:
            mae, cmae, bias, acc = _scores(saved["ages"].astype(float), predict(saved))
            cells.append(f"{stem}: MAE {mae:.2f} CMAE {cmae:.2f} bias {bias:.2f} Acc@5 {100 * acc:.1f}%")
        print(f"{title} | " + " | ".join(cells))

    def corrected(unpull, pred, strength=0.5):
        return np.maximum(pred + strength * (unpull(pred) - pred), 0.0)

    row("line 0.5 (AgeBiasCorrector)", lambda s: _undo_pull(s["members"].mean(axis=1), *s["line"], 0.5))
    for shape in _SHAPES:
        row(f"{shape} 0.5", lambda s, shape=shape: corrected(
            _shaped_correction(shape, s["cv_ages"], s["cv_predictions"]), s["members"].mean(axis=1)))
    for member in (0, 1):
        row(f"{runs[0][1]['names'][member]} member as saved", lambda s, m=member: s["members"][:, m])
        row(f"{runs[0][1]['names'][member]} member clipped at 0", lambda s, m=member: np.maximum(s["members"][:, m], 0))
    row("uncorrected mean as saved", lambda s: s["members"].mean(axis=1))
    row("uncorrected mean of members clipped at 0", lambda s: np.maximum(s["members"], 0).mean(axis=1))
    row("line 0.5 on members clipped at 0", lambda s: _undo_pull(np.maximum(s["members"], 0).mean(axis=1),
                                                                 *s["line"], 0.5))


def _scores(ages, pred):
    return np.array([np.mean(np.abs(pred - ages)), cmae_score(ages, pred), bias_score(ages, pred),
                     acc_at_k(ages, pred)])


def choose(paths):
    for kind in ("line", "isotonic"):
        for strength in STRENGTHS:
            cells = []
            for path in paths:
                saved = np.load(path, allow_pickle=True)
                ages, pred = saved["ages"].astype(float), saved["members"].mean(axis=1)
                runs = []
                for rep in range(5):
                    order = np.random.default_rng(rep).permutation(len(ages))
                    halves = (order[:len(ages) // 2], order[len(ages) // 2:])
                    out = np.empty_like(pred)
                    for fit_on, apply_to in (halves, halves[::-1]):
                        unpull = _correction(kind, ages[fit_on], pred[fit_on])
                        p = pred[apply_to]
                        out[apply_to] = p + strength * (unpull(p) - p)
                    runs.append(_scores(ages, out))
                mae, cmae, bias, acc = np.mean(runs, axis=0)
                cells.append(f"{Path(path).stem}: MAE {mae:.2f} CMAE {cmae:.2f} bias {bias:.2f} Acc@5 {100 * acc:.1f}%")
            print(f"{kind} {strength:g} | " + " | ".join(cells))


def corrected(paths, n_boot=500):
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from fairness import common_bin_gap, group_cmae  # benchmarks/fairness.py

    from skage.datasets import load_utkface

    meta = None
    for path in paths:
        saved = np.load(path, allow_pickle=True)
        ages, pred = saved["ages"].astype(float), saved["members"].mean(axis=1)
        slope, intercept = saved["line"]
        if meta is None:
            faces = load_utkface(Path(str(saved["paths"][0])).parent)
            row = {str(p): i for i, p in enumerate(faces.X)}
            meta = {g: faces.metadata[g].to_numpy(dtype=object) for g in ("race", "gender")}
        rows = np.array([row[str(p)] for p in saved["paths"]])
        print(f"{path}: held-out line prediction = {slope:.3f} * age + {intercept:.2f} "
              f"({len(saved['cv_ages'])} faces)")
        boot = np.random.default_rng(0).integers(0, len(ages), size=(n_boot, len(ages)))
        for strength in (0.0, 0.5, 1.0):
            p = _undo_pull(pred, slope, intercept, strength)
            mae, cmae, bias, acc = _scores(ages, p)
            low, high = np.percentile([bias_score(ages[b], p[b]) for b in boot], [2.5, 97.5])
            bins = age_bin_indices(ages)
            signed = [np.mean((p - ages)[bins == b]) for b in np.unique(bins)]
            gaps = []
            for group in ("race", "gender"):
                labels = meta[group][rows]
                per_group = group_cmae(ages, p, labels)
                gaps.append(f"{group} {max(per_group.values()) - min(per_group.values()):.2f} "
                            f"(common bins {common_bin_gap(ages, p, labels)[0]:.2f})")
            print(f"  strength {strength:g}: MAE {mae:.2f} CMAE {cmae:.2f} Acc@5 {100 * acc:.1f}% bias {bias:.2f} "
                  f"[{low:.2f}-{high:.2f}] | " + " | ".join(gaps))
            print("    per-bin MAE " + " ".join(f"{v:.2f}" for v in per_bin_mae(ages, p)["mae"])
                  + " | signed " + " ".join(f"{v:+.1f}" for v in signed))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("outputs", nargs="+", help=".npz files saved by dlib_backbone.py ensemble --save-outputs")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--choose", action="store_true", help="cross-fit strengths on uncorrected runs' test outputs")
    mode.add_argument("--variants", action="store_true", help="other correction shapes; members clipped at 0")
    args = parser.parse_args(argv)
    if args.choose:
        choose(args.outputs)
    elif args.variants:
        variants(args.outputs)
    else:
        corrected(args.outputs)


if __name__ == "__main__":
    main()
