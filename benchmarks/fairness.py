"""Fairness of the descriptor pipeline: demographic-aware resampling, conformal intervals, the audit.

Runs on cached 128-d dlib descriptors of the UTKFace dev chips (the descriptor pipeline's
``check → align → describe`` steps, computed once), so that every variant below trains in
seconds to minutes on a CPU:

1. Resampling variants of ``make_age_pipeline(model="descriptor")``'s ``balance → model`` part on
   the 70/30 dev split (``train_test_split(test_size=0.3, random_state=0)``): no balancing,
   age-bin balancing (the default), and age bin × race / gender / gender×race strata; MAE, CMAE
   and the age-standardised (per-group CMAE) gaps across race and gender, groups with ≥ 100 test
   faces.
2. Conformal intervals (``ConformalAgeRegressor``, alpha=0.1) for the default model, fitted on
   the 70 % part: calibrated on a random half of the test faces and scored on the other half,
   ``--repeats`` times; coverage overall / per age bin / per gender and race group, width per bin.
3. The audit (``fairness_audit``) on the test faces with the intervals, timed, written to
   ``--out``.

Usage::

    .venv/bin/python benchmarks/fairness.py --cache .cache/h13/descriptors.npz \\
        --out benchmarks/results/fairness_dev_cpu
"""

import argparse
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.model_selection import train_test_split

from skage.intervals import ConformalAgeRegressor
from skage.metrics import age_bin_indices, age_bin_labels, cmae_score, fairness_audit
from skage.sampling import fit_with_groups

MIN_N = 100


def make_cache(path, data, limit=None):
    """Descriptors of every face through the descriptor pipeline's own check/align/describe steps."""
    from skage.datasets import load_dataset
    from skage.pipeline import make_age_pipeline

    ds = load_dataset(data)
    X, y, meta = ds.X, ds.y, ds.metadata
    if limit:
        X, y, meta = X[:limit], y[:limit], meta.iloc[:limit]
    features = X
    for name, step in make_age_pipeline(model="descriptor", n_jobs=2).steps:
        if name in ("check", "balance", "model") or step == "passthrough":
            continue  # the check step only drops unreadable files at fit; keep every face in line with y
        features = step.fit(features).transform(features)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, X=np.asarray(features, dtype=np.float32), y=y, paths=np.asarray(X, dtype=str),
             gender=meta["gender"].to_numpy(dtype=object).astype(str),
             race=meta["race"].to_numpy(dtype=object).astype(str))


def load_cache(path):
    data = np.load(path, allow_pickle=True)
    X, y = data["X"].astype(np.float64), data["y"].astype(float)
    meta = pd.DataFrame({c: pd.Series(data[c], dtype=object).replace({"nan": None, "None": None})
                         for c in ("gender", "race")})
    return X, y, meta


def descriptor_head(random_state=0):
    """The ``balance → model`` part of the descriptor pipeline, as make_age_pipeline builds it."""
    from skage.pipeline import make_age_pipeline

    pipe = make_age_pipeline(model="descriptor", random_state=random_state)
    steps = dict(pipe.steps)
    return Pipeline([("balance", steps["balance"]), ("model", steps["model"])])


def group_cmae(y, pred, labels, min_n=MIN_N):
    """Per-group CMAE over groups with at least min_n faces (missing labels: 'unknown')."""
    labels = pd.Series(labels, dtype=object).fillna("unknown").to_numpy()
    out = {}
    for g in pd.unique(labels):
        m = labels == g
        if m.sum() >= min_n:
            out[str(g)] = cmae_score(y[m], pred[m])
    return out


def common_bin_gap(y, pred, labels, min_n=MIN_N, min_cell=5):
    """CMAE gap over the age bins where every group (>= min_n faces) has >= min_cell faces.

    Per-group CMAE averages each group's own non-empty bins, so a group without old faces
    (UTKFace's "other" has none over 50 in the test split) looks better than it is; this
    compares the groups on the same bins only.
    """
    labels = pd.Series(labels, dtype=object).fillna("unknown").to_numpy()
    bins = age_bin_indices(y)
    groups = [g for g in pd.unique(labels) if (labels == g).sum() >= min_n]
    common = [b for b in np.unique(bins) if all(((labels == g) & (bins == b)).sum() >= min_cell for g in groups)]
    cmae = {}
    for g in groups:
        cmae[g] = np.mean([np.mean(np.abs(pred - y)[(labels == g) & (bins == b)]) for b in common])
    return max(cmae.values()) - min(cmae.values()), [age_bin_labels()[b] for b in common]


