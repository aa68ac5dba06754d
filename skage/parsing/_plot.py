"""Region plots under their earlier names; the plots themselves live in :mod:`skage.viz`.

The functions import :mod:`skage.viz` when called, so that the parsing layer
does not depend on the plotting layer when it is imported.
"""


def plot_face_regions(image, masks=None, regions=None, alpha=0.5, path=None, ax=None):
    """Overlay region masks on a face: :func:`skage.viz.plot_face_regions`.

    ``regions=None`` shows every region but ``"skin"``. Returns the Figure.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.alignment import template_landmarks
    >>> from skage.parsing import plot_face_regions, region_masks
    >>> masks = region_masks(template_landmarks(68, 64, 0.1), 64)
    >>> fig = plot_face_regions(np.zeros((64, 64, 3), np.uint8), masks)
    """
    from ..viz import _regions

    regions = _regions.DEFAULT_SHOWN if regions is None else regions
    return _regions.plot_face_regions(image, masks, regions=regions, alpha=alpha, path=path, ax=ax)


def save_region_grid(chips, path, ncols=4, regions=None, alpha=0.5, titles=None):
    """Write a PNG grid of chips with their region masks: :func:`skage.viz.plot_region_grid`.

    ``regions=None`` shows every region but ``"skin"``. Returns the Figure.
    """
    from ..viz import _regions

    regions = _regions.DEFAULT_SHOWN if regions is None else regions
    return _regions.plot_region_grid(chips, path, ncols=ncols, regions=regions, alpha=alpha, titles=titles)
