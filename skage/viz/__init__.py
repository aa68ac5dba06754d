"""Report plots (PNG) for age-estimation results.

Every function takes the data plus an optional output ``path`` (and usually an
``ax``), draws with matplotlib's Agg canvas and returns the Figure; the numbers
come from :mod:`skage.metrics`. Attention heatmaps live in :mod:`skage.nn`.
"""

from ._bins import plot_bin_confusion, plot_per_bin_mae
from ._embedding import plot_embedding_tsne
from ._groups import plot_group_mae
from ._names import GENDER_NAMES, RACE_NAMES, UTKFACE_GROUP_NAMES, map_group_names
from ._report import REPORT_FILES, write_report
from ._scatter import plot_pred_vs_true

__all__ = [
    "plot_per_bin_mae", "plot_pred_vs_true", "plot_bin_confusion", "plot_group_mae", "plot_embedding_tsne",
    "write_report", "REPORT_FILES", "GENDER_NAMES", "RACE_NAMES", "UTKFACE_GROUP_NAMES", "map_group_names",
]
