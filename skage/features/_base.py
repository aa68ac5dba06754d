"""Shared machinery of the hand-crafted feature transformers: read, grey, resize, extract in parallel."""

from numbers import Integral

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from skimage.color import rgb2gray
from skimage.transform import resize
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval

from .._params import check_fitted
from .._stateless import StatelessFitMixin
from ..io import as_image_list, read_images

# Below this many images, starting worker processes costs more than it saves.
_MIN_PARALLEL = 64


def _rgb_only(item):
    """Keep the colour channels of an array with mask channels appended, ``(S, S, 3 + K)``."""
    if isinstance(item, np.ndarray) and item.ndim == 3 and item.shape[2] > 3:
        return item[:, :, :3]
    return item


def gray_faces(X, image_size):
    """Images (paths or arrays) as float grey squares in [0, 1], shape ``(N, image_size, image_size)``."""
    images = read_images([_rgb_only(x) for x in X])
    out = np.empty((len(images), image_size, image_size))
    for i, rgb in enumerate(images):
        out[i] = resize(rgb2gray(rgb), (image_size, image_size), anti_aliasing=True)
    return out


class _ImageFeatures(StatelessFitMixin, TransformerMixin, BaseEstimator):
    """Base class: subclasses define ``_check_params`` (returns the feature count) and ``_extract``."""

    _parameter_constraints = {
        "image_size": [Interval(Integral, 8, None, closed="left")],
        "n_jobs": [Integral, None],
    }

    def _fit_setup(self):
        self.n_features_out_ = self._check_params()

    def transform(self, X):
        """Extract one feature row per image, in input order.

        Parameters
        ----------
        X : sequence of paths or arrays, or ndarray of shape (N, H, W[, C])
            Images of any size; arrays with more than 3 channels (chips with
            appended mask channels) use the first 3.

        Returns
        -------
        features : ndarray of shape (N, n_features)
        """
        check_fitted(self, "n_features_out_")
        items = as_image_list(X)
        if not items:
            return np.empty((0, self.n_features_out_))
        n_jobs = effective_n_jobs(self.n_jobs)
        if n_jobs == 1 or len(items) < _MIN_PARALLEL:
            return self._transform_chunk(items)
        chunks = np.array_split(np.arange(len(items)), min(len(items), 4 * n_jobs))
        parts = Parallel(n_jobs=n_jobs)(
            delayed(self._transform_chunk)([items[i] for i in chunk]) for chunk in chunks if len(chunk)
        )
        return np.vstack(parts)

    def _transform_chunk(self, items):
        faces = gray_faces(items, self.image_size)
        return np.array([self._extract(face) for face in faces], dtype=np.float64).reshape(
            len(faces), self.n_features_out_
        )

    def get_feature_names_out(self, input_features=None):
        """Names of the output features, e.g. ``lbp_r1_cell0_0_bin3`` or ``hog_0``.

        Parameters
        ----------
        input_features : ignored
            Images have no input feature names.

        Returns
        -------
        names : ndarray of str
        """
        check_fitted(self, "n_features_out_")
        return np.asarray(self._feature_names(), dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # images (N, H, W[, C]) or file paths, not feature tables
        tags.input_tags.three_d_array = True
        tags.input_tags.string = True
        return tags
