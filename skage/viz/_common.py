"""Figure creation and saving shared by every skage plot.

Figures are built with :class:`matplotlib.figure.Figure` and the Agg canvas
rather than ``pyplot``: nothing is registered globally, so report code never
leaks open figures or depends on (or changes) the user's interactive backend.
"""

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..io import atomic_write

#: Resolution of the written PNGs; an 8x5 inch figure gives 1200x750 pixels.
DPI = 150


def new_axes(ax=None, figsize=(8, 5)):
    """Return ``(fig, ax)``: the given axes and its figure, or a fresh Agg figure."""
    if ax is not None:
        return ax.figure, ax
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot()


def new_figure(figsize, layout="constrained"):
    """A fresh, empty Agg figure (not registered with pyplot).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> from skage.viz import new_figure
    >>> fig = new_figure((3, 2))
    >>> fig.get_size_inches().tolist(), fig in map(plt.figure, plt.get_fignums())
    ([3.0, 2.0], False)
    """
    fig = Figure(figsize=figsize, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path=None):
    """Write ``fig`` as a PNG at :data:`DPI` when ``path`` is given; return ``fig``.

    Every skage plot ends here, so that all of them return their Figure and
    write files the same way: parent folders are created, the background is
    white whatever the style, and the file is replaced whole or not at all
    (:func:`skage.io.atomic_write`): a full disk leaves the old PNG intact.

    Parameters
    ----------
    fig : matplotlib Figure
    path : str or path-like, optional
        PNG file to write; nothing is written when None.

    Returns
    -------
    fig : matplotlib Figure

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from skage.viz import new_figure, save_figure
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     fig = save_figure(new_figure((2, 2)), pathlib.Path(tmp) / "sub" / "empty.png")
    ...     (pathlib.Path(tmp) / "sub" / "empty.png").is_file()
    True
    """
    if path is not None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_write(path, "wb") as f:
            fig.savefig(f, dpi=DPI, format="png", facecolor="white")
    return fig


#: Keeps a bar's value label readable where a reference line crosses it.
LABEL_BOX = dict(boxstyle="square,pad=0.1", facecolor="white", edgecolor="none", alpha=0.85)


def fmt_years(value):
    """``"4.21"``, or ``"n/a"`` for NaN (e.g. a gap with fewer than two groups)."""
    return "n/a" if value != value else f"{value:.2f}"


#: Parameter and return descriptions shared by the plots' docstrings, one wording for each;
#: :func:`fill_doc` puts them where a docstring says ``{name}``.
DOC_PARTS = {
    "y_true": "y_true : array-like of shape (n_samples,)\n        True ages in years.",
    "y_pred": "y_pred : array-like of shape (n_samples,)\n        Predicted ages in years.",
    "bins": "bins : sequence of float, optional\n"
            "        Lower bin edges; default :data:`skage.metrics.DEFAULT_AGE_BINS`.",
    "path": "path : str or path-like, optional\n        Where to write the PNG (see :func:`save_figure`).",
    "ax": "ax : matplotlib Axes, optional\n        Draw into this axes instead of a new figure.",
    "returns_fig": "Returns\n    -------\n    fig : matplotlib Figure",
}


def fill_doc(func):
    """Replace each ``{name}`` of :data:`DOC_PARTS` in ``func``'s docstring (other braces stay)."""
    for name, text in DOC_PARTS.items():
        func.__doc__ = func.__doc__.replace("{" + name + "}", text)
    return func
