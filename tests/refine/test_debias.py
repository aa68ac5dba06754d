"""AgeBiasCorrector: the pull toward the middle, measured on held-out faces and undone."""

import warnings

import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV
from sklearn.utils._param_validation import InvalidParameterError

from skage.refine import AgeBiasCorrector
from skage.sampling import AgeBinResampler, fit_with_groups


class _PulledToForty(RegressorMixin, BaseEstimator):
    """Predicts 40 + pull * (x - 40) from the first feature, x being the true age: a known pull."""

    def __init__(self, pull=0.5):
        self.pull = pull

    def fit(self, X, y, sample_weight=None):
        self.n_features_in_ = np.asarray(X).shape[1]
        self.fit_sizes_ = (len(X), None if sample_weight is None else len(sample_weight))
        return self

    def predict(self, X):
        return 40 + self.pull * (np.asarray(X, dtype=float)[:, 0] - 40)


def _ages(n=200, seed=0):
    ages = np.random.default_rng(seed).uniform(1, 90, size=n)
    return ages[:, None], ages


def test_a_known_pull_is_measured_and_undone():
    X, y = _ages()
    full = AgeBiasCorrector(_PulledToForty(0.5), strength=1.0, random_state=0).fit(X, y)
    assert full.slope_ == pytest.approx(0.5) and full.intercept_ == pytest.approx(20.0)
    np.testing.assert_allclose(full.predict(X), y)  # the whole pull undone: the true ages
    half = clone(full).set_params(strength=0.5).fit(X, y)
    np.testing.assert_allclose(half.predict(X), (y + half.estimator_.predict(X)) / 2)  # halfway
    none = clone(full).set_params(strength=0.0).fit(X, y)
    np.testing.assert_array_equal(none.predict(X), none.estimator_.predict(X))


def test_correct_applies_another_strength_to_the_same_fit():
    X, y = _ages()
    model = AgeBiasCorrector(_PulledToForty(0.5), random_state=0).fit(X, y)
    pulled = model.estimator_.predict(X)
    np.testing.assert_allclose(model.correct(pulled, strength=1.0), y)
    np.testing.assert_allclose(model.correct(pulled), model.predict(X))
    with pytest.raises(ValueError, match=r"strength must be a number in \[0, 1\], got 2"):
        model.correct(pulled, strength=2)


def test_ages_are_clipped_at_zero_and_nan_stays_nan():
    X, y = _ages()
    model = AgeBiasCorrector(_PulledToForty(0.5), strength=1.0, random_state=0).fit(X, y)
    # 10 is below what the model ever says for age 0 (20): the line would give -20 years
    np.testing.assert_allclose(model.correct([10.0, np.nan, 40.0]), [0.0, np.nan, 40.0])


def test_the_held_out_faces_come_from_cv():
    X, y = _ages(100)
    folds = AgeBiasCorrector(_PulledToForty(), cv=4, random_state=0).fit(X, y)
    np.testing.assert_array_equal(np.sort(folds.cv_ages_), np.sort(y))  # every face held out once
    share = AgeBiasCorrector(_PulledToForty(), cv=0.2, random_state=0).fit(X, y)
    assert len(share.cv_ages_) == 20
    splits = [(np.arange(50, 100), np.arange(10))]
    given = AgeBiasCorrector(_PulledToForty(), cv=splits).fit(X, y)
    np.testing.assert_array_equal(given.cv_ages_, y[:10])
    assert given.estimator_.fit_sizes_ == (100, None)  # the model that predicts saw every face


def test_sample_aligned_fit_params_follow_the_folds():
    X, y = _ages(100)
    model = AgeBiasCorrector(_PulledToForty(), cv=[(np.arange(30), np.arange(30, 100))])
    model.fit(X, y, sample_weight=np.ones(100))
    assert model.estimator_.fit_sizes_ == (100, 100)


def test_groups_reach_the_resampler_of_every_fit():
    rng = np.random.default_rng(1)
    X, y = _ages(120, seed=1)
    groups = rng.choice(["a", "b"], size=120)
    inner = Pipeline([("balance", AgeBinResampler(random_state=0)), ("model", Ridge())])
    pipe = Pipeline([("model", AgeBiasCorrector(inner, cv=3, random_state=0))])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fit_with_groups(pipe, X, y, groups)
    strata = pipe.named_steps["model"].estimator_.named_steps["balance"].target_counts_
    assert {group for _, group in strata} == {"a", "b"}


def test_predictions_that_do_not_grow_with_age_are_left_alone():
    X, y = _ages()
    with pytest.warns(UserWarning, match="do not grow with age"):
        model = AgeBiasCorrector(_PulledToForty(-0.2), random_state=0).fit(X, y)
    np.testing.assert_array_equal(model.predict(X), model.estimator_.predict(X))


@pytest.mark.parametrize("params, match", [
    (dict(strength=1.5), "'strength' parameter"),
    (dict(cv=1), "'cv' parameter"),
    (dict(cv=1.0), "'cv' parameter"),
    (dict(estimator="ridge"), "'estimator' parameter"),
])
def test_bad_parameters_are_named(params, match):
    X, y = _ages(40)
    model = AgeBiasCorrector(_PulledToForty()).set_params(**params)
    with pytest.raises(InvalidParameterError, match=match):
        model.fit(X, y)


def test_held_out_faces_of_one_age_cannot_measure_a_pull():
    X, y = np.ones((10, 1)) * 30, np.full(10, 30.0)
    with pytest.raises(ValueError, match="at least two distinct ages"):
        AgeBiasCorrector(_PulledToForty(), cv=2, random_state=0).fit(X, y)


def test_strength_is_tunable_with_grid_search():
    X, y = _ages(150)
    search = GridSearchCV(AgeBiasCorrector(_PulledToForty(), random_state=0), {"strength": [0.0, 1.0]},
                          scoring="neg_mean_absolute_error", cv=3).fit(X, y)
    assert search.best_params_ == {"strength": 1.0}
