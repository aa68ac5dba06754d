"""A transformer that reads images into a fixed-size uint8 batch."""

from numbers import Integral

import numpy as np
from PIL import Image
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval

from .._params import check_params
from ._read import as_image_list, read_images


def square_resize(rgb, size):
    """Centre-crop to a square, then resize to ``size`` × ``size`` (area-averaging when shrinking).

    Examples
    --------
    >>> import numpy as np
    >>> from skage.io import square_resize
    >>> square_resize(np.zeros((40, 60, 3), np.uint8), 16).shape
    (16, 16, 3)
    """
    h, w = rgb.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = rgb[top:top + side, left:left + side]
    if side == size:
        return np.ascontiguousarray(crop)
    resample = Image.Resampling.BOX if side > size else Image.Resampling.BILINEAR
    return np.asarray(Image.fromarray(crop).resize((size, size), resample))


class ImageLoader(TransformerMixin, BaseEstimator):
    """Read paths or arrays into a uint8 ``(N, S, S, 3)`` batch, with no face detection.

    For inputs that are already face crops (e.g. UTKFace chips) when the
    alignment stage is switched off. Non-square images are centre-cropped.

    Parameters
    ----------
    image_size : int, default=224
        Side of the output chips in pixels.
    n_jobs : int, optional
        Parallel readers.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.io import ImageLoader
    >>> ImageLoader(image_size=32).fit_transform(np.zeros((2, 40, 50, 3), np.uint8)).shape
    (2, 32, 32, 3)
    """

    _parameter_constraints = {
        "image_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    def __init__(self, image_size=224, n_jobs=None):
        self.image_size = image_size
        self.n_jobs = n_jobs

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and return ``self``: reading images learns nothing from ``X`` or ``y``."""
        self.n_features_in_ = 1
        return self

    def transform(self, X):
        check_params(self)  # fit is optional (requires_fit=False): the parameters are checked here too
        images = read_images(as_image_list(X), n_jobs=self.n_jobs)
        out = np.empty((len(images), self.image_size, self.image_size, 3), np.uint8)
        for i, rgb in enumerate(images):
            out[i] = square_resize(rgb, self.image_size)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.requires_fit = False
        return tags
