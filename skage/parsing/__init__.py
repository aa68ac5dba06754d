"""Face parsing: soft region masks that travel with aligned chips as extra channels.

:class:`FaceParser` draws the regions of :data:`REGIONS` from dlib's 68
landmarks; :class:`BiSeNetParser` is a pluggable neural parser with the same
output contract (torch is imported only when it is used).
Their plots are in :mod:`skage.viz` (:func:`~skage.viz.plot_face_regions`, :func:`~skage.viz.plot_region_grid`).
"""

from ._parser import PARSE_FLAGS, FaceParser, ParsingResult
from ._regions import REGIONS, region_masks, region_polygons

__all__ = [
    "PARSE_FLAGS",
    "REGIONS",
    "BiSeNetParser",
    "FaceParser",
    "ParsingResult",
    "region_masks",
    "region_polygons",
]


def __getattr__(name):
    # BiSeNetParser's module imports torch, which alone takes seconds.
    if name == "BiSeNetParser":
        from ._bisenet import BiSeNetParser

        return BiSeNetParser
    raise AttributeError(f"module 'skage.parsing' has no attribute {name!r}")
