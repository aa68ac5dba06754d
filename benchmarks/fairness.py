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

Variants ending in ``_count`` fit the refiner with ``KNNAgeRefiner(duplicates="count")``: the
resampler's repeats weigh in the neighbour vote, so that age bin × group balancing
(``fit_with_groups``) reaches the KNN stage (each neighbour weighted by the inverse frequency of
its stratum). ``top3`` variants balance finer top age bins (61-70, 71-80, 81+; groups not used).
Each row also gets bootstrap 95 % bounds of the race and gender gaps (``--gap-boot`` resamples of
the test faces, the same resamples for every row) and the paired change of each gap against the
first row of ``--variants`` (put the default, ``bins``, first).

The descriptors are re-standardised on the training part of each split (the cache's scaler saw
every face; a second affine fit on the training rows gives exactly a training-only scaler).

Usage::

    .venv/bin/python benchmarks/fairness.py --cache .cache/h13/descriptors_current.npz \\
        --report benchmarks/results/fairness_dev_cpu_current.md
    # gap rows only, appended to the results file, for another split:
    .venv/bin/python benchmarks/fairness.py --cache .cache/h13/descriptors_current.npz --seed 1 \\
        --variants-only --variants bins,bins_x_race_count --report benchmarks/results/fairness_dev_cpu.md
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
from sklearn.preprocessing import StandardScaler

from skage.intervals import ConformalAgeRegressor
from skage.metrics import acc_at_k, age_bin_indices, age_bin_labels, bias_score, cmae_score, fairness_audit
from skage.sampling import fit_with_groups
from skage.viz import write_audit

MIN_N = 100
#: Finer top age bins (lower edges): 61-70, 71-80 and 81+ instead of one 61+ bin.
TOP3_BINS = (0, 11, 21, 31, 41, 51, 61, 71, 81)
#: Five-year age bins for balancing (0-4, 5-9, ..., 85+); the metrics keep their own bins.
Y5_BINS = tuple(range(0, 90, 5))


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


def gap_bootstrap(y, pred, labels, boot, min_n=MIN_N):
    """Per-group CMAE gap over bootstrap resamples ``boot`` (rows of test-face indices).

    A group counts in a resample when it has at least ``min_n`` faces there, as on the full split.
    """
    labels = pd.Series(labels, dtype=object).fillna("unknown").to_numpy()
    groups, g = np.unique(labels.astype(str), return_inverse=True)
    bins = age_bin_indices(y)
    n_bins = len(age_bin_labels())
    cell = g * n_bins + bins
    err = np.abs(pred - y)
    gaps = np.empty(len(boot))
    for i, idx in enumerate(boot):
        n = np.bincount(cell[idx], minlength=len(groups) * n_bins).reshape(len(groups), n_bins)
        e = np.bincount(cell[idx], weights=err[idx], minlength=len(groups) * n_bins).reshape(len(groups), n_bins)
        with np.errstate(invalid="ignore", divide="ignore"):
            cmae = np.nanmean(np.where(n > 0, e / n, np.nan), axis=1)
        cmae = cmae[n.sum(axis=1) >= min_n]
        gaps[i] = cmae.max() - cmae.min()
    return gaps