def neighbour_race_share(X_tr, race_tr, y_tr, X_te, race_te, y_te, k=20):
    """Per race: share of a test face's k cosine neighbours (training faces) of its own race, the race's
    share of the training faces, and for adults (31+) the neighbours' mean age against the true mean age."""
    from sklearn.neighbors import NearestNeighbors

    _, idx = NearestNeighbors(n_neighbors=k, metric="cosine").fit(X_tr).kneighbors(X_te)
    rows = []
    for r in pd.unique(race_te):
        m = race_te == r
        adult = m & (y_te >= 31)
        rows.append({"race": r, "n_test": int(m.sum()), "same_race_neighbours": (race_tr[idx[m]] == r).mean(),
                     "train_share": (race_tr == r).mean(),
                     "adult_neighbour_age": y_tr[idx[adult]].mean() if adult.any() else np.nan,
                     "adult_true_age": y_te[adult].mean() if adult.any() else np.nan})
    return pd.DataFrame(rows)


def resampling_table(X_tr, y_tr, m_tr, X_te, y_te, m_te, variants, log):
    rows = []
    for name, make, by in variants:
        t = time.perf_counter()
        pipe = make()
        if by is None:
            pipe.fit(X_tr, y_tr)
        else:
            labels = m_tr[by].fillna("unknown") if isinstance(by, str) else \
                m_tr[list(by)].fillna("unknown").astype(str).agg("/".join, axis=1)
            fit_with_groups(pipe, X_tr, y_tr, labels.to_numpy(dtype=object))
        n_fit = len(getattr(pipe.named_steps["balance"], "sample_indices_", y_tr)) \
            if pipe.named_steps["balance"] != "passthrough" else len(y_tr)
        fit_s = time.perf_counter() - t
        pred = pipe.predict(X_te)
        race, gender = group_cmae(y_te, pred, m_te["race"]), group_cmae(y_te, pred, m_te["gender"])
        row = {"variant": name, "n_fit": n_fit, "mae": np.mean(np.abs(pred - y_te)), "cmae": cmae_score(y_te, pred),
               "race_cmae_gap": max(race.values()) - min(race.values()),
               "gender_cmae_gap": max(gender.values()) - min(gender.values()),
               "race_gap_common_bins": common_bin_gap(y_te, pred, m_te["race"])[0],
               **{f"cmae[{k}]": v for k, v in sorted(race.items())},
               **{f"cmae[{k}]": v for k, v in sorted(gender.items())}, "fit_s": fit_s}
        rows.append(row)
        log(f"{name}: MAE {row['mae']:.2f} CMAE {row['cmae']:.2f} race gap {row['race_cmae_gap']:.2f} "
            f"gender gap {row['gender_cmae_gap']:.2f} ({fit_s:.0f} s, {n_fit} fit rows)")
    return pd.DataFrame(rows)


def interval_table(model, X_te, y_te, m_te, repeats, alpha, seed=0, condition="age"):
    """Coverage and width over repeated calibration/evaluation halves of the test faces."""
    pred = model.predict(X_te)
    bins = np.asarray(age_bin_labels())[age_bin_indices(y_te)]
    records = []
    for r in range(repeats):
        cal, ev = train_test_split(np.arange(len(y_te)), test_size=0.5, random_state=seed + r,
                                   stratify=age_bin_indices(y_te))
        conf = ConformalAgeRegressor(model, prefit=True, condition=condition).fit(X_te[cal], y_te[cal])
        iv = conf.interval_from_predictions(pred[ev], alpha=alpha)
        covered = (iv[:, 0] <= y_te[ev]) & (y_te[ev] <= iv[:, 1])
        width = iv[:, 1] - iv[:, 0]
        frame = pd.DataFrame({"covered": covered, "width": width, "age_bin": bins[ev],
                              "gender": m_te["gender"].fillna("unknown").to_numpy()[ev],
                              "race": m_te["race"].fillna("unknown").to_numpy()[ev]})
        records.append(("all", "all", r, len(frame), covered.mean(), width.mean()))
        for col in ("age_bin", "gender", "race"):
            for g, part in frame.groupby(col):
                records.append((col, g, r, len(part), part["covered"].mean(), part["width"].mean()))
    t = pd.DataFrame(records, columns=["by", "group", "repeat", "n", "coverage", "width"])
    return t.groupby(["by", "group"], sort=False).agg(n=("n", "mean"), coverage=("coverage", "mean"),
                                                       coverage_min=("coverage", "min"),
                                                       width=("width", "mean")).reset_index()


