"""Conformal age intervals whose coverage holds within every age bin (Mondrian conformal prediction)."""

import warnings
from numbers import Real

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, _fit_context, clone
from sklearn.model_selection import train_test_split
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._params import check_fitted
from ..metrics import age_bin_indices, age_bin_labels, check_ages, check_bins, group_labels

#: The miscoverage of predict_interval's default, 90 % intervals.
_DEFAULT_ALPHA = 0.1


class ConformalAgeRegressor(MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """Wrap an age estimator so that it also predicts calibrated age intervals.

    Split conformal prediction, made *Mondrian* over age bins: the signed
    residuals ``age - prediction`` of held-out calibration faces are grouped
    into strata, and MAPIE's :class:`~mapie.regression.SplitConformalRegressor`
    turns each stratum's residuals into an interval with the requested
    coverage. Optional group labels (gender, race, ...) split the strata
    further.

    With ``condition="age"`` (default) the strata are the *true* age bins of
    the calibration faces (label-conditional conformal prediction). A test face
    gets, for every bin ``b``, the ages of bin ``b`` that the residuals of
    bin ``b`` allow around its prediction; the interval is the hull of these
    pieces. A face whose true age lies in bin ``b`` is inside its piece with
    probability at least ``1 - alpha``, so coverage holds *within every true
    age bin*, children and the elderly included, not only on average.
    With ``condition="predicted_age"`` the strata are bins of the predicted
    age (classic Mondrian conformal prediction); coverage then holds per
    predicted-age bin, which is weaker for the tails because estimators pull
    extreme ages towards the mean.

    Parameters
    ----------
    estimator : estimator object
        Any regressor of ages, e.g. a skage pipeline. Cloned and fitted on
        the training part unless ``prefit=True``.
    calibration_size : float, default=0.25
        Fraction of the faces given to :meth:`fit` kept apart for
        calibration (stratified by age bin). Ignored when ``prefit=True``.
    prefit : bool, default=False
        ``estimator`` is already fitted: :meth:`fit` only calibrates, on all
        the faces it is given (which must not be the estimator's training
        faces).
    condition : {"age", "predicted_age"}, default="age"
        What the age bins of the strata are taken from (see above).
    bins : sequence of float, default=None
        Lower edges of the age bins; ``None`` is
        :data:`skage.metrics.DEFAULT_AGE_BINS`.
    age_range : tuple of (float, float), default=(0, 120)
        Intervals are clipped to this range; its upper end closes the last bin.
    random_state : int, RandomState instance or None, default=None
        Seeds the calibration split.

    Attributes
    ----------
    estimator_ : estimator
        The fitted estimator (``estimator`` itself when ``prefit=True``).
    calibration_pred_ : ndarray of shape (n_calibration,)
        Predicted ages of the calibration faces.
    calibration_age_ : ndarray of shape (n_calibration,)
        Their true ages.
    calibration_groups_ : ndarray of str or None
        Their group labels (``"unknown"`` where missing), when given.
    calibration_indices_ : ndarray of int
        Positions in ``X`` of the faces kept apart for calibration (all of
        them when ``prefit=True``); the others trained :attr:`estimator_`.
        Lets callers record which faces the estimator saw, so that it is
        never scored or recalibrated on them.
    bin_edges_ : ndarray of float
        Lower bin edges.
    bin_labels_ : list of str
    calibration_counts_ : ndarray of int, shape (n_bins,)
        Calibration faces per age bin (true age, or predicted age with
        ``condition="predicted_age"``).
    min_alpha_ : float
        The smallest ``alpha`` whose intervals every age bin can bound:
        ``2 / (n + 1)`` for the smallest bin's ``n`` faces (see Notes). Below
        it, :meth:`predict_interval` warns; 1 or more means some bin has fewer
        than 2 faces and no level can be bounded there. :meth:`fit` warns when
        it is above 0.1 (the default 90 % intervals).

    Notes
    -----
    - A stratum needs at least ``ceil(2 / alpha) - 1`` calibration faces to
      bound its residuals: the residual quantiles are taken at ``alpha / 2``
      and ``1 - alpha / 2`` with the split-conformal correction, level
      ``ceil((1 - alpha / 2) * (n + 1)) / n``, which exceeds 1 (an infinite
      bound) for fewer faces. That is 19 faces for 90 % intervals
      (``alpha=0.1``), 9 for 80 %, 39 for 95 %. With groups, a stratum too
      small falls back to the whole age bin across groups; an age bin too
      small on its own is covered in full (``condition="age"``: every
      interval then reaches across that bin) or falls back to all calibration
      faces (``condition="predicted_age"``), with a warning at :meth:`fit`
      (for 90 % intervals) and at :meth:`predict_interval` (for the level
      asked).
    - A prediction that is NaN (a pipeline's age of an input without a face
      found or unreadable) gets a NaN interval, in its row; infinite
      predictions are an error.
    - Groups seen at predict time but not in calibration use the bin-only
      strata. Missing labels (``None``/NaN) form the group ``"unknown"``.
    - When no bin's piece is left for a face (its prediction is far from
      every bin's residual range), the interval is the point prediction.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import LinearRegression
    >>> from skage.intervals import ConformalAgeRegressor
    >>> rng = np.random.default_rng(0)
    >>> X = rng.uniform(0, 80, size=(2000, 1))
    >>> y = X[:, 0] + rng.normal(0, 3, size=2000)
    >>> y = np.clip(y, 0, None)
    >>> model = ConformalAgeRegressor(LinearRegression(), random_state=0).fit(X, y)
    >>> model.predict_interval(X[:3], alpha=0.1).shape
    (3, 2)
    >>> low, high = model.predict_interval(X, alpha=0.1).T
    >>> bool(0.85 <= np.mean((low <= y) & (y <= high)) <= 0.99)
    True
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "calibration_size": [Interval(Real, 0, 1, closed="neither")],
        "prefit": ["boolean"],
        "condition": [StrOptions({"age", "predicted_age"})],
        "bins": ["array-like", None],
        "age_range": [tuple, list],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator, *, calibration_size=0.25, prefit=False, condition="age", bins=None,
                 age_range=(0, 120), random_state=None):
        self.estimator = estimator
        self.calibration_size = calibration_size
        self.prefit = prefit
        self.condition = condition
        self.bins = bins
        self.age_range = age_range
        self.random_state = random_state

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y, groups=None, **fit_params):
        """Fit the estimator on one part of the faces and calibrate on the rest.

        Parameters
        ----------
        X : array-like
            Whatever the estimator takes (image paths, images, features).
        y : array-like of shape (n_samples,)
            Ages in years.
        groups : array-like of shape (n_samples,), optional
            Group label of each face (e.g. race) for group-conditional
            intervals; missing labels form the group ``"unknown"``.
        **fit_params : dict
            Passed to the estimator's ``fit`` (sliced to the training part
            where they are per-sample arrays of length ``n_samples``).

        Returns
        -------
        self : ConformalAgeRegressor
        """
        y = check_ages(y)
        n = _n_samples(X)
        if n != len(y):
            raise ValueError(f"X has {n} samples but y has {len(y)} ages")
        self.bin_edges_ = check_bins(self.bins)
        self.bin_labels_ = age_bin_labels(self.bin_edges_)
        self._check_age_range(y)
        labels = None if groups is None else _group_labels(groups, n, "groups")
        if self.prefit:
            check_is_fitted(self.estimator)
            self.estimator_ = self.estimator
            cal = np.arange(n)
        else:
            strata = age_bin_indices(y, self.bin_edges_)
            _, counts = np.unique(strata, return_counts=True)
            stratify = strata if counts.min() >= 2 else None  # a single-face bin cannot be split
            train, cal = train_test_split(np.arange(n), test_size=self.calibration_size, stratify=stratify,
                                          random_state=self.random_state)
            params = {k: _safe_indexing(v, train) if _n_samples_or_none(v) == n else v for k, v in fit_params.items()}
            self.estimator_ = clone(self.estimator).fit(_safe_indexing(X, train), y[train], **params)
        pred = np.asarray(self.estimator_.predict(_safe_indexing(X, cal)), dtype=float).reshape(-1)
        usable = np.isfinite(pred)
        if not usable.all():  # e.g. a pipeline's NaN age for a file without a readable face
            warnings.warn(f"{(~usable).sum()} of {len(pred)} calibration faces got no finite prediction "
                          "(no face found?) and are left out of the calibration", UserWarning, stacklevel=2)
        if usable.sum() == 0:
            raise ValueError("no calibration face got a finite prediction")
        self.calibration_pred_ = pred[usable]
        self.calibration_age_ = y[cal][usable]
        self.calibration_groups_ = None if labels is None else labels[cal][usable]
        self.calibration_indices_ = np.sort(cal)
        self.calibration_counts_ = np.bincount(self._calibration_bins(), minlength=len(self.bin_edges_))
        self.min_alpha_ = float(2 / (self.calibration_counts_.min() + 1))
        self._warn_thin_bins(_DEFAULT_ALPHA, stacklevel=4)
        return self

    def predict(self, X):
        """Point predictions of the wrapped estimator."""
        check_fitted(self, "estimator_")
        return self.estimator_.predict(X)

    def predict_interval(self, X, alpha=_DEFAULT_ALPHA, groups=None):
        """Age intervals that hold the true age with probability ``1 - alpha``.

        Parameters
        ----------
        X : array-like
        alpha : float in (0, 1), default=0.1
            Miscoverage: ``0.1`` asks for 90 % intervals.
        groups : array-like of shape (n_samples,), optional
            Group labels of the faces; used only when the model was
            calibrated with groups.

        Returns
        -------
        intervals : ndarray of shape (n_samples, 2)
            Lower and upper ages; NaN in the rows whose prediction is NaN
            (no face found, unreadable input), as :meth:`predict` gives.
        """
        check_fitted(self, "estimator_")
        return self.interval_from_predictions(self.predict(X), alpha=alpha, groups=groups)

    def interval_from_predictions(self, y_pred, alpha=_DEFAULT_ALPHA, groups=None):
        """Intervals around predictions already made by :attr:`estimator_`.

        Lets callers that predict in batches (the command line, the audit)
        add intervals without predicting twice. Same parameters and result
        as :meth:`predict_interval`, with ``y_pred`` instead of ``X``.
        """
        check_fitted(self, "estimator_")
        if not (isinstance(alpha, Real) and 0 < alpha < 1):
            raise ValueError(f"alpha must be a number in (0, 1), got {alpha!r}")
        y_pred = np.asarray(y_pred, dtype=float).reshape(-1)
        if np.isinf(y_pred).any():
            raise ValueError("y_pred has infinite predictions; intervals need finite ones (NaN: no age)")
        labels = self._predict_groups(groups, len(y_pred))
        self._warn_thin_bins(alpha)
        has_age = ~np.isnan(y_pred)  # NaN: no face found or unreadable; its row stays, with no interval
        out = np.full((len(y_pred), 2), np.nan)
        for group in pd.unique(labels[has_age]):
            rows = has_age & (labels == group)
            out[rows] = self._intervals(y_pred[rows], alpha, group)
        return np.clip(out, *self.age_range)

    # ------------------------------------------------------------------ internals

    def _intervals(self, y_pred, alpha, group):
        offsets = self._offsets(alpha, group)
        if self.condition == "predicted_age":
            pred_bin = age_bin_indices(np.clip(y_pred, 0, None), self.bin_edges_)
            return y_pred[:, None] + offsets[pred_bin]
        upper_edges = np.append(self.bin_edges_[1:], self.age_range[1])
        low = np.maximum(self.bin_edges_[None, :], y_pred[:, None] + offsets[None, :, 0])
        high = np.minimum(upper_edges[None, :], y_pred[:, None] + offsets[None, :, 1])
        valid = low <= high
        any_valid = valid.any(axis=1)
        lower = np.where(any_valid, np.where(valid, low, np.inf).min(axis=1), y_pred)
        upper = np.where(any_valid, np.where(valid, high, -np.inf).max(axis=1), y_pred)
        return np.column_stack([lower, upper])

    def _calibration_bins(self):
        return age_bin_indices(np.clip(self._strata_age(), 0, None), self.bin_edges_)

    def _warn_thin_bins(self, alpha, stacklevel=3):
        """Warn when ``alpha`` asks more of some age bin than its calibration faces can bound."""
        counts = getattr(self, "calibration_counts_", None)  # absent in models fitted before it was recorded
        if counts is None:
            counts = np.bincount(self._calibration_bins(), minlength=len(self.bin_edges_))
        need = _min_faces(alpha)
        thin = counts < need
        if not thin.any():
            return
        consequence = ("every interval covers such a bin in full" if self.condition == "age"
                       else "such a bin falls back to the residuals of all calibration faces")
        have = ", ".join(f"{self.bin_labels_[b]} has {counts[b]}" for b in np.flatnonzero(thin))
        warnings.warn(f"too few calibration faces for {(1 - alpha) * 100:g}% intervals (alpha={alpha:g}), which need "
                      f"{need} per age bin (ceil(2 / alpha) - 1): {have}; {consequence}",
                      UserWarning, stacklevel=stacklevel)

    def _offsets(self, alpha, group):
        """(n_bins, 2) residual bounds per age bin; infinite where a bin cannot be calibrated."""
        cal_bins = self._calibration_bins()
        in_group = (np.ones(len(cal_bins), dtype=bool) if group is None
                    else self.calibration_groups_ == group)
        offsets = np.empty((len(self.bin_edges_), 2))
        for b in range(len(self.bin_edges_)):
            bounds = _residual_bounds(self.calibration_pred_, self.calibration_age_, (cal_bins == b) & in_group, alpha)
            if group is not None and not np.all(np.isfinite(bounds)):
                bounds = _residual_bounds(self.calibration_pred_, self.calibration_age_, cal_bins == b, alpha)
            if self.condition == "predicted_age" and not np.all(np.isfinite(bounds)):
                bounds = _residual_bounds(self.calibration_pred_, self.calibration_age_,
                                          np.ones(len(cal_bins), dtype=bool), alpha)
                if not np.all(np.isfinite(bounds)):
                    raise ValueError(f"{len(cal_bins)} calibration faces are too few for alpha={alpha}")
            offsets[b] = bounds
        return offsets

    def _strata_age(self):
        return self.calibration_age_ if self.condition == "age" else self.calibration_pred_

    def _predict_groups(self, groups, n):
        if self.calibration_groups_ is None:
            return np.full(n, None, dtype=object)
        if groups is None:
            warnings.warn("the model was calibrated with groups but predict_interval got none: "
                          "using the age-bin strata across groups", UserWarning, stacklevel=3)
            return np.full(n, None, dtype=object)
        labels = _group_labels(groups, n, "groups")
        unseen = ~np.isin(labels, self.calibration_groups_)
        return np.where(unseen, None, labels).astype(object)  # unseen groups: bin-only strata

    def _check_age_range(self, y):
        if len(self.age_range) != 2 or not self.age_range[0] < self.age_range[1]:
            raise ValueError(f"age_range must be (low, high) with low < high, got {self.age_range!r}")
        if y.max() > self.age_range[1] or y.min() < self.age_range[0]:
            raise ValueError(f"ages span {y.min():g}-{y.max():g}, outside age_range={tuple(self.age_range)}")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        return tags


class _Predictions(RegressorMixin, BaseEstimator):
    """A 'prefit' regressor whose prediction is its single input column.

    MAPIE calibrates a fitted estimator; handing it predictions already made
    keeps the (possibly slow) age estimator out of every calibration call.
    """

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        return np.asarray(X, dtype=float)[:, 0]


def _min_faces(alpha):
    """The fewest calibration faces whose residuals bound ``1 - alpha`` intervals: ``ceil(2 / alpha) - 1``.

    MAPIE's quantile of the upper residuals is at level
    ``ceil((1 - alpha / 2) * (n + 1)) / n`` (the lower side mirrors it), finite
    only while that is at most 1, i.e. ``n >= 2 / alpha - 1``.
    ``tests/intervals/test_conformal.py`` checks it against MAPIE.
    """
    return int(np.ceil(round(2 / alpha - 1, 9)))


def _residual_bounds(y_pred, y_true, mask, alpha):
    """Lower and upper residual bound of the stratum ``mask``, computed by MAPIE.

    MAPIE's asymmetric absolute score takes the ``alpha/2`` and ``1-alpha/2``
    conformal quantiles of the signed residuals; estimators over-estimate
    children and under-estimate the elderly, so symmetric bounds would waste
    width on one side.
    """
    from mapie.conformity_scores import AbsoluteConformityScore
    from mapie.regression import SplitConformalRegressor

    if mask.sum() == 0:
        return np.array([-np.inf, np.inf])
    mapie = SplitConformalRegressor(_Predictions().fit(None), confidence_level=1 - alpha,
                                    conformity_score=AbsoluteConformityScore(sym=False), prefit=True)
    mapie.conformalize(y_pred[mask, None], y_true[mask])
    _, bounds = mapie.predict_interval(np.zeros((1, 1)), allow_infinite_bounds=True)
    return np.array([bounds[0, 0, 0], bounds[0, 1, 0]])


def _group_labels(groups, n, name):
    labels = group_labels(groups)
    if len(labels) != n:
        raise ValueError(f"{name} has {len(labels)} labels but there are {n} samples")
    return labels


def _n_samples(X):
    return X.shape[0] if hasattr(X, "shape") and len(X.shape) else len(X)


def _n_samples_or_none(v):
    return _n_samples(v) if isinstance(v, (np.ndarray, list, tuple, pd.Series, pd.DataFrame)) else None