def cv_table(X_tr, y_tr, m_tr, seed, folds=5, blends=(0.2, 0.3, 0.4), log=print):
    """Choose the balance and the blend on the training part only: pooled out-of-fold predictions.

    For speed the over-sampling is written as what it amounts to: SVR sample weights equal to the
    expected number of copies ``AgeBinResampler("full")`` gives each face (largest stratum / its
    stratum), and, for ``duplicates="count"``, KNN neighbour weights of 1 / the stratum's size
    (the refiner's ``"count"`` weights, up to the resampler's random draws; the test rows fit the
    real pipeline). Gaps over groups with at least ``100 * n_train / n_test`` (of the 70/30 split)
    out-of-fold faces, the test rule scaled to the training part's size.
    """
    from sklearn.model_selection import KFold
    from sklearn.neighbors import NearestNeighbors
    from sklearn.svm import SVR

    pipe = descriptor_head()
    svr_params = pipe.named_steps["model"].estimator.get_params()
    k = pipe.named_steps["model"].n_neighbors
    race = m_tr["race"].fillna("unknown").to_numpy(object)
    gender = m_tr["gender"].fillna("unknown").to_numpy(object)
    configs = [("bins", None, None), ("bins × race", None, race), ("top3", TOP3_BINS, None),
               ("5y", Y5_BINS, None), ("5y × race", Y5_BINS, race), ("top3 × race", TOP3_BINS, race)]
    oof = {}
    for a, b in KFold(folds, shuffle=True, random_state=seed).split(X_tr):
        scaler = StandardScaler().fit(X_tr[a])
        Xa, Xb, ya = scaler.transform(X_tr[a]), scaler.transform(X_tr[b]), y_tr[a]
        dist, ind = NearestNeighbors(n_neighbors=k, metric="cosine").fit(Xa).kneighbors(Xb)
        for name, bins, labels in configs:
            strata = pd.Series(age_bin_indices(ya, bins).astype(str)) + "|" + pd.Series(
                labels[a] if labels is not None else np.full(len(a), ""))
            size = strata.map(strata.value_counts()).to_numpy(float)
            svr = SVR(**svr_params).fit(Xa, ya, sample_weight=size.max() / size).predict(Xb)
            for dup, v in (("merge", np.ones(len(a))), ("count", 1 / size)):
                w = v[ind] / np.maximum(dist, 1e-12)
                knn = (w * ya[ind]).sum(1) / w.sum(1)
                for blend in blends:
                    oof.setdefault((name, dup, blend), np.zeros(len(y_tr)))[b] = (1 - blend) * svr + blend * knn
    min_n = int(np.ceil(MIN_N * 0.7 / 0.3))
    rows = []
    for (name, dup, blend), pred in oof.items():
        race_c, gender_c = group_cmae(y_tr, pred, race, min_n), group_cmae(y_tr, pred, gender, min_n)
        rows.append({"balance": name, "duplicates": dup, "blend": blend, "mae": np.mean(np.abs(pred - y_tr)),
                     "cmae": cmae_score(y_tr, pred), "acc5": acc_at_k(y_tr, pred), "bias": bias_score(y_tr, pred),
                     "race_cmae_gap": max(race_c.values()) - min(race_c.values()),
                     "gender_cmae_gap": max(gender_c.values()) - min(gender_c.values())})
    table = pd.DataFrame(rows)
    base = table[(table.balance == "bins") & (table.duplicates == "merge") & (table.blend == 0.2)].iloc[0]
    # Pre-set rule: MAE at most 0.1 above the default's; then the smallest worst ratio to the targets.
    table["worst_ratio"] = np.maximum(table.race_cmae_gap / 1.5, table.gender_cmae_gap / 0.5)
    table["eligible"] = table.mae <= base.mae + 0.1
    log(f"CV (seed {seed}, {folds} folds of the training part, groups >= {min_n} faces): default MAE "
        f"{base.mae:.2f} race gap {base.race_cmae_gap:.2f} gender gap {base.gender_cmae_gap:.2f}")
    return table


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