def interval_rows(model, X_te, y_te, m_te, alpha):
    """Coverage and width of a calibrated model's intervals on all test faces, by bin and group."""
    iv = model.predict_interval(X_te, alpha=alpha)
    frame = pd.DataFrame({"covered": (iv[:, 0] <= y_te) & (y_te <= iv[:, 1]), "width": iv[:, 1] - iv[:, 0],
                          "age_bin": np.asarray(age_bin_labels())[age_bin_indices(y_te)],
                          "gender": m_te["gender"].fillna("unknown").to_numpy(),
                          "race": m_te["race"].fillna("unknown").to_numpy()})
    rows = [("all", "all", len(frame), frame["covered"].mean(), frame["covered"].mean(), frame["width"].mean())]
    for col in ("age_bin", "gender", "race"):
        for g, part in frame.groupby(col):
            rows.append((col, g, len(part), part["covered"].mean(), part["covered"].mean(), part["width"].mean()))
    return pd.DataFrame(rows, columns=["by", "group", "n", "coverage", "coverage_min", "width"])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", default=".cache/h13/descriptors.npz",
                    help="descriptor cache; made from --data when missing")
    ap.add_argument("--data", default="utkface:../shared/data/utkface")
    ap.add_argument("--cache-limit", type=int, help="describe only the first N faces (to try the script)")
    ap.add_argument("--out", default=".cache/h13/fairness",
                    help="folder for the raw CSVs and the audit files (per-face rows: keep out of the repo)")
    ap.add_argument("--report", default="benchmarks/results/fairness_dev_cpu.md",
                    help="Markdown summary; the audit heat-map is copied beside it")
    ap.add_argument("--repeats", type=int, default=20)
    ap.add_argument("--alpha", type=float, default=0.1)
    ap.add_argument("--variants", default="none,bins,bins_x_race,bins_x_gender,bins_x_gender_race,"
                                          "sqrt_bins_x_race,sqrt_bins_x_gender_race,bins_noknn,bins_x_race_noknn,"
                                          "bins_blend01,bins_blend02")
    ap.add_argument("--n-boot", type=int, default=200)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    lines = []

    def log(msg):
        print(msg, flush=True)
        lines.append(msg)

    if not Path(args.cache).is_file():
        t = time.perf_counter()
        make_cache(args.cache, args.data, args.cache_limit)
        log(f"descriptor cache {args.cache} made in {time.perf_counter() - t:.0f} s")
    X, y, meta = load_cache(args.cache)
    bad = ~np.isfinite(X).all(axis=1)
    log(f"{len(y)} faces, {bad.sum()} without a descriptor (no face found: kept out of train and test, "
        f"counted here); {platform.processor() or platform.machine()}, "
        f"load {Path('/proc/loadavg').read_text().split()[:3]}")
    idx_tr, idx_te = train_test_split(np.arange(len(y)), test_size=0.3, random_state=0)
    idx_tr, idx_te = idx_tr[~bad[idx_tr]], idx_te[~bad[idx_te]]
    X_tr, y_tr, m_tr = X[idx_tr], y[idx_tr], meta.iloc[idx_tr].reset_index(drop=True)
    X_te, y_te, m_te = X[idx_te], y[idx_te], meta.iloc[idx_te].reset_index(drop=True)
    log(f"split: {len(y_tr)} train / {len(y_te)} test (train_test_split test_size=0.3 random_state=0)")

    def head(strategy="full", balance=True):
        pipe = descriptor_head()
        if not balance:
            pipe.set_params(balance="passthrough")
        else:
            pipe.set_params(balance__sampling_strategy=strategy)
        return pipe

    catalogue = {
        "none": ("no balancing", lambda: head(balance=False), None),
        "bins_noknn": ("age bins, no KNN (blend 0)", lambda: head().set_params(model__blend=0.0), None),
        "bins_blend01": ("age bins, KNN blend 0.1", lambda: head().set_params(model__blend=0.1), None),
        "bins_blend02": ("age bins, KNN blend 0.2", lambda: head().set_params(model__blend=0.2), None),
        "bins_x_race_noknn": ("age bin × race, no KNN (blend 0)", lambda: head().set_params(model__blend=0.0),
                              "race"),
        "bins": ("age bins (default)", head, None),
        "bins_x_race": ("age bin × race", head, "race"),
        "bins_x_gender": ("age bin × gender", head, "gender"),
        "bins_x_gender_race": ("age bin × gender × race", head, ("gender", "race")),
        "sqrt_bins_x_race": ("age bin × race, sqrt", lambda: head("sqrt"), "race"),
        "sqrt_bins_x_gender_race": ("age bin × gender × race, sqrt", lambda: head("sqrt"), ("gender", "race")),
    }
    variants = [catalogue[v] for v in args.variants.split(",") if v]
    table = resampling_table(X_tr, y_tr, m_tr, X_te, y_te, m_te, variants, log)
    table.to_csv(out / "resampling.csv", index=False)
    neighbours = neighbour_race_share(X_tr, m_tr["race"].fillna("unknown").to_numpy(object), y_tr, X_te,
                                      m_te["race"].fillna("unknown").to_numpy(object), y_te)
    for r in neighbours.itertuples():
        log(f"KNN neighbours of {r.race} test faces: {r.same_race_neighbours:.2f} same race (train share "
            f"{r.train_share:.2f}); adults 31+: neighbours' mean age {r.adult_neighbour_age:.1f}, "
            f"true {r.adult_true_age:.1f}")

    default = head().fit(X_tr, y_tr)
    t = time.perf_counter()
    intervals = interval_table(default, X_te, y_te, m_te, args.repeats, args.alpha)
    # The wrapper as designed: fit on the 70 % part, a quarter of it kept for calibration; all test faces scored.
    wrapped = ConformalAgeRegressor(head(), calibration_size=0.25, random_state=0).fit(X_tr, y_tr)
    by_pred = interval_table(default, X_te, y_te, m_te, args.repeats, args.alpha, condition="predicted_age")
    intervals = pd.concat([intervals.assign(setup="prefit, calibrated on half the test faces"),
                           by_pred.assign(setup="same, condition='predicted_age' (for comparison)"),
                           interval_rows(wrapped, X_te, y_te, m_te, args.alpha).assign(
                               setup="ConformalAgeRegressor(calibration_size=0.25) on the 70 % part")])
    wrapped_mae = np.mean(np.abs(wrapped.predict(X_te) - y_te))
    log(f"wrapper: model fitted on {len(y_tr) - len(wrapped.calibration_age_)} faces, calibrated on "
        f"{len(wrapped.calibration_age_)}; test MAE {wrapped_mae:.2f}")
    intervals.to_csv(out / "intervals.csv", index=False)
    log(f"intervals: {args.repeats} calibration/evaluation halves in {time.perf_counter() - t:.1f} s")

    # The audit on all test faces, with intervals calibrated on the first half and so honest on the second only.
    cal, _ = train_test_split(np.arange(len(y_te)), test_size=0.5, random_state=0, stratify=age_bin_indices(y_te))
    conf = ConformalAgeRegressor(default, prefit=True).fit(X_te[cal], y_te[cal])
    ev = np.setdiff1d(np.arange(len(y_te)), cal)
    pred = default.predict(X_te)
    t = time.perf_counter()
    audit = fairness_audit(y_te[ev], pred[ev], m_te.iloc[ev][["gender", "race"]],
                           intervals=conf.interval_from_predictions(pred[ev], args.alpha), alpha=args.alpha,
                           min_n=MIN_N, n_boot=args.n_boot, random_state=0)
    audit_s = time.perf_counter() - t
    audit.write(out, prefix="audit")
    log(f"audit of {len(ev)} faces, {args.n_boot} bootstrap resamples: {audit_s:.1f} s")
    t = time.perf_counter()
    pred_all = default.predict(X[~bad])
    fairness_audit(y[~bad], pred_all, meta[~bad], min_n=MIN_N, n_boot=args.n_boot, random_state=0)
    log(f"audit of all {int((~bad).sum())} dev faces (model predictions, training faces included): "
        f"{time.perf_counter() - t:.1f} s")
    (out / "log.txt").write_text("\n".join(lines) + "\n")
    write_report(args, table, intervals, audit, lines)


