"""Local binary pattern histograms over a grid of cells."""

from numbers import Integral, Real

import numpy as np
from skimage.feature import local_binary_pattern
from sklearn.utils._param_validation import Interval

from ._base import _ImageFeatures


class LBPFeatures(_ImageFeatures):
    """Uniform LBP histograms over a grid of cells of a grey, resized face.

    Each face is turned grey, resized to ``image_size`` pixels, coded with
    rotation-invariant uniform local binary patterns
    (:func:`skimage.feature.local_binary_pattern`, ``method="uniform"``) at
    every ``(n_points, radius)`` scale, and cut into ``n_cells x n_cells``
    cells; each cell gives a normalised histogram of its ``n_points + 2``
    codes. Several radii describe both fine wrinkles and coarser texture.

    Parameters
    ----------
    image_size : int, default=64
        Side of the grey square the face is resized to.
    radius : int or sequence of int, default=(1, 2, 3)
        LBP radius per scale.
    n_points : int or sequence of int, default=8
        Neighbours per scale (one value for all scales, or one per radius).
    n_cells : int, default=8
        Cells per side of the grid.
    n_jobs : int, default=None
        Worker processes over images (joblib); ``-1`` uses all cores.

    Attributes
    ----------
    n_features_out_ : int
        ``len(radius) * n_cells**2 * (n_points + 2)`` summed over scales.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.features import LBPFeatures
    >>> faces = np.random.default_rng(0).integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)
    >>> LBPFeatures(image_size=32, radius=1, n_cells=4).fit_transform(faces).shape
    (2, 160)
    """

    _parameter_constraints = {
        **_ImageFeatures._parameter_constraints,
        "radius": [Interval(Real, 1, None, closed="left"), "array-like"],
        "n_points": [Interval(Integral, 4, None, closed="left"), "array-like"],
        "n_cells": [Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, image_size=64, radius=(1, 2, 3), n_points=8, n_cells=8, n_jobs=None):
        self.image_size = image_size
        self.radius = radius
        self.n_points = n_points
        self.n_cells = n_cells
        self.n_jobs = n_jobs

    def _scales(self):
        radii = np.atleast_1d(self.radius)
        points = np.atleast_1d(self.n_points)
        if points.size == 1:
            points = np.repeat(points, radii.size)
        if radii.ndim != 1 or radii.size == 0 or points.size != radii.size:
            raise ValueError(
                f"n_points must be one value or one per radius; got radius={self.radius!r}, n_points={self.n_points!r}"
            )
        if np.any(radii < 1) or np.any(points < 4):
            raise ValueError(f"radius must be >= 1 and n_points >= 4; got {self.radius!r}, {self.n_points!r}")
        return [(int(p), float(r)) for p, r in zip(points, radii)]

    def _check_params(self):
        # fit has checked the declared constraints; this relates several parameters
        if self.n_cells > self.image_size:
            raise ValueError(f"n_cells must be an integer in 1..image_size, got {self.n_cells!r}")
        return sum(self.n_cells**2 * (p + 2) for p, _ in self._scales())

    def _extract(self, face):
        # Histogram edges fall on pixel rows, so every pixel lands in exactly one cell.
        edges = np.linspace(0, self.image_size, self.n_cells + 1).round().astype(int)
        cell_row = np.searchsorted(edges, np.arange(self.image_size), side="right") - 1
        cell = (cell_row[:, None] * self.n_cells + cell_row[None, :]).ravel()
        face = np.round(face * 255).astype(np.uint8)  # LBP compares grey levels; floats only add ties noise
        out = []
        for p, r in self._scales():
            codes = local_binary_pattern(face, p, r, method="uniform").astype(int).ravel()
            hist = np.zeros((self.n_cells**2, p + 2))
            np.add.at(hist, (cell, codes), 1.0)
            out.append(hist / hist.sum(axis=1, keepdims=True))
        return np.concatenate([h.ravel() for h in out])

    def _feature_names(self):
        names = []
        for p, r in self._scales():
            for i in range(self.n_cells):
                for j in range(self.n_cells):
                    names.extend(f"lbp_r{r:g}_cell{i}_{j}_bin{k}" for k in range(p + 2))
        return names
