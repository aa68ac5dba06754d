"""Face parsing: soft region masks that travel with aligned chips as extra channels.

:class:`FaceParser` draws the regions of :data:`REGIONS` from dlib's 68
landmarks; :class:`BiSeNetParser` is a pluggable neural parser with the same
output contract (torch is imported only when it is used).
:func:`plot_face_regions` and :func:`save_region_grid` draw masks over faces.
"""

from ._parser import PARSE_FLAGS, FaceParser, ParsingResult
from ._plot import plot_face_regions, save_region_grid
from ._regions import REGIONS, region_masks, region_polygons

__all__ = [
    "PARSE_FLAGS",
    "REGIONS",
    "BiSeNetParser",
    "FaceParser",
    "ParsingResult",
    "plot_face_regions",
    "region_masks",
    "region_polygons",
    "save_region_grid",
]


def __getattr__(name):
    # BiSeNetParser's module imports torch, which alone takes seconds.
    if name == "BiSeNetParser":
        from ._bisenet import BiSeNetParser

        return BiSeNetParser
    raise AttributeError(f"module 'skage.parsing' has no attribute {name!r}")