def _md(frame, digits=2):
    cols = list(frame.columns)
    fmt = lambda v: f"{v:.{digits}f}" if isinstance(v, (float, np.floating)) else str(v)  # noqa: E731
    return "\n".join(["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
                     + ["| " + " | ".join(fmt(v) for v in row) + " |" for row in frame.itertuples(index=False)])


def write_report(args, table, intervals, audit, lines):
    import shutil
    import sys

    report = Path(args.report)
    report.parent.mkdir(parents=True, exist_ok=True)
    heatmap = report.with_name(report.stem + "_heatmap.png")
    shutil.copy(Path(args.out) / "audit_heatmap.png", heatmap)
    cov = intervals[["setup", "by", "group", "n", "coverage", "coverage_min", "width"]]
    text = [f"# Fairness on the UTKFace dev split (descriptor pipeline, CPU)", "",
            f"Command: `.venv/bin/python {' '.join(sys.argv)}`", "", "```", *lines, "```", "",
            "## Resampling variants (test faces; gaps over groups with ≥ 100 test faces, per-group CMAE)", "",
            _md(table.drop(columns=["fit_s"]).assign(fit_s=table["fit_s"].round(0))), "",
            f"## Conformal intervals, alpha={args.alpha}", "",
            f"Prefit rows: mean over {args.repeats} random calibration/evaluation halves of the test faces, "
            "coverage_min the worst half. Wrapper rows: one fit, all test faces. Width in years.", "",
            _md(cov, digits=3), "",
            "## Audit of the evaluation half (intervals calibrated on the other half)", "",
            f"![heat-map]({heatmap.name})", "", audit.to_markdown(max_rows=60)]
    report.write_text("\n".join(text) + "\n")
    print(f"report: {report}")


if __name__ == "__main__":
    main()
