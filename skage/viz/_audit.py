"""The fairness audit's heat-map, and the audit written to a folder with it."""

import pandas as pd
from matplotlib.patches import Rectangle

from ._common import new_figure, save_figure

#: The heat-map's file, written by :func:`write_audit` beside :data:`skage.metrics._audit.AUDIT_FILES`.
HEATMAP_FILE = "{prefix}_heatmap.png"


def plot_audit_heatmap(audit, path=None):
    """Heat-map of MAE (and interval coverage) per demographic group × age bin.

    Rows are the groups of all non-age features combined (e.g. gender ×
    race), columns the age bins; each cell shows its value and n. Cells with
    fewer than ``audit.min_n`` faces are hatched: no confidence claim.

    Parameters
    ----------
    audit : skage.metrics.FairnessAudit
    path : str or path-like, optional
        Where to write the PNG (see :func:`save_figure`).

    Returns
    -------
    fig : matplotlib Figure

    Examples
    --------
    >>> from skage.metrics import fairness_audit
    >>> from skage.viz import plot_audit_heatmap
    >>> audit = fairness_audit([20, 30, 40, 50], [22, 30, 45, 50], {"gender": ["f", "m", "f", "m"]},
    ...                        min_n=1, n_boot=0)
    >>> ax = plot_audit_heatmap(audit).axes[0]
    >>> ax.get_title(), [label.get_text() for label in ax.get_yticklabels()]
    ('MAE (years)', ['f', 'm'])
    """
    demo = [f for f in audit.features if f != "age_bin"]
    grouping = "×".join([*demo, "age_bin"])
    cells = audit.table[audit.table["grouping"] == grouping].copy()
    cells["row"] = [" / ".join(str(r[f]) for f in demo) or "all" for _, r in cells.iterrows()]
    panels = [("mae", "MAE (years)", "magma_r")]
    if "coverage" in cells:
        panels.append(("coverage", "interval coverage", "RdYlGn"))
    bins = list(audit.faces["age_bin"].cat.categories)
    rows = sorted(cells["row"].unique())
    fig = new_figure((1.1 * len(bins) * len(panels) + 2, 0.45 * len(rows) + 1.8))
    axes = fig.subplots(1, len(panels), squeeze=False)
    for ax, (metric, title, cmap) in zip(axes[0], panels):
        grid = cells.pivot_table(index="row", columns="age_bin", values=metric, observed=False).reindex(
            index=rows, columns=bins)
        counts = cells.pivot_table(index="row", columns="age_bin", values="n", observed=False).reindex(
            index=rows, columns=bins)
        kwargs = {"vmin": 0.7, "vmax": 1.0} if metric == "coverage" else {}
        im = ax.imshow(grid.to_numpy(dtype=float), cmap=cmap, aspect="auto", **kwargs)
        for i in range(len(rows)):
            for j in range(len(bins)):
                n, v = counts.iat[i, j], grid.iat[i, j]
                if pd.isna(n) or n == 0:
                    continue
                text = f"{100 * v:.0f}%" if metric == "coverage" else f"{v:.1f}"
                r, g, b, _ = im.cmap(im.norm(v))
                dark = 0.299 * r + 0.587 * g + 0.114 * b < 0.45  # light text on dark cells
                ax.text(j, i, f"{text}\nn={int(n)}", ha="center", va="center", fontsize=6,
                        color="white" if dark else "black")
                if n < audit.min_n:
                    ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, hatch="///", lw=0, alpha=0.4))
        ax.set_xticks(range(len(bins)), bins, rotation=45)
        ax.set_yticks(range(len(rows)), rows, fontsize=7)
        ax.set_title(title)
        fig.colorbar(im, ax=ax, shrink=0.8)
    fig.suptitle(f"{' × '.join(demo) or 'all'} × age bin (hatched: n < {audit.min_n}, no confidence claim)",
                 fontsize=9)
    return save_figure(fig, path)


def write_audit(audit, out_dir, prefix="audit"):
    """Write the audit's files (:meth:`~skage.metrics.FairnessAudit.write`) and ``<prefix>_heatmap.png``.

    Parameters
    ----------
    audit : skage.metrics.FairnessAudit
    out_dir : str or path-like
        Created when missing.
    prefix : str, default="audit"

    Returns
    -------
    paths : dict of str to Path
        ``faces``, ``groups``, ``markdown`` and ``heatmap``.

    Examples
    --------
    >>> import tempfile
    >>> from skage.metrics import fairness_audit
    >>> from skage.viz import write_audit
    >>> audit = fairness_audit([20, 30, 40, 50], [22, 30, 45, 50], {"gender": ["f", "m", "f", "m"]},
    ...                        min_n=1, n_boot=0)
    >>> with tempfile.TemporaryDirectory() as out:
    ...     print(sorted(path.name for path in write_audit(audit, out).values()))
    ['audit.md', 'audit_faces.csv', 'audit_groups.csv', 'audit_heatmap.png']
    """
    paths = audit.write(out_dir, prefix=prefix)
    paths["heatmap"] = paths["markdown"].with_name(HEATMAP_FILE.format(prefix=prefix))
    plot_audit_heatmap(audit, paths["heatmap"])
    return paths
