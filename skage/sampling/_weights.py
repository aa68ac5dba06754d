"""Balance age bins through sample weights instead of resampling.

The effective-number weights are defined here, once, for this regressor and for AgeNet's loss
(:class:`skage.nn.AgeLoss`), which imports them from this layer below it.
"""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval

from .._params import check_fitted
from ..metrics import age_bin_counts, age_bin_indices, check_ages, check_bins


def effective_number_weights(y, bins=None, beta=0.999):
    """Class-balanced weights per age bin from the effective number of samples.

    Cui et al. (2019) weight a class seen ``n`` times by
    ``(1 - beta) / (1 - beta ** n)``, the inverse of its effective number of
    samples. The weights are scaled so that their average over the training
    samples is 1, which keeps the loss on the scale of an unweighted one.
    Bins without training samples get weight 0 (they never occur in the loss).

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Training ages.
    bins : sequence of float, default=None
        Lower bin edges; ``skage.metrics.DEFAULT_AGE_BINS`` when None.
    beta : float in [0, 1), default=0.999
        0 gives equal weights; values close to 1 approach inverse frequency.

    Returns
    -------
    weights : ndarray of shape (n_bins,)

    Examples
    --------
    >>> from skage.sampling import effective_number_weights
    >>> effective_number_weights([5, 5, 5, 25], bins=[0, 11, 21], beta=0.9).round(2).tolist()
    [0.7, 0.0, 1.9]
    """
    edges = check_bins(bins)
    return effective_number_weights_from_counts(age_bin_counts(y, edges), beta)


def effective_number_weights_from_counts(counts, beta=0.999):
    """:func:`effective_number_weights` from the number of training samples per bin.

    Use it when the ages at hand are not the distribution to balance, e.g.
    behind a resampler, whose output is already balanced (every weight would
    be 1): pass the counts from before resampling.

    Parameters
    ----------
    counts : array-like of shape (n_bins,)
        Non-negative sample counts, not all zero.
    beta : float in [0, 1), default=0.999

    Returns
    -------
    weights : ndarray of shape (n_bins,)

    Examples
    --------
    >>> from skage.sampling import effective_number_weights_from_counts
    >>> effective_number_weights_from_counts([3, 0, 1], beta=0.9).round(2).tolist()
    [0.7, 0.0, 1.9]
    """
    if not 0 <= beta < 1:
        raise ValueError(f"beta must be in [0, 1), got {beta!r}")
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 1 or not np.all(np.isfinite(counts)) or np.any(counts < 0) or counts.sum() <= 0:
        raise ValueError(f"counts must be non-negative sample counts per bin, not all zero; got {counts.tolist()!r}")
    weights = np.zeros_like(counts)
    seen = counts > 0
    weights[seen] = (1 - beta) / (1 - beta ** counts[seen])
    return weights * counts.sum() / (weights * counts).sum()


class AgeBinWeightedRegressor(MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """Fit a regressor with class-balanced sample weights over age bins.

    The class-sensitive idea of AgeNet's loss for any scikit-learn regressor:
    each training face is weighted by its age bin's effective-number weight
    (Cui et al., 2019; :func:`effective_number_weights`), so rare
    bins (the old, the very young) count more. Unlike over-sampling, no
    sample is repeated.

    Parameters
    ----------
    estimator : regressor
        Must accept ``sample_weight`` in ``fit``; for a
        :class:`~sklearn.pipeline.Pipeline` the weights go to its last step.
        Cloned at fit.
    beta : float in [0, 1), default=0.999
        0 gives equal weights; values close to 1 approach inverse frequency.
    bins : sequence of float, default=None
        Lower bin edges; :data:`skage.metrics.DEFAULT_AGE_BINS` when None.

    Attributes
    ----------
    estimator_ : regressor
        The fitted clone.
    bin_weights_ : ndarray of shape (n_bins,)
        Weight of each bin (mean 1 over the training samples).

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skage.sampling import AgeBinWeightedRegressor
    >>> X, y = np.arange(8.0).reshape(-1, 1), np.array([5, 6, 7, 8, 9, 15, 65, 70.0])
    >>> reg = AgeBinWeightedRegressor(Ridge(), beta=0.9).fit(X, y)
    >>> bool(reg.bin_weights_[6] > reg.bin_weights_[0])  # the rare 61+ bin weighs more
    True
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "beta": [Interval(Real, 0, 1, closed="left")],
        "bins": ["array-like", None],
    }

    def __init__(self, estimator, beta=0.999, bins=None):
        self.estimator = estimator
        self.beta = beta
        self.bins = bins

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit ``estimator`` with per-sample bin weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Ages in years.

        Returns
        -------
        self : AgeBinWeightedRegressor
        """
        y = check_ages(y)
        edges = check_bins(self.bins)
        self.bin_weights_ = effective_number_weights(y, edges, self.beta)
        weights = self.bin_weights_[age_bin_indices(y, edges)]
        estimator = clone(self.estimator)
        key = f"{estimator.steps[-1][0]}__sample_weight" if hasattr(estimator, "steps") else "sample_weight"
        self.estimator_ = estimator.fit(X, y, **{key: weights})
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def predict(self, X):
        """The fitted estimator's ages.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_fitted(self, "estimator_")
        return np.asarray(self.estimator_.predict(X), dtype=float)

    def __sklearn_tags__(self):
        from copy import deepcopy

        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        tags.input_tags = deepcopy(get_tags(self.estimator).input_tags)  # X goes to the estimator as is
        tags.target_tags.positive_only = True  # ages
        return tags
