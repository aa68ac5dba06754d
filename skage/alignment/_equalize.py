"""Contrast-limited adaptive histogram equalization (CLAHE) as a transformer."""

from numbers import Integral, Real

import numpy as np
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval

from .._stateless import ChipsFitMixin


def _equalize(image, kernel_size, clip_limit, nbins):
    from skimage.exposure import equalize_adapthist

    rgb = equalize_adapthist(image[..., :3], kernel_size=kernel_size, clip_limit=clip_limit, nbins=nbins)
    out = image.copy()
    out[..., :3] = np.clip(rgb * 255 + 0.5, 0, 255).astype(np.uint8)
    return out


class HistogramEqualizer(ChipsFitMixin, TransformerMixin, BaseEstimator):
    """CLAHE on the colour channels of uint8 chips; extra channels pass through.

    Evens out lighting between photos before a network sees them. Colour
    images are equalized on their brightness (scikit-image's
    ``equalize_adapthist`` works in HSV value), so hues are kept. Channels
    after the first three, e.g. region masks from
    :class:`skage.parsing.FaceParser`, are returned unchanged, so the
    equalizer may sit before or after the parser.

    Parameters
    ----------
    kernel_size : int, default=None
        Tile size in pixels; ``None`` is 1/8 of the image side.
    clip_limit : float, default=0.01
        Contrast limit in (0, 1]; higher gives stronger contrast.
    nbins : int, default=256
        Histogram bins.
    n_jobs : int, default=None
        Parallel jobs over images (joblib).

    Attributes
    ----------
    n_channels_in_ : int
        Channels of the images seen in :meth:`fit`; at least 3.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.alignment import HistogramEqualizer
    >>> chips = np.random.default_rng(0).integers(0, 100, (2, 32, 32, 5), dtype=np.uint8)
    >>> out = HistogramEqualizer().fit_transform(chips)
    >>> out.shape, bool((out[..., 3:] == chips[..., 3:]).all())
    ((2, 32, 32, 5), True)
    """

    _parameter_constraints = {
        "kernel_size": [Interval(Integral, 1, None, closed="left"), "array-like", None],
        "clip_limit": [Interval(Real, 0, 1, closed="right")],
        "nbins": [Interval(Integral, 2, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    def __init__(self, kernel_size=None, clip_limit=0.01, nbins=256, n_jobs=None):
        self.kernel_size = kernel_size
        self.clip_limit = clip_limit
        self.nbins = nbins
        self.n_jobs = n_jobs

    def transform(self, X):
        """Equalized chips.

        Parameters
        ----------
        X : ndarray of shape (N, H, W, C), uint8

        Returns
        -------
        X_eq : ndarray of shape (N, H, W, C), uint8
        """
        X = self._check_fitted_chips(X)
        args = (self.kernel_size, self.clip_limit, self.nbins)
        images = Parallel(n_jobs=self.n_jobs)(delayed(_equalize)(image, *args) for image in X)
        return np.stack(images) if images else X.copy()

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # uint8 chips (N, H, W, C), not feature tables
        return tags
