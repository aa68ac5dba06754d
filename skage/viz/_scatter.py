"""Predicted-versus-true age scatter."""

import numpy as np

from ..metrics import age_report
from ._common import fill_doc, new_axes, save_figure


@fill_doc
def plot_pred_vs_true(y_true, y_pred, path=None, ax=None, band=5):
    """Scatter of predicted against true age with the identity line and a tolerance band.

    Points inside the shaded band are within ``band`` years of the truth; the
    share of them is Acc@``band`` (:func:`skage.metrics.acc_at_k`).

    Parameters
    ----------
    {y_true}
    {y_pred}
    {path}
    {ax}
    band : float, default=5
        Half-width of the tolerance band in years.

    {returns_fig}

    Examples
    --------
    >>> from skage.viz import plot_pred_vs_true
    >>> fig = plot_pred_vs_true([5, 15, 25, 70], [7, 14, 30, 60])
    >>> fig.axes[0].get_xlabel()
    'true age (years)'
    """
    report = age_report(y_true, y_pred, k=band)
    y_true = np.asarray(y_true, dtype=float).reshape(-1)
    y_pred = np.asarray(y_pred, dtype=float).reshape(-1)

    # Same scale on both axes, but each starts at its own minimum: negative predictions
    # should not stretch the true-age axis below 0.
    x_lo = min(0.0, y_true.min()) - 1
    y_lo = min(0.0, y_pred.min()) - 1
    hi = max(y_true.max(), y_pred.max()) * 1.03 + 1
    tall = (hi - y_lo) / (hi - x_lo)
    fig, ax = new_axes(ax, figsize=(6.5, float(np.clip(1.2 + 5.0 * tall, 4.5, 9))))
    line = np.array([min(x_lo, y_lo), hi])
    ax.fill_between(line, line - band, line + band, color="tab:green", alpha=0.15, lw=0,
                    label=f"within ±{band:g} years ({100 * report.acc:.1f}% of faces)")
    ax.plot(line, line, color="0.25", lw=1, label="perfect prediction")
    # Dense clouds saturate at fixed alpha; fade points as their number grows.
    alpha = float(np.clip(150 / report.n, 0.15, 0.7))
    ax.scatter(y_true, y_pred, s=8, alpha=alpha, color="tab:blue", edgecolors="none", label="face")
    ax.set_xlim(x_lo, hi)
    ax.set_ylim(y_lo, hi)
    ax.set_aspect("equal")
    ax.set_xlabel("true age (years)")
    ax.set_ylabel("predicted age (years)")
    ax.set_title(f"Predicted vs true age (n={report.n})\n"
                 f"MAE {report.mae:.2f} | CMAE {report.cmae:.2f} years | Acc@{band:g} {100 * report.acc:.1f}%")
    ax.grid(alpha=0.3)
    legend = ax.legend(loc="upper left", fontsize=8)
    for handle in legend.legend_handles:
        handle.set_alpha(1)
    return save_figure(fig, path)