def resampling_table(X_tr, y_tr, m_tr, X_te, y_te, m_te, variants, log, n_boot=300, seed=0):
    rows, boots = [], {}
    boot = np.random.default_rng(seed).integers(0, len(y_te), size=(n_boot, len(y_te)))
    fitted = {}
    for name, make, by in variants:
        t = time.perf_counter()
        pipe = make()
        # blend and duplicates act at predict time only (the refiner stores sample_counts_ either way):
        # variants that differ in them alone share one fit.
        at_predict = {k: pipe.get_params()[k] for k in ("model__blend", "model__duplicates")}
        key = (repr(by), tuple(sorted((k, repr(v)) for k, v in pipe.get_params(deep=True).items()
                                      if k not in at_predict and k != "steps" and not hasattr(v, "get_params"))))
        if key in fitted:
            pipe = fitted[key].set_params(**at_predict)
        elif by is None:
            pipe.fit(X_tr, y_tr)
        else:
            labels = m_tr[by].fillna("unknown") if isinstance(by, str) else \
                m_tr[list(by)].fillna("unknown").astype(str).agg("/".join, axis=1)
            fit_with_groups(pipe, X_tr, y_tr, labels.to_numpy(dtype=object))
        fitted.setdefault(key, pipe)
        n_fit = len(getattr(pipe.named_steps["balance"], "sample_indices_", y_tr)) \
            if pipe.named_steps["balance"] != "passthrough" else len(y_tr)
        fit_s = time.perf_counter() - t
        pred = pipe.predict(X_te)
        race, gender = group_cmae(y_te, pred, m_te["race"]), group_cmae(y_te, pred, m_te["gender"])
        row = {"variant": name, "n_fit": n_fit, "mae": np.mean(np.abs(pred - y_te)), "cmae": cmae_score(y_te, pred),
               "acc5": acc_at_k(y_te, pred), "bias": bias_score(y_te, pred),
               "race_cmae_gap": max(race.values()) - min(race.values()),
               "gender_cmae_gap": max(gender.values()) - min(gender.values()),
               "race_gap_common_bins": common_bin_gap(y_te, pred, m_te["race"])[0]}
        if n_boot:
            boots[name] = {k: gap_bootstrap(y_te, pred, m_te[k], boot) for k in ("race", "gender")}
            for k in ("race", "gender"):
                lo, hi = np.percentile(boots[name][k], [2.5, 97.5])
                row[f"{k}_gap_95"] = f"[{lo:.2f}, {hi:.2f}]"
            first = next(iter(boots))
            for k in ("race", "gender"):
                d = boots[name][k] - boots[first][k]
                lo, hi = np.percentile(d, [2.5, 97.5])
                row[f"{k}_gap_change_95"] = "—" if name == first else f"{d.mean():+.2f} [{lo:+.2f}, {hi:+.2f}]"
        row.update({**{f"cmae[{k}]": v for k, v in sorted(race.items())},
                    **{f"cmae[{k}]": v for k, v in sorted(gender.items())}, "fit_s": fit_s})
        rows.append(row)
        log(f"{name}: MAE {row['mae']:.2f} CMAE {row['cmae']:.2f} Acc@5 {row['acc5']:.3f} bias {row['bias']:.2f} "
            f"race gap {row['race_cmae_gap']:.2f} gender gap {row['gender_cmae_gap']:.2f} "
            f"({fit_s:.0f} s, {n_fit} fit rows)")
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
    ap.add_argument("--seed", type=int, default=0, help="random_state of the 70/30 split")
    ap.add_argument("--gap-boot", type=int, default=300,
                    help="bootstrap resamples of the test faces for the gaps' 95 %% bounds (0: none)")
    ap.add_argument("--variants-only", action="store_true",
                    help="only the variants table, appended (with command, load and date) to --report")
    ap.add_argument("--cv", action="store_true",
                    help="only the cross-validation table of the training part (balance, duplicates, blend), "
                         "appended to --report")
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
    idx_tr, idx_te = train_test_split(np.arange(len(y)), test_size=0.3, random_state=args.seed)
    idx_tr, idx_te = idx_tr[~bad[idx_tr]], idx_te[~bad[idx_te]]
    scaler = StandardScaler().fit(X[idx_tr])  # training-only scaling (see the module docstring)
    X = np.where(bad[:, None], X, scaler.transform(np.nan_to_num(X)))
    X_tr, y_tr, m_tr = X[idx_tr], y[idx_tr], meta.iloc[idx_tr].reset_index(drop=True)
    X_te, y_te, m_te = X[idx_te], y[idx_te], meta.iloc[idx_te].reset_index(drop=True)
    log(f"split: {len(y_tr)} train / {len(y_te)} test (train_test_split test_size=0.3 random_state={args.seed})")

    def head(strategy="full", balance=True, duplicates="merge", bins=None, blend=None):
        pipe = descriptor_head().set_params(model__duplicates=duplicates)
        if blend is not None:
            pipe.set_params(model__blend=blend)
        if not balance:
            pipe.set_params(balance="passthrough")
        else:
            pipe.set_params(balance__sampling_strategy=strategy, balance__bins=bins)
        return pipe

    count = dict(duplicates="count")
    if args.cv:
        cv = cv_table(X_tr, y_tr, m_tr, args.seed, log=log)
        cv.to_csv(out / f"cv_seed{args.seed}.csv", index=False)
        append_gap_rows(args, cv.sort_values(["eligible", "worst_ratio"], ascending=[False, True]), lines,
                        title=f"Cross-validation on the training part, split seed {args.seed}")
        return

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
        "bins_count": ("age bins, KNN counts repeats", lambda: head(**count), None),
        "bins_x_race_count": ("age bin × race, KNN counts repeats", lambda: head(**count), "race"),
        "bins_x_gender_count": ("age bin × gender, KNN counts repeats", lambda: head(**count), "gender"),
        "bins_x_gender_race_count": ("age bin × gender × race, KNN counts repeats", lambda: head(**count),
                                     ("gender", "race")),
        "sqrt_bins_x_race_count": ("age bin × race, sqrt, KNN counts repeats", lambda: head("sqrt", **count), "race"),
        "top3": ("age bins with 61-70/71-80/81+", lambda: head(bins=TOP3_BINS), None),
        "top3_count": ("age bins with 61-70/71-80/81+, KNN counts repeats", lambda: head(bins=TOP3_BINS, **count),
                       None),
        "top3_x_race_count": ("age bin (61-70/71-80/81+) × race, KNN counts repeats",
                              lambda: head(bins=TOP3_BINS, **count), "race"),
        "top3_count_blend03": ("age bins with 61-70/71-80/81+, KNN counts repeats, blend 0.3",
                               lambda: head(bins=TOP3_BINS, blend=0.3, **count), None),
        "top3_x_race_count_blend03": ("age bin (61-70/71-80/81+) × race, KNN counts repeats, blend 0.3",
                                      lambda: head(bins=TOP3_BINS, blend=0.3, **count), "race"),
        "bins_count_blend03": ("age bins, KNN counts repeats, blend 0.3", lambda: head(blend=0.3, **count), None),
        "bins_x_race_count_blend03": ("age bin × race, KNN counts repeats, blend 0.3",
                                      lambda: head(blend=0.3, **count), "race"),
        "5y_count": ("5-year age bins, KNN counts repeats", lambda: head(bins=Y5_BINS, **count), None),
        "5y_count_blend03": ("5-year age bins, KNN counts repeats, blend 0.3",
                             lambda: head(bins=Y5_BINS, blend=0.3, **count), None),
        "5y_count_blend04": ("5-year age bins, KNN counts repeats, blend 0.4",
                             lambda: head(bins=Y5_BINS, blend=0.4, **count), None),
        "5y_x_race_count_blend03": ("5-year age bin × race, KNN counts repeats, blend 0.3",
                                    lambda: head(bins=Y5_BINS, blend=0.3, **count), "race"),
    }
    variants = [catalogue[v] for v in args.variants.split(",") if v]
    table = resampling_table(X_tr, y_tr, m_tr, X_te, y_te, m_te, variants, log, n_boot=args.gap_boot,
                             seed=args.seed)
    table.to_csv(out / f"resampling_seed{args.seed}.csv", index=False)
    if args.variants_only:
        append_gap_rows(args, table, lines)
        return
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
    write_audit(audit, out, prefix="audit")
    log(f"audit of {len(ev)} faces, {args.n_boot} bootstrap resamples: {audit_s:.1f} s")
    t = time.perf_counter()
    pred_all = default.predict(X[~bad])
    fairness_audit(y[~bad], pred_all, meta[~bad], min_n=MIN_N, n_boot=args.n_boot, random_state=0)
    log(f"audit of all {int((~bad).sum())} dev faces (model predictions, training faces included): "
        f"{time.perf_counter() - t:.1f} s")
    (out / "log.txt").write_text("\n".join(lines) + "\n")
    write_report(args, table, intervals, audit, lines)


