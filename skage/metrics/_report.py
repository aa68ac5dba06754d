"""MAE, CMAE, Acc@k, bias and group gaps in one report."""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import mean_absolute_error

from ._bins import age_bin_indices, age_bin_labels, check_ages, check_bins
from ._groups import group_label


def _check_pair(y_true, y_pred):
    y_true = check_ages(y_true, name="y_true")
    y_pred = np.asarray(y_pred, dtype=float).reshape(-1) if np.ndim(y_pred) else np.asarray([y_pred], float)
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(f"y_true has {y_true.shape[0]} ages but y_pred has {y_pred.shape[0]}")
    if y_true.shape[0] == 0:
        raise ValueError("cannot score an empty set of ages")
    bad = ~np.isfinite(y_pred)
    if bad.any():
        # Regressors may predict slightly negative ages, so only non-finite values are refused.
        raise ValueError(f"y_pred has {bad.sum()} NaN or infinite value(s), first at index {int(np.flatnonzero(bad)[0])}")
    return y_true, y_pred


def per_bin_mae(y_true, y_pred, bins=None):
    """MAE within each true-age bin.

    Returns
    -------
    table : DataFrame with columns ``bin`` (label), ``lower``, ``n`` and ``mae``
        One row per bin, empty bins included with ``n=0`` and ``mae=NaN``.

    Examples
    --------
    >>> from skage.metrics import per_bin_mae
    >>> per_bin_mae([5, 5, 30], [6, 6, 40], bins=[0, 18, 65])
         bin  lower  n   mae
    0   0-17    0.0  2   1.0
    1  18-64   18.0  1  10.0
    2    65+   65.0  0   NaN
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    edges = check_bins(bins)
    idx = age_bin_indices(y_true, edges)
    err = np.abs(y_true - y_pred)
    n = np.bincount(idx, minlength=len(edges))
    sums = np.bincount(idx, weights=err, minlength=len(edges))
    with np.errstate(invalid="ignore", divide="ignore"):
        mae = np.where(n > 0, sums / np.maximum(n, 1), np.nan)
    return pd.DataFrame({"bin": age_bin_labels(edges), "lower": edges, "n": n, "mae": mae})


def cmae_score(y_true, y_pred, bins=None):
    """Class-mean MAE: the mean of the per-bin MAEs over non-empty bins.

    Examples
    --------
    >>> from skage.metrics import cmae_score
    >>> cmae_score([5, 5, 30], [6, 6, 40])  # bins 0-10 (MAE 1) and 21-30 (MAE 10)
    5.5
    """
    return float(np.nanmean(per_bin_mae(y_true, y_pred, bins)["mae"]))


def bias_score(y_true, y_pred, bins=None):
    """Largest minus smallest per-bin MAE over non-empty bins (0 with one bin).

    Examples
    --------
    >>> from skage.metrics import bias_score
    >>> bias_score([5, 5, 30], [6, 6, 40])
    9.0
    """
    mae = per_bin_mae(y_true, y_pred, bins)["mae"].dropna()
    return float(mae.max() - mae.min())


def acc_at_k(y_true, y_pred, k=5):
    """Fraction of predictions within ``k`` years of the truth (``|error| <= k``).

    Examples
    --------
    >>> from skage.metrics import acc_at_k
    >>> acc_at_k([10, 20, 30, 40], [15, 26, 30, 35])
    0.75
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    return float(np.mean(np.abs(y_true - y_pred) <= k))


def group_mae(y_true, y_pred, groups):
    """MAE per group value (e.g. gender or race); NaN group labels form no group.

    The disaggregation is :class:`fairlearn.metrics.MetricFrame`'s;
    :func:`skage.metrics.fairness_audit` goes further (intersections,
    age-standardised errors, bootstrap intervals, an ``"unknown"`` group).

    Returns
    -------
    table : DataFrame with columns ``group``, ``n``, ``mae``

    Examples
    --------
    >>> from skage.metrics import group_mae
    >>> group_mae([20, 30, 40, 50], [22, 30, 45, 50], ["f", "m", "f", None])
      group  n  mae
    0     f  2  3.5
    1     m  1  0.0
    """
    from fairlearn.metrics import MetricFrame, count

    y_true, y_pred = _check_pair(y_true, y_pred)
    groups = pd.Series(np.asarray(groups, dtype=object).reshape(-1))
    if len(groups) != len(y_true):
        raise ValueError(f"groups has {len(groups)} entries but y_true has {len(y_true)}")
    known = groups.notna().to_numpy()
    if not known.any():
        return pd.DataFrame({"group": pd.Series(dtype=str), "n": pd.Series(dtype=int), "mae": pd.Series(dtype=float)})
    frame = MetricFrame(metrics={"n": count, "mae": mean_absolute_error}, y_true=y_true[known],
                        y_pred=y_pred[known], sensitive_features=groups[known].map(group_label).rename("group"))
    table = frame.by_group.reset_index()
    table["n"] = table["n"].astype(int)
    return table[["group", "n", "mae"]]


