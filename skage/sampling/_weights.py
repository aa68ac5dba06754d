"""Balance age bins through sample weights instead of resampling."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted

from ..metrics import age_bin_indices, check_ages, check_bins


class AgeBinWeightedRegressor(MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """Fit a regressor with class-balanced sample weights over age bins.

    The class-sensitive idea of AgeNet's loss for any scikit-learn regressor:
    each training face is weighted by its age bin's effective-number weight
    (Cui et al., 2019; :func:`skage.nn.effective_number_weights`), so rare
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
        from ..nn import effective_number_weights  # one definition, shared with AgeNet's loss

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
        check_is_fitted(self, "estimator_")
        return np.asarray(self.estimator_.predict(X), dtype=float)

    def __sklearn_tags__(self):
        from copy import deepcopy

        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        tags.input_tags = deepcopy(get_tags(self.estimator).input_tags)  # X goes to the estimator as is
        tags.target_tags.positive_only = True  # ages
        return tags
