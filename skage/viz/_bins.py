"""Plots over true-age bins: per-bin MAE bars and the bin confusion matrix."""

import matplotlib
import numpy as np

from ..metrics import age_bin_indices, age_bin_labels, age_report, check_bins
from ._common import LABEL_BOX, fill_doc, fmt_years, new_axes, save_figure


def _as_models(y_pred, label):
    """``{model name: predictions}`` from one prediction array or a dict of them."""
    if isinstance(y_pred, dict):
        if label is not None:
            raise ValueError("label names a single prediction array; "
                             "with a dict of predictions the keys name the models")
        if not y_pred:
            raise ValueError("y_pred is an empty dict; give at least one model's predictions")
        return {str(name): pred for name, pred in y_pred.items()}
    return {label: y_pred}


@fill_doc
def plot_per_bin_mae(y_true, y_pred, bins=None, path=None, ax=None, label=None):
    """Bar chart of the MAE within each true-age bin, with the bias score.

    The bias score is the largest minus the smallest per-bin MAE over
    non-empty bins (:func:`skage.metrics.bias_score`); a fair model has flat
    bars. Each bin's sample count is written under its bars; an empty bin gets
    no bar and is marked "no samples".

    Parameters
    ----------
    {y_true}
    y_pred : array-like of shape (n_samples,) or dict of str to array-like
        Predicted ages, or ``{model name: predicted ages}`` to compare several
        models with grouped bars.
    {bins}
    {path}
    {ax}
    label : str, optional
        Name of the model when ``y_pred`` is a single array (shown in the title).

    {returns_fig}
        Its first axes holds one bar container per model, in order; bar
        heights are the per-bin MAEs (NaN for empty bins).

    Examples
    --------
    >>> from skage.viz import plot_per_bin_mae
    >>> fig = plot_per_bin_mae([5, 15, 25, 70], [7, 14, 30, 60])
    >>> [round(float(p.get_height()), 1) for p in fig.axes[0].patches][:3]
    [2.0, 1.0, 5.0]
    """
    models = _as_models(y_pred, label)
    reports = {name: age_report(y_true, pred, bins=bins) for name, pred in models.items()}
    first = next(iter(reports.values())).per_bin
    n_bins = len(first)
    x = np.arange(n_bins)
    width = 0.8 / len(models)
    grouped = len(models) > 1

    fig, ax = new_axes(ax, figsize=(max(8, 1.1 * n_bins * (1 + 0.3 * grouped)), 5))
    tallest = 0.0
    for i, (name, report) in enumerate(reports.items()):
        mae = report.per_bin["mae"].to_numpy(dtype=float)
        legend = None
        if grouped:
            legend = f"{name}: MAE {report.mae:.2f}, CMAE {report.cmae:.2f}, bias {fmt_years(report.bias)} years"
        bars = ax.bar(x + (i - (len(models) - 1) / 2) * width, mae, width, label=legend)
        ax.bar_label(bars, labels=["" if np.isnan(m) else f"{m:.1f}" for m in mae],
                     padding=2, fontsize=7 if grouped else 9, bbox=None if grouped else LABEL_BOX)
        tallest = max(tallest, np.nanmax(mae))

    counts = first["n"].to_numpy()
    ax.set_xticks(x, [f"{b}\nn={n}" for b, n in zip(first["bin"], counts)])
    for xi in x[counts == 0]:
        ax.text(xi, 0, "no\nsamples", ha="center", va="bottom", fontsize=8, color="0.45")
    ax.set_xlabel("true age bin (years); n = faces in the bin")
    ax.set_ylabel("MAE (years)")
    # Headroom for the value labels and, when comparing, the legend.
    ax.set_ylim(0, max(tallest, 1e-9) * (1.45 if grouped else 1.3))
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)

    if grouped:
        ax.set_title(f"Per-bin MAE by true age bin (n={report.n}); bias = max - min per-bin MAE")
        ax.legend(loc="upper left", fontsize=8, frameon=False)
    else:
        ax.axhline(report.mae, color="0.3", ls="--", lw=1, label=f"overall MAE {report.mae:.2f} years")
        ax.legend(loc="best", fontsize=8)
        name = f" - {label}" if label else ""
        ax.set_title(f"Per-bin MAE{name} (n={report.n})\n"
                     f"bias (max - min per-bin MAE) {fmt_years(report.bias)} years | "
                     f"MAE {report.mae:.2f} | CMAE {report.cmae:.2f} years")
    return save_figure(fig, path)


@fill_doc
def plot_bin_confusion(y_true, y_pred, bins=None, path=None, ax=None):
    """Confusion matrix between true and predicted age bins.

    Colours are row-normalised (the share of each true bin's faces predicted
    in each bin) and every cell is annotated with its count. Predictions below
    0 count in the first bin. An empty true bin is drawn grey and marked.

    Parameters
    ----------
    {y_true}
    {y_pred}
    {bins}
    {path}
    {ax}

    {returns_fig}

    Examples
    --------
    >>> from skage.viz import plot_bin_confusion
    >>> fig = plot_bin_confusion([5, 15, 25, 70], [7, 24, 30, 60])
    >>> fig.axes[0].get_ylabel()
    'true age bin (years)'
    """
    report = age_report(y_true, y_pred, bins=bins)  # validates both arrays
    edges = check_bins(bins)
    labels = age_bin_labels(edges)
    k = len(edges)
    true_idx = age_bin_indices(y_true, edges)
    pred_idx = age_bin_indices(np.clip(np.asarray(y_pred, dtype=float).reshape(-1), 0, None), edges)
    counts = np.zeros((k, k), dtype=int)
    np.add.at(counts, (true_idx, pred_idx), 1)
    rows = counts.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = counts / rows[:, None]

    fig, ax = new_axes(ax, figsize=(1.0 * k + 2.5, 0.85 * k + 1.6))
    cmap = matplotlib.colormaps["Blues"].with_extremes(bad="0.88")
    image = ax.imshow(np.ma.masked_invalid(share), cmap=cmap, vmin=0, vmax=1)
    for i in range(k):
        if rows[i] == 0:
            ax.text((k - 1) / 2, i, "no samples in this true bin", ha="center", va="center", fontsize=8, color="0.35")
            continue
        for j in range(k):
            dark = share[i, j] > 0.55
            ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=9,
                    color="white" if dark else ("black" if counts[i, j] else "0.6"))
    ax.set_xticks(range(k), labels)
    ax.set_yticks(range(k), [f"{b} (n={n})" for b, n in zip(labels, rows)])
    ax.set_xlabel("predicted age bin (years)")
    ax.set_ylabel("true age bin (years)")
    on_diagonal = np.trace(counts) / report.n
    ax.set_title(f"Age-bin confusion (n={report.n}; colour = row share, numbers = counts)\n"
                 f"{100 * on_diagonal:.1f}% predicted in their true bin | MAE {report.mae:.2f} years")
    fig.colorbar(image, ax=ax, label="share of the true bin's faces", shrink=0.85)
    return save_figure(fig, path)
