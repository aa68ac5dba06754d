"""``fit`` of the transformers that learn nothing from the data, or only the chips' channel count;
and the common part of the samplers of images (``ImageSamplerMixin``).

Their ``fit`` checks the parameters and readies what ``transform`` needs
(model files, the output width), so that a bad option or a missing model
fails at ``fit``, in the caller, rather than later in a worker process.
"""

import numpy as np
from sklearn.base import _fit_context

from ._params import check_fitted


class StatelessFitMixin:
    """``fit(X=None, y=None)`` that checks the parameters and calls ``self._fit_setup()``.

    The declared ``_parameter_constraints`` are checked first (scikit-learn's
    ``_fit_context``); ``_fit_setup`` then checks what constraints cannot say
    (options that exclude each other, model files being there) and sets the
    fitted attributes (names ending in ``_``) that ``transform`` checks for.
    Used by the alignment and the feature transformers; put it before
    ``BaseEstimator`` in the bases.
    """

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Check the parameters and load what ``transform`` needs; learns nothing from ``X``.

        Parameters
        ----------
        X : ignored
        y : ignored

        Returns
        -------
        self : object
        """
        self._fit_setup()
        return self


class ChipsFitMixin:
    """The checks of transformers of uint8 chips ``(N, H, W, C >= 3)`` whose extra channels pass through.

    ``fit(X)`` checks the parameters (``_fit_context``) and the chips, calls
    ``self._fit_setup()`` and remembers the chips' channel count in
    ``n_channels_in_``; :meth:`_check_fitted_chips` holds later chips to it.
    Class attributes: ``_square_chips``, whether the chips must be square (a
    parser's geometry assumes it); ``_chips_origin``, where such chips come
    from, for the error message.
    """

    _square_chips = False
    _chips_origin = ""

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and the chips' shape; learns only their channel count.

        Parameters
        ----------
        X : ndarray of shape (N, H, W, C), uint8, C >= 3
        y : ignored

        Returns
        -------
        self : object
        """
        X = self._check_chips(X)
        self._fit_setup()
        self.n_channels_in_ = X.shape[-1]
        return self

    def _fit_setup(self):
        """What ``fit`` checks or readies besides the chips; nothing by default."""

    def _check_chips(self, X):
        X = X if isinstance(X, np.ndarray) else np.asarray(X)
        square = not self._square_chips or X.ndim == 4 and X.shape[1] == X.shape[2]
        if X.ndim != 4 or not square or X.shape[-1] < 3 or X.dtype != np.uint8:
            side = "S, S" if self._square_chips else "H, W"
            raise ValueError(f"{type(self).__name__} expects uint8 chips of shape (N, {side}, C >= 3)"
                             f"{self._chips_origin}; got {X.dtype} array of shape {X.shape}")
        return X

    def _check_fitted_chips(self, X):
        """``X`` checked as chips with the channel count seen by ``fit``."""
        check_fitted(self, "n_channels_in_")
        X = self._check_chips(X)
        if X.shape[-1] != self.n_channels_in_:
            raise ValueError(f"{type(self).__name__} was fitted on {self.n_channels_in_} channels, got {X.shape[-1]}")
        return X


class ImageSamplerMixin:
    """imbalanced-learn samplers of images (paths, pixel arrays, chips) whose ``fit_resample`` does the work.

    imbalanced-learn's ``BaseSampler`` wants ``_fit_resample``; these samplers
    override ``fit_resample`` itself (they check their own inputs, which
    are not 2-d tables) and declare image input. Put it before
    ``BaseSampler`` in the bases.
    """

    _sampling_type = "bypass"

    def _fit_resample(self, X, y, **params):  # required by imblearn's ABC
        return self.fit_resample(X, y, **params)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        return tags
