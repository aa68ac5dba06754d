"""MAE per demographic group (gender, race, ...), one panel per grouping."""

import numpy as np

from ..metrics import age_report
from ._common import LABEL_BOX, fill_doc, fmt_years, new_figure, save_figure
from ._names import map_group_names


def _display_order(table, mapping):
    """Order groups as the names mapping lists them, else numerically when the labels are numbers."""
    known = list((mapping or {}).values())

    def key(label):
        rank = known.index(label) if label in known else len(known)
        try:
            return (rank, 0, float(label), "")
        except ValueError:
            return (rank, 1, 0.0, label)

    return table.iloc[sorted(range(len(table)), key=lambda i: key(table["group"].iloc[i]))]


@fill_doc
def plot_group_mae(y_true, y_pred, groups, path=None, names=None, axes=None):
    """Bars of the MAE per group, one panel per grouping, with the largest gap.

    The gap is the largest minus the smallest group MAE
    (``skage.metrics.age_report(...).gaps``). Missing group labels (None,
    NaN) are left out of the bars and their number is written on the panel.

    Parameters
    ----------
    {y_true}
    {y_pred}
    groups : dict of str to array-like, or array-like
        Group label of each sample per grouping, e.g. ``{"gender": g, "race": r}``;
        a bare array is named ``"group"``.
    {path}
    names : dict of str to dict, optional
        Display names per grouping, ``{grouping: {code: name}}``; e.g.
        :data:`UTKFACE_GROUP_NAMES` turns UTKFace codes into "male", "White", ...
        Codes missing from a mapping are shown as they are.
    axes : sequence of matplotlib Axes, optional
        One axes per grouping to draw into instead of a new figure.

    {returns_fig}

    Examples
    --------
    >>> from skage.viz import UTKFACE_GROUP_NAMES, plot_group_mae
    >>> fig = plot_group_mae([20, 30, 40, 50], [22, 30, 45, 50], {"gender": [0, 1, 0, 1]},
    ...                      names=UTKFACE_GROUP_NAMES)
    >>> [t.get_text().split()[0] for t in fig.axes[0].get_xticklabels()]
    ['male', 'female']
    """
    if not isinstance(groups, dict):
        groups = {"group": groups}
    if not groups:
        raise ValueError("groups is empty; give at least one grouping, e.g. {'gender': labels}")
    names = names or {}
    mapped = {g: map_group_names(labels, names.get(g)) for g, labels in groups.items()}
    report = age_report(y_true, y_pred, groups=mapped)

    own_figure = axes is None
    if own_figure:
        sizes = [max(len(t), 2) for t in report.groups.values()]
        fig = new_figure(figsize=(max(6, 1.0 * sum(sizes) + 1.5 * len(sizes)), 4.8))
        axes = fig.subplots(1, len(sizes), width_ratios=sizes, squeeze=False)[0]
    else:
        axes = list(axes)
        if len(axes) != len(groups):
            raise ValueError(f"axes has {len(axes)} axes but groups has {len(groups)} groupings")
        fig = axes[0].figure

    for ax, (grouping, table) in zip(axes, report.groups.items()):
        table = _display_order(table, names.get(grouping))
        x = np.arange(len(table))
        bars = ax.bar(x, table["mae"], 0.6, color=f"C{list(groups).index(grouping) % 10}")
        ax.bar_label(bars, labels=[f"{m:.2f}" for m in table["mae"]], padding=2, fontsize=9, bbox=LABEL_BOX)
        ax.set_xticks(x, [f"{g}\nn={n}" for g, n in zip(table["group"], table["n"])])
        ax.axhline(report.mae, color="0.3", ls="--", lw=1, label=f"overall MAE {report.mae:.2f} years")
        unknown = int(sum(label is None for label in mapped[grouping]))
        ax.set_xlabel(grouping + (f"\n({unknown} face(s) with unknown {grouping} left out)" if unknown else ""))
        ax.set_ylabel("MAE (years)")
        if len(table) == 0:
            headline = "no known labels"
            ax.set_xlim(-1, 1)
            ax.text(0.5, 0.5, f"every {grouping} label is missing", transform=ax.transAxes,
                    ha="center", va="center", color="0.35")
        elif len(table) == 1:
            headline = "one group only, no gap"
        else:
            headline = f"largest gap {fmt_years(report.gaps[grouping])} years"
        ax.set_title(f"{grouping}: {headline}")
        top = max(float(table["mae"].max()) if len(table) else 0.0, report.mae)
        ax.set_ylim(0, top * 1.3)  # headroom for the value labels and the legend
        ax.grid(axis="y", alpha=0.3)
        ax.set_axisbelow(True)
        ax.legend(loc="best", fontsize=8)
    if own_figure:
        fig.suptitle(f"MAE by group (n={report.n})")
    return save_figure(fig, path)
