"""Issue 33, step 3: combiners over the members' out-of-fold ages (stack_explore.py --folds 5 --save F).

    .venv/bin/python benchmarks/stack_combine.py /tmp/s0_oof.npz
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from stack_explore import L, fg_report, photo_kind, report  # noqa: E402

NAMES = ("age_top", "face_top", "pretrained")


def bin_weights(y):
    from skage.metrics import age_bin_indices
    b = age_bin_indices(y)
    c = np.bincount(b)
    return len(y) / (np.count_nonzero(c) * c[b])


def main(path):
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.linear_model import LinearRegression
    r = np.load(path)
    y = np.asarray(L("utk_y"), float); n = len(y)
    yy = np.r_[y, y]
    found = np.asarray(L("utk_found"))
    fg_y, gray = np.asarray(L("fg_y"), float), np.asarray(L("fg_gray"))
    kind = np.concatenate([photo_kind(L("utk_orig_c150")), photo_kind(L("utk_deg_c150"))])
    fg_kind = photo_kind(L("fg_orig_c150"))
    tr, te = r["tr"], r["te"]
    rows = np.r_[tr, tr + n]
    oof = np.column_stack([r[f"oof_{k}"][rows] for k in NAMES])
    test = np.column_stack([r[f"test_{k}"] for k in NAMES])
    fg = np.column_stack([r[f"fg_{k}"] for k in NAMES])
    ok = np.isfinite(oof).all(1)
    print("OOF members on train originals / copies:")
    for j, k in enumerate(NAMES):
        report("  oof " + k, yy[rows][:len(tr)], oof[:len(tr), j])
        report("  oof deg " + k, yy[rows][len(tr):], oof[len(tr):, j])

    def feats(a, kd, cols):
        out = [a[:, cols]]
        out.append(a[:, cols].std(1, keepdims=True))
        return np.column_stack(out + [kd])

    ytr = yy[rows]
    kd_tr = kind[rows]
    combos = {
        "mean3": None,
        "linear": ("lin", [0, 1, 2], False, False),
        "hgb ages": ("hgb", [0, 1, 2], False, False),
        "hgb ages+kind": ("hgb", [0, 1, 2], True, False),
        "hgb ages+kind bal": ("hgb", [0, 1, 2], True, True),
        "hgb ages+kind bal orig-only": ("hgb", [0, 1, 2], True, True, "orig"),
        "hgb face+pre+kind bal": ("hgb", [1, 2], True, True),
    }
    for name, spec in combos.items():
        if spec is None:
            pt, pf = test.mean(1), fg.mean(1)
        else:
            kindf, cols, use_kind, bal = spec[0], spec[1], spec[2], spec[3]
            sel = ok.copy()
            if len(spec) > 4:
                sel[len(tr):] = False
            Z = feats(oof, kd_tr, cols) if use_kind else oof[:, cols]
            Zt = feats(test, kind[te], cols) if use_kind else test[:, cols]
            Zf = feats(fg, fg_kind, cols) if use_kind else fg[:, cols]
            w = bin_weights(ytr[sel]) if bal else None
            if kindf == "lin":
                m = LinearRegression().fit(Z[sel], ytr[sel], sample_weight=w)
                print("   weights", m.coef_.round(3), round(m.intercept_, 2))
            else:
                m = HistGradientBoostingRegressor(loss="absolute_error", max_iter=300, learning_rate=0.05,
                                                  max_leaf_nodes=15, min_samples_leaf=40, random_state=0)
                m.fit(Z[sel], ytr[sel], sample_weight=w)
            pt, pf = m.predict(Zt), m.predict(Zf)
        report(name, y[te], np.where(found[te], pt, np.nan))
        fg_report(name, fg_y, pf, gray)


if __name__ == "__main__":
    main(sys.argv[1])