def append_gap_rows(args, table, lines, title=None):
    """Append the variants table of one run, with its command, machine, load and date, to ``--report``."""
    import datetime
    import os
    import sys

    report = Path(args.report)
    load = Path("/proc/loadavg").read_text().split()[:3] if Path("/proc/loadavg").is_file() else ["?"]
    text = [f"## {title or f'Gap rows, split seed {args.seed}'} ({datetime.date.today().isoformat()})", "",
            f"Command: `.venv/bin/python {' '.join(sys.argv)}`", "",
            f"Machine: {os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), shared with "
            f"other jobs; load average at the end of the run {' / '.join(load)}.", "",
            "```", *lines, "```", "",
            (f"Gaps: per-group CMAE, groups with ≥ {MIN_N} test faces. `*_gap_95`: bootstrap 95 % bounds over "
             f"{args.gap_boot} resamples of the test faces; `*_gap_change_95`: mean change against the first row "
             "over the same resamples, with its 95 % bounds." if "fit_s" in table else
             "Pooled out-of-fold predictions of 5 folds of the training part. `worst_ratio`: the larger of "
             "race gap / 1.5 and gender gap / 0.5 (≤ 1 meets both targets); `eligible`: MAE at most 0.1 above "
             "the default row (bins, merge, 0.2). Sorted: eligible rows first, by worst_ratio."), "",
            _md(table.drop(columns=["fit_s"]).assign(fit_s=table["fit_s"].round(0)) if "fit_s" in table else table),
            ""]
    with report.open("a") as f:
        f.write("\n" + "\n".join(text))
    print(f"appended to {report}")


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
