"""Histograms of oriented gradients."""

from numbers import Integral

from skimage.feature import hog
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import _ImageFeatures


class HOGFeatures(_ImageFeatures):
    """HOG descriptor (:func:`skimage.feature.hog`) of a grey, resized face.

    Parameters
    ----------
    image_size : int, default=64
        Side of the grey square the face is resized to.
    orientations : int, default=9
        Gradient orientation bins.
    pixels_per_cell : int, default=8
        Side of a square cell in pixels (8 gives an 8 x 8 grid at 64 px).
    cells_per_block : int, default=2
        Side of a normalisation block in cells.
    block_norm : {"L1", "L1-sqrt", "L2", "L2-Hys"}, default="L2-Hys"
        Block normalisation.
    n_jobs : int, default=None
        Worker processes over images (joblib); ``-1`` uses all cores.

    Attributes
    ----------
    n_features_out_ : int
        ``blocks**2 * cells_per_block**2 * orientations`` with
        ``blocks = image_size // pixels_per_cell - cells_per_block + 1``.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.features import HOGFeatures
    >>> faces = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    >>> HOGFeatures(image_size=32).fit_transform(faces).shape
    (2, 324)
    """

    _parameter_constraints = {
        **_ImageFeatures._parameter_constraints,
        "orientations": [Interval(Integral, 1, None, closed="left")],
        "pixels_per_cell": [Interval(Integral, 1, None, closed="left")],
        "cells_per_block": [Interval(Integral, 1, None, closed="left")],
        "block_norm": [StrOptions({"L1", "L1-sqrt", "L2", "L2-Hys"})],
    }

    def __init__(self, image_size=64, orientations=9, pixels_per_cell=8, cells_per_block=2, block_norm="L2-Hys",
                 n_jobs=None):
        self.image_size = image_size
        self.orientations = orientations
        self.pixels_per_cell = pixels_per_cell
        self.cells_per_block = cells_per_block
        self.block_norm = block_norm
        self.n_jobs = n_jobs

    def _check_params(self):
        # fit has checked the declared constraints; this relates several parameters
        blocks = self.image_size // self.pixels_per_cell - self.cells_per_block + 1
        if blocks < 1:
            raise ValueError(
                f"image_size={self.image_size} holds fewer than cells_per_block={self.cells_per_block} cells "
                f"of pixels_per_cell={self.pixels_per_cell}"
            )
        return blocks**2 * self.cells_per_block**2 * self.orientations

    def _extract(self, face):
        return hog(
            face,
            orientations=self.orientations,
            pixels_per_cell=(self.pixels_per_cell, self.pixels_per_cell),
            cells_per_block=(self.cells_per_block, self.cells_per_block),
            block_norm=self.block_norm,
            feature_vector=True,
        )

    def _feature_names(self):
        return [f"hog_{k}" for k in range(self.n_features_out_)]
