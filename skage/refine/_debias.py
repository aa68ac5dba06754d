"""Undo the pull of predicted ages toward the middle of the training ages."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, clone
from sklearn.model_selection import KFold, ShuffleSplit, check_cv
from sklearn.utils import _safe_indexing, indexable
from sklearn.utils._param_validation import HasMethods, Interval, RealNotInt
from sklearn.utils.metadata_routing import (MetadataRouter, MethodMapping, _routing_enabled,
                                            process_routing)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_method_params

from .._params import check_fitted
from ..metrics import age_bin_indices, check_ages, check_bins
from ._knn import _estimator_has


class AgeBiasCorrector(MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """Stretch a model's ages back toward the true ages at both ends of the age range.

    Regression models of age pull their predictions toward the middle of the
    training ages: children are made older and the old younger, which is what
    keeps the gap between the best and the worst age bin (``bias_score``)
    large. This meta-estimator measures that pull on faces the model did not
    train on and undoes a chosen part of it, the "age-bias correction" of the
    brain-age literature (Beheshti et al., 2019, NeuroImage: Clinical 24).

    During ``fit``, clones of ``estimator`` are trained on the training part of
    each ``cv`` split and predict the held-out part. A line
    ``prediction ≈ slope * age + intercept`` is fitted to those held-out
    predictions by weighted least squares, each age bin weighing the same (so
    the many faces of one bin do not set the line alone). ``estimator`` is
    then refitted on all the data. A prediction ``p`` becomes
    ``p + strength * ((p - intercept) / slope - p)``, clipped at age 0: it
    needs only the prediction, never the true age.

    Parameters
    ----------
    estimator : estimator with ``fit`` and ``predict``
        The age model (a skage pipeline's ``model`` step, e.g. the ensemble's
        :class:`sklearn.ensemble.VotingRegressor`); cloned at fit.
    strength : float in [0, 1], default=0.5
        Part of the measured pull that is undone: 0 leaves the ages as they
        are, 1 removes the whole linear trend of the error with age. The pull
        of age models is not a straight line (small for children), so a full
        correction over-corrects the children and costs MAE for little gain in
        evenness; 0.5 was the better trade on three dev splits
        (``benchmarks/results/dlib_backbone_cpu.md``).
    cv : int, float, cross-validation generator or iterable, default=0.2
        Where the held-out predictions come from. An int ``k``: ``k``
        shuffled folds (every face predicted once; ``k`` extra fits). A float
        in (0, 1): one shuffled split holding out that share of the faces (one
        extra fit on the rest: cheap for networks). A splitter or an iterable
        of (train, test) index arrays, as in scikit-learn's model selection;
        splitters get the ages as ``y`` and the fit's ``groups``, if any.
    bins : sequence of float, default=None
        Lower edges of the age bins that weigh the same in the line fit;
        ``None`` is 0-10, 11-20, ..., 61+.
    random_state : int, RandomState instance or None, default=None
        Shuffles the folds or the held-out split when ``cv`` is a number.

    Attributes
    ----------
    estimator_ : estimator
        ``estimator`` refitted on all the training data; it makes the
        predictions that are corrected.
    slope_, intercept_ : float
        The fitted line ``prediction ≈ slope_ * age + intercept_`` on held-out
        faces (slope 1 and intercept 0: no pull).
    cv_ages_, cv_predictions_ : ndarray of shape (n_held_out,)
        The held-out faces' ages and the fold models' predictions of them,
        uncorrected: ``correct(cv_predictions_, strength=s)`` shows what
        another strength would have done on them.
    n_features_in_ : int
        Passed on from ``estimator_`` when it has it.

    See Also
    --------
    skage.refine.KNNAgeRefiner : Blends in the ages of the nearest training faces.

    Notes
    -----
    The refitted model saw more faces than the fold models, so it is a little
    less pulled toward the middle than the held-out predictions say; the
    correction is then slightly too strong, as in scikit-learn's
    :class:`~sklearn.calibration.CalibratedClassifierCV` with ``ensemble=False``.
    A slope of 0 or below (predictions that do not grow with age) cannot be
    undone: the fit warns and the ages are left as the model gives them.
    NaN predictions (unreadable inputs) stay NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skage.refine import AgeBiasCorrector
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(300, 1))
    >>> y = np.clip(40 + 15 * X[:, 0] + rng.normal(scale=5, size=300), 1, 90)
    >>> shrunk = Ridge(alpha=300.0)  # a strong penalty pulls ages toward the mean
    >>> shrunk.fit(X, y).predict([[-1.5], [1.5]]).round()  # true mean ages 17.5 and 62.5
    array([28., 51.])
    >>> model = AgeBiasCorrector(shrunk, strength=1.0, cv=5, random_state=0).fit(X, y)
    >>> round(model.slope_, 2)
    0.41
    >>> model.predict([[-1.5], [1.5]]).round()  # a little past them: refitted on all faces, Ridge pulls less
    array([12., 68.])
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"])],
        "strength": [Interval(Real, 0, 1, closed="both")],
        "cv": [Interval(Integral, 2, None, closed="left"), Interval(RealNotInt, 0, 1, closed="neither"),
               "cv_object"],
        "bins": ["array-like", None],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator, *, strength=0.5, cv=0.2, bins=None, random_state=None):
        self.estimator = estimator
        self.strength = strength
        self.cv = cv
        self.bins = bins
        self.random_state = random_state

    def fit(self, X, y, **fit_params):
        """Measure the pull on held-out faces, then fit ``estimator`` on all of them.

        Parameters
        ----------
        X : array-like
            Whatever ``estimator`` takes (aligned chips, features...).
        y : array-like of shape (n_samples,)
            Ages in years.
        **fit_params : dict
            Passed to ``estimator.fit`` (sample-aligned ones split with the
            folds); with scikit-learn's metadata routing on, routed as
            ``estimator`` requests, e.g. ``groups`` for the resamplers of
            :func:`skage.sampling.fit_with_groups`.

        Returns
        -------
        self : AgeBiasCorrector
        """
        self._validate_params()
        X, y = indexable(X, check_ages(y))  # rows selectable per fold (sparse as CSR, lists kept)
        edges = check_bins(self.bins)
        if _routing_enabled():
            params = process_routing(self, "fit", **fit_params).estimator.fit
        else:
            params = fit_params
        held_out, predictions = [], []
        for train, test in self._splits(X, y, params.get("groups")):
            fold_params = _check_method_params(X, params, train)
            fold = clone(self.estimator).fit(_safe_indexing(X, train), y[train], **fold_params)
            held_out.append(test)
            predictions.append(np.asarray(fold.predict(_safe_indexing(X, test)), dtype=float).reshape(-1))
        held_out, predictions = np.concatenate(held_out), np.concatenate(predictions)
        usable = np.isfinite(predictions)
        self.cv_ages_, self.cv_predictions_ = y[held_out][usable], predictions[usable]
        self.slope_, self.intercept_ = _bin_balanced_line(self.cv_ages_, self.cv_predictions_, edges)
        if self.slope_ <= 0:
            warnings.warn(f"held-out predictions do not grow with age (slope {self.slope_:.3g}); "
                          "AgeBiasCorrector leaves the ages as the model gives them", UserWarning)
        self.estimator_ = clone(self.estimator).fit(X, y, **params)
        if hasattr(self.estimator_, "n_features_in_"):
            self.n_features_in_ = self.estimator_.n_features_in_
        return self

    def _splits(self, X, y, groups):
        if isinstance(self.cv, Real) and not isinstance(self.cv, Integral):
            splitter = ShuffleSplit(n_splits=1, test_size=self.cv, random_state=self.random_state)
        elif isinstance(self.cv, Integral):
            # Shuffled: datasets such as UTKFace list their files sorted by age.
            splitter = KFold(n_splits=self.cv, shuffle=True, random_state=self.random_state)
        else:
            splitter = check_cv(self.cv)
        splits = list(splitter.split(np.zeros((len(y), 1)), y, groups))
        if not splits:
            raise ValueError(f"cv={self.cv!r} gave no (train, test) split")
        return splits

    def correct(self, predictions, strength=None):
        """Apply the correction to ages predicted by ``estimator_``.

        Parameters
        ----------
        predictions : array-like of shape (n_samples,)
            Uncorrected ages; NaN stays NaN.
        strength : float in [0, 1], default=None
            Defaults to ``self.strength``.

        Returns
        -------
        ages : ndarray of shape (n_samples,)
        """
        check_fitted(self, "slope_")
        strength = self.strength if strength is None else strength
        if not isinstance(strength, Real) or not 0 <= strength <= 1:
            raise ValueError(f"strength must be a number in [0, 1], got {strength!r}")
        predictions = np.asarray(predictions, dtype=float).reshape(-1)
        if self.slope_ <= 0:
            return predictions.copy()
        return _undo_pull(predictions, self.slope_, self.intercept_, strength)

    def predict(self, X):
        """Corrected ages of ``X``.

        Parameters
        ----------
        X : array-like
            Whatever ``estimator`` takes.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        """
        check_fitted(self, "estimator_")
        return self.correct(self.estimator_.predict(X))

    @available_if(_estimator_has("transform"))
    def transform(self, X):
        """The estimator's ``transform`` (e.g. each ensemble member's uncorrected ages)."""
        check_fitted(self, "estimator_")
        return self.estimator_.transform(X)

    def get_metadata_routing(self):
        """Route fit metadata (e.g. ``groups``) to ``estimator``'s ``fit``."""
        return MetadataRouter(owner=self).add(
            estimator=self.estimator, method_mapping=MethodMapping().add(caller="fit", callee="fit"))

    def __sklearn_tags__(self):
        from copy import deepcopy

        from sklearn.utils import get_tags

        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True  # ages
        tags.input_tags = deepcopy(get_tags(self.estimator).input_tags)  # X is what the estimator takes
        return tags


def _bin_balanced_line(ages, predictions, edges):
    """Slope and intercept of predictions on ages, every age bin weighing the same."""
    if len(np.unique(ages)) < 2:
        raise ValueError("the held-out faces need at least two distinct ages to measure the pull toward the "
                         f"middle; got {len(ages)} face(s) with ages {np.unique(ages).tolist()}")
    slope, intercept = np.polyfit(ages, predictions, 1, w=np.sqrt(_bin_balanced_weights(ages, edges)))
    return float(slope), float(intercept)


def _bin_balanced_weights(ages, edges=None):
    """Per-face weights, 1 / (faces in its age bin): every bin weighs the same in total."""
    bins = age_bin_indices(ages, edges)
    return 1.0 / np.bincount(bins)[bins]


def _undo_pull(predictions, slope, intercept, strength):
    """``strength`` of the way from each prediction to the age the line says it stands for, clipped at 0."""
    unpulled = (predictions - intercept) / slope
    return np.maximum(predictions + strength * (unpulled - predictions), 0.0)
