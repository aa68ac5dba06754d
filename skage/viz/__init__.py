"""Plots (PNG) for age-estimation results, faces and heatmaps: the one home of skage's plotting.

Every plot takes the data plus an optional output ``path`` (and usually an
``ax``), draws on matplotlib's Agg canvas (nothing registered with pyplot) and
returns the Figure; files are written by :func:`save_figure` at :data:`DPI`.
:func:`draw_faces`, a photo with its faces boxed and aged, is drawn with Pillow
instead (one per photo of a library: a figure each would be too slow).
The numbers (and the fairness audit) come from :mod:`skage.metrics`, the masks from
:mod:`skage.parsing` and the heatmaps from :mod:`skage.nn` (imported only when
a heatmap is drawn).
"""

from ._audit import plot_audit_heatmap, write_audit
from ._bins import plot_bin_confusion, plot_per_bin_mae
from ._common import DPI, new_figure, save_figure
from ._embedding import plot_embedding_tsne
from ._faces import draw_faces
from ._groups import plot_group_mae
from ._heatmaps import plot_attention_grid, plot_grad_cam
from ._names import GENDER_NAMES, RACE_NAMES, UTKFACE_GROUP_NAMES, map_group_names
from ._regions import overlay_regions, plot_face_regions, plot_region_grid
from ._report import REPORT_FILES, write_report
from ._scatter import plot_pred_vs_true

__all__ = [
    "plot_per_bin_mae", "plot_pred_vs_true", "plot_bin_confusion", "plot_group_mae", "plot_embedding_tsne",
    "plot_attention_grid", "plot_grad_cam", "draw_faces", "plot_face_regions", "plot_region_grid", "overlay_regions",
    "plot_audit_heatmap", "write_report", "write_audit", "save_figure", "new_figure", "DPI", "REPORT_FILES", "GENDER_NAMES", "RACE_NAMES",
    "UTKFACE_GROUP_NAMES", "map_group_names",
]
