"""All report plots for one set of predictions, written to a folder."""

from pathlib import Path

from ._bins import plot_bin_confusion, plot_per_bin_mae
from ._common import fill_doc
from ._embedding import plot_embedding_tsne
from ._groups import plot_group_mae
from ._scatter import plot_pred_vs_true

#: File name of each plot that :func:`write_report` may write.
REPORT_FILES = {
    "per_bin_mae": "per_bin_mae.png",
    "pred_vs_true": "pred_vs_true.png",
    "bin_confusion": "bin_confusion.png",
    "group_mae": "group_mae.png",
    "embedding_tsne": "embedding_tsne.png",
}


@fill_doc
def write_report(y_true, y_pred, out_dir, groups=None, embeddings=None, bins=None, names=None, random_state=0):
    """Write every applicable report plot as a PNG into ``out_dir``.

    Per-bin MAE, predicted-vs-true and bin confusion are always written; MAE
    by group when ``groups`` is given; the t-SNE map when ``embeddings`` is
    given. File names are fixed (:data:`REPORT_FILES`), so a rerun overwrites.

    Parameters
    ----------
    {y_true}
    {y_pred}
    out_dir : str or path-like
        Folder for the PNGs; created when missing.
    groups : dict of str to array-like, optional
        Group labels per grouping, see :func:`plot_group_mae`.
    embeddings : array-like of shape (n_samples, n_features), optional
        Features of the same samples for :func:`plot_embedding_tsne`.
    {bins}
    names : dict of str to dict, optional
        Display names of group codes, e.g. :data:`UTKFACE_GROUP_NAMES`.
    random_state : int, default=0
        Seed of the t-SNE map.

    Returns
    -------
    paths : dict of str to Path
        Plot name (a key of :data:`REPORT_FILES`) to the written file, in writing order.

    Examples
    --------
    >>> import tempfile
    >>> from skage.viz import write_report
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     sorted(write_report([5, 15, 25, 70], [7, 14, 30, 60], tmp))
    ['bin_confusion', 'per_bin_mae', 'pred_vs_true']
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plots = {
        "per_bin_mae": lambda path: plot_per_bin_mae(y_true, y_pred, bins=bins, path=path),
        "pred_vs_true": lambda path: plot_pred_vs_true(y_true, y_pred, path=path),
        "bin_confusion": lambda path: plot_bin_confusion(y_true, y_pred, bins=bins, path=path),
    }
    if groups is not None:
        plots["group_mae"] = lambda path: plot_group_mae(y_true, y_pred, groups, path=path, names=names)
    if embeddings is not None:
        plots["embedding_tsne"] = lambda path: plot_embedding_tsne(embeddings, y_true, path=path,
                                                                   random_state=random_state)
    paths = {}
    for name, plot in plots.items():
        paths[name] = out_dir / REPORT_FILES[name]
        plot(paths[name])
    return paths
