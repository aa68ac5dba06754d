"""Degraded copies of the training chips, added during ``fit`` only (an imbalanced-learn sampler)."""

from numbers import Real

import numpy as np
from imblearn.base import BaseSampler
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval

from .._stateless import ImageSamplerMixin
from ._degrade import check_degradations, degrade_chip


class DegradedCopies(ImageSamplerMixin, BaseSampler):
    """Add degraded copies of the training chips, with their ages, during ``fit`` only.

    Models trained on sharp colour chips read old, gray or soft photos as
    old people (FG-NET's gray scans: +17 years). Shown degraded copies of
    the same faces with the same ages (:func:`degrade_chip`: grayscale,
    faded print colour, low contrast, blur, low resolution, noise, JPEG),
    the model learns ages that do not depend on how the photo was taken. As
    an imbalanced-learn sampler it acts only while a pipeline is fitted:
    prediction sees the photos as they are. Put it after the aligner (it
    degrades chips) and before the features.

    Parameters
    ----------
    n_copies : float, default=1.0
        Degraded copies per chip: the integer part for every chip, the
        fraction for a random share of them (``0.5``: half the chips get
        one).
    probabilities : dict, default=None
        Overrides of :data:`skage.augment.DEGRADATIONS`, the probability of
        each degradation in a copy (e.g. ``{"grayscale": 0.5}``).
    random_state : int, RandomState instance or None, default=None

    Attributes
    ----------
    sample_indices_ : ndarray of int
        For each output chip, the index of the chip it is (a copy of).
    degraded_ : ndarray of bool
        True for the added copies (placed after the originals).

    Examples
    --------
    >>> import numpy as np
    >>> from skage.augment import DegradedCopies
    >>> chips = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    >>> X, y = DegradedCopies(n_copies=1.5, random_state=0).fit_resample(chips, [1.0, 2.0, 3.0, 4.0])
    >>> X.shape, y.shape
    ((10, 32, 32, 3), (10,))
    """

    _parameter_constraints = {
        "n_copies": [Interval(Real, 0, None, closed="left")],
        "probabilities": [dict, None],
        "random_state": ["random_state"],
    }

    def __init__(self, n_copies=1.0, probabilities=None, random_state=None):
        self.n_copies = n_copies
        self.probabilities = probabilities
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_resample(self, X, y, **params):
        """Return the chips followed by their degraded copies, and the ages to match.

        Parameters
        ----------
        X : ndarray of shape (N, H, W, C >= 3), dtype uint8
            Aligned chips (RGB first).
        y : array-like of shape (N,)

        Returns
        -------
        X_out : ndarray of shape (N + n_added, H, W, C)
        y_out : ndarray of shape (N + n_added,)
        """
        probabilities = check_degradations(self.probabilities)
        X, y = np.asarray(X), np.asarray(y, dtype=float)
        if X.ndim != 4 or X.shape[-1] < 3 or X.dtype != np.uint8:
            raise ValueError(f"DegradedCopies takes uint8 chips of shape (N, H, W, C >= 3) from an aligner, "
                             f"got shape {X.shape} and dtype {X.dtype}")
        if len(X) != len(y):
            raise ValueError(f"X has {len(X)} chips but y has {len(y)} ages")
        seed = self.random_state if isinstance(self.random_state, (int, np.integer)) else None
        if isinstance(self.random_state, np.random.RandomState):
            seed = self.random_state.randint(2**31)
        rng = np.random.default_rng(seed)
        whole, share = divmod(self.n_copies, 1)
        sources = np.r_[np.tile(np.arange(len(X)), int(whole)),
                        np.sort(rng.choice(len(X), int(round(share * len(X))), replace=False))].astype(int)
        copies = np.empty((len(sources), *X.shape[1:]), np.uint8)
        for i, source in enumerate(sources):
            copies[i] = degrade_chip(X[source], rng, probabilities)
        self.sample_indices_ = np.r_[np.arange(len(X)), sources]
        self.degraded_ = np.r_[np.zeros(len(X), bool), np.ones(len(sources), bool)]
        return np.concatenate([X, copies]), y[self.sample_indices_]