@dataclass
class AgeReport:
    """Everything :func:`age_report` measures. Errors are in years.

    Attributes
    ----------
    n : int
    mae, cmae, bias : float
    acc : float
        Acc@k as a fraction in [0, 1].
    k : int
    per_bin : DataFrame (``bin``, ``lower``, ``n``, ``mae``)
    groups : dict of str to DataFrame (``group``, ``n``, ``mae``)
    gaps : dict of str to float
        Largest minus smallest group MAE, per grouping.

    Examples
    --------
    >>> from skage.metrics import age_report
    >>> report = age_report([5, 5, 30], [6, 6, 40])
    >>> report.mae, report.cmae, report.bias, round(report.acc, 3)
    (4.0, 5.5, 9.0, 0.667)
    >>> print(report.to_markdown().splitlines()[0])
    MAE 4.00 | CMAE 5.50 | Acc@5 66.7% | bias 9.00 | n 3
    """

    n: int
    mae: float
    cmae: float
    acc: float
    k: int
    bias: float
    per_bin: pd.DataFrame
    groups: dict = field(default_factory=dict)
    gaps: dict = field(default_factory=dict)

    def to_dict(self):
        """Flat dict of scalars, e.g. for one row of a results table."""
        out = {"n": self.n, "mae": self.mae, "cmae": self.cmae, f"acc@{self.k}": self.acc, "bias": self.bias}
        for label, mae in zip(self.per_bin["bin"], self.per_bin["mae"]):
            out[f"mae[{label}]"] = mae
        for name, gap in self.gaps.items():
            out[f"gap[{name}]"] = gap
        return out

    def to_markdown(self):
        lines = [
            f"MAE {self.mae:.2f} | CMAE {self.cmae:.2f} | Acc@{self.k} {100 * self.acc:.1f}% | "
            f"bias {self.bias:.2f} | n {self.n}",
            "",
            "| bin | n | MAE |",
            "|---|---:|---:|",
        ]
        lines += [f"| {r.bin} | {r.n} | {r.mae:.2f} |" for r in self.per_bin.itertuples()]
        for name, table in self.groups.items():
            lines += ["", f"| {name} | n | MAE |", "|---|---:|---:|"]
            lines += [f"| {r.group} | {r.n} | {r.mae:.2f} |" for r in table.itertuples()]
            lines.append(f"| largest gap | | {self.gaps[name]:.2f} |")
        return "\n".join(lines)

    def __str__(self):
        return self.to_markdown()


def age_report(y_true, y_pred, bins=None, groups=None, k=5):
    """Measure MAE, CMAE, Acc@k, bias and (optionally) group MAE gaps.

    Parameters
    ----------
    y_true : array-like of shape (n_samples,)
        True ages; NaN or negative ages raise ``ValueError``.
    y_pred : array-like of shape (n_samples,)
        Predicted ages; must be finite.
    bins : sequence of float, optional
        Lower bin edges; default :data:`DEFAULT_AGE_BINS` (0-10, 11-20, ..., 61+).
    groups : dict of str to array-like, or array-like, optional
        Group labels per sample (e.g. ``{"gender": g, "race": r}``); a bare
        array is named ``"group"``. NaN labels are left out of group tables.
    k : float, default=5
        Tolerance of Acc@k in years.

    Returns
    -------
    report : AgeReport

    Examples
    --------
    >>> from skage.metrics import age_report
    >>> r = age_report([5, 5, 30, 70], [6, 6, 40, 70], groups={"gender": [0, 1, 0, 1]})
    >>> round(r.mae, 2), round(r.cmae, 2), r.acc, r.bias, r.gaps["gender"]
    (3.0, 3.67, 0.75, 10.0, 5.0)
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    table = per_bin_mae(y_true, y_pred, bins)
    filled = table["mae"].dropna()
    err = np.abs(y_true - y_pred)
    if groups is not None and not isinstance(groups, dict):
        groups = {"group": groups}
    group_tables = {name: group_mae(y_true, y_pred, g) for name, g in (groups or {}).items()}
    gaps = {name: float(t["mae"].max() - t["mae"].min()) if len(t) else float("nan") for name, t in group_tables.items()}
    return AgeReport(
        n=int(len(y_true)),
        mae=float(err.mean()),
        cmae=float(filled.mean()),
        acc=float(np.mean(err <= k)),
        k=k,
        bias=float(filled.max() - filled.min()),
        per_bin=table,
        groups=group_tables,
        gaps=gaps,
    )
