import warnings

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

from skage.intervals import ConformalAgeRegressor
from skage.metrics import age_bin_indices


def _faces(n, seed):
    """A feature that shrinks ages towards the mean, as real estimators do, with noise growing with age."""
    rng = np.random.default_rng(seed)
    age = np.clip(rng.gamma(3.0, 11.0, size=n), 1, 110)
    feature = 0.6 * age + 0.4 * 33 + rng.normal(0, 1 + 0.12 * age)
    group = rng.choice(["a", "b", "c"], size=n)
    return feature.reshape(-1, 1), age, group


def _coverage(intervals, y, mask=slice(None)):
    low, high = intervals[mask].T
    return np.mean((low <= y[mask]) & (y[mask] <= high))


def test_coverage_holds_in_every_true_age_bin():
    X, y, _ = _faces(8000, 0)
    X_test, y_test, _ = _faces(4000, 1)
    model = ConformalAgeRegressor(LinearRegression(), random_state=0).fit(X, y)
    iv = model.predict_interval(X_test, alpha=0.1)
    assert 0.88 <= _coverage(iv, y_test) <= 0.93
    bins = age_bin_indices(y_test)
    for b in np.unique(bins):
        if (bins == b).sum() >= 100:
            assert _coverage(iv, y_test, bins == b) >= 0.85, b
    assert np.all(iv[:, 0] <= iv[:, 1])


def test_predicted_age_condition_undercovers_the_tails_that_age_condition_covers():
    # Why condition="age" is the default: calibrating by predicted age leaves the elderly uncovered.
    X, y, _ = _faces(8000, 0)
    X_test, y_test, _ = _faces(4000, 1)
    old = y_test >= 61
    by_pred = ConformalAgeRegressor(LinearRegression(), condition="predicted_age", random_state=0).fit(X, y)
    by_age = ConformalAgeRegressor(LinearRegression(), random_state=0).fit(X, y)
    assert _coverage(by_pred.predict_interval(X_test), y_test, old) < 0.85
    assert _coverage(by_age.predict_interval(X_test), y_test, old) >= 0.85


def test_prefit_calibrates_on_all_given_faces_and_keeps_the_estimator():
    X, y, _ = _faces(600, 0)
    est = LinearRegression().fit(X, y)
    model = ConformalAgeRegressor(est, prefit=True).fit(X[:300], y[:300])
    assert model.estimator_ is est
    assert len(model.calibration_age_) == 300
    np.testing.assert_allclose(model.predict(X[:5]), est.predict(X[:5]))


def test_calibration_indices_name_the_faces_the_estimator_never_saw():
    # What `skage fit --calibrate` records: the estimator trained on the other faces only.
    X, y, _ = _faces(400, 0)
    X = X + np.arange(400)[:, None] * 1e-6  # every face distinguishable
    model = ConformalAgeRegressor(LinearRegression(), calibration_size=0.2, random_state=0).fit(X, y)
    held = model.calibration_indices_
    assert len(held) == 80 and len(np.unique(held)) == 80
    np.testing.assert_array_equal(np.sort(model.calibration_age_), np.sort(y[held]))
    train = np.setdiff1d(np.arange(400), held)
    refit = LinearRegression().fit(X[train], y[train])
    np.testing.assert_allclose(model.estimator_.coef_, refit.coef_)
    prefit = ConformalAgeRegressor(refit, prefit=True).fit(X[:50], y[:50])
    np.testing.assert_array_equal(prefit.calibration_indices_, np.arange(50))


def test_prefit_needs_a_fitted_estimator():
    X, y, _ = _faces(100, 0)
    with pytest.raises(Exception, match="not fitted"):
        ConformalAgeRegressor(LinearRegression(), prefit=True).fit(X, y)


def test_interval_from_predictions_matches_predict_interval():
    X, y, _ = _faces(1000, 0)
    model = ConformalAgeRegressor(LinearRegression(), random_state=0).fit(X, y)
    np.testing.assert_allclose(model.interval_from_predictions(model.predict(X[:50]), 0.2),
                               model.predict_interval(X[:50], alpha=0.2))


def test_smaller_alpha_gives_wider_intervals():
    X, y, _ = _faces(3000, 0)
    model = ConformalAgeRegressor(LinearRegression(), random_state=0).fit(X, y)
    width = lambda a: np.diff(model.predict_interval(X[:500], alpha=a), axis=1).mean()  # noqa: E731
    assert width(0.05) > width(0.1) > width(0.3)


def test_group_conditional_strata_and_unknown_group():
    X, y, g = _faces(6000, 0)
    g = g.astype(object)
    g[:50] = None  # missing labels are a group of their own, never dropped
    model = ConformalAgeRegressor(LinearRegression(), random_state=0).fit(X, y, groups=g)
    assert "unknown" in set(model.calibration_groups_)
    X_test, y_test, g_test = _faces(3000, 1)
    iv = model.predict_interval(X_test, groups=g_test)
    for group in ("a", "b", "c"):
        assert _coverage(iv, y_test, g_test == group) >= 0.85
    # an unseen group falls back to the age-bin strata
    iv_new = model.predict_interval(X_test[:10], groups=["zzz"] * 10)
    assert np.all(np.isfinite(iv_new))
    with pytest.warns(UserWarning, match="calibrated with groups"):
        model.predict_interval(X_test[:10])


def test_tiny_bins_are_covered_in_full_not_invented():
    X, y, _ = _faces(400, 0)
    model = ConformalAgeRegressor(LinearRegression(), random_state=0).fit(X, y)
    counts = np.bincount(age_bin_indices(model.calibration_age_), minlength=7)
    assert counts[-1] < 20  # the 61+ bin has too few calibration faces to bound its residuals
    iv = model.predict_interval(X, alpha=0.1)
    assert np.all(iv[:, 1] == 120)  # so every interval reaches the top of the age range


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, "0.1"])
def test_bad_alpha(alpha):
    X, y, _ = _faces(300, 0)
    model = ConformalAgeRegressor(LinearRegression(), random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="alpha"):
        model.predict_interval(X, alpha=alpha)


def test_bad_input():
    X, y, _ = _faces(300, 0)
    with pytest.raises(ValueError, match="condition"):
        ConformalAgeRegressor(LinearRegression(), condition="bin").fit(X, y)
    with pytest.raises(ValueError, match="age_range"):
        ConformalAgeRegressor(LinearRegression(), age_range=(0, 50)).fit(X, y)
    with pytest.raises(ValueError, match="groups has 3 labels"):
        ConformalAgeRegressor(LinearRegression()).fit(X, y, groups=["a", "b", "c"])
    with pytest.raises(ValueError, match="samples but y"):
        ConformalAgeRegressor(LinearRegression()).fit(X[:10], y)
    model = ConformalAgeRegressor(LinearRegression(), random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="infinite"):
        model.interval_from_predictions([1.0, np.inf])


def test_clone_and_pickle_roundtrip():
    import pickle

    from sklearn.base import clone

    X, y, _ = _faces(500, 0)
    model = ConformalAgeRegressor(LinearRegression(), random_state=0).fit(X, y)
    assert clone(model).get_params()["random_state"] == 0
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_allclose(again.predict_interval(X[:20]), model.predict_interval(X[:20]))


def test_works_on_a_pipeline_with_paths_like_inputs():
    # X as a list (the pipelines take lists of paths): split and calibration must not need an array.
    X, y, _ = _faces(2000, 0)  # enough for every age bin to bound 90 % intervals: no warning expected
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    pipe = make_pipeline(FunctionTransformer(lambda rows: np.asarray(rows, float).reshape(-1, 1)), LinearRegression())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ConformalAgeRegressor(pipe, random_state=0).fit(list(X[:, 0]), y)
    assert model.predict_interval(list(X[:4, 0])).shape == (4, 2)


def test_faces_without_a_prediction_are_left_out_of_calibration_with_a_warning():
    class Blind(LinearRegression):
        def predict(self, X):
            pred = super().predict(X)
            pred[:3] = np.nan  # what a pipeline returns for files without a readable face
            return pred

    X, y, _ = _faces(500, 0)
    est = Blind().fit(X, y)
    with pytest.warns(UserWarning, match="3 of 200 calibration faces"):
        model = ConformalAgeRegressor(est, prefit=True).fit(X[:200], y[:200])
    assert len(model.calibration_age_) == 197


# ------------------------------------------------------------------ issue 31 items 6 and 10

@pytest.mark.parametrize("alpha", [0.5, 0.3, 0.2, 0.15, 0.1, 0.05, 0.01])
def test_fewest_faces_per_bin_is_what_mapie_needs(alpha):
    """The documented minimum, ceil(2 / alpha) - 1 faces, is MAPIE's: one face fewer gives an infinite bound."""
    from skage.intervals._conformal import _min_faces, _residual_bounds

    rng = np.random.default_rng(0)
    need = _min_faces(alpha)
    assert need == int(np.ceil(2 / alpha)) - 1
    for n, finite in ((need, True), (need - 1, False)):
        pred, age = rng.normal(30, 5, n), rng.normal(30, 5, n)
        assert np.all(np.isfinite(_residual_bounds(pred, age, np.ones(n, bool), alpha))) == finite


def test_too_few_calibration_faces_per_bin_warn_and_are_recorded():
    # the case: `fit --calibrate 0.2` on 60 faces gave every interval 0-120 ("coverage 1.00") silently
    X, y, _ = _faces(60, 0)
    with pytest.warns(UserWarning, match=r"too few calibration faces for 90% intervals .* need 19 per age bin"):
        model = ConformalAgeRegressor(LinearRegression(), calibration_size=0.2, random_state=0).fit(X, y)
    assert model.calibration_counts_.sum() == 12 and model.calibration_counts_.min() < 19
    assert model.min_alpha_ == 2 / (model.calibration_counts_.min() + 1)
    with pytest.warns(UserWarning, match=r"need 19 per age bin .*every interval covers such a bin in full"):
        iv = model.predict_interval(X, alpha=0.1)
    assert np.all(iv == [0, 120])  # what the warning explains
    # enough faces for 90 % intervals: no warning, until a level asks for more than the bins hold
    X, y, _ = _faces(3000, 0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = ConformalAgeRegressor(LinearRegression(), random_state=0).fit(X, y)
        model.predict_interval(X[:5], alpha=0.1)
    assert model.min_alpha_ <= 0.1
    with pytest.warns(UserWarning, match=r"99.9% intervals \(alpha=0.001\), which need 1999 per age bin"):
        model.predict_interval(X[:5], alpha=0.001)


def test_no_prediction_gives_a_nan_interval_in_its_row():
    class Blind(LinearRegression):
        """NaN for inputs whose feature is NaN, as a pipeline gives an image without a face."""

        def predict(self, X):
            X = np.asarray(X, float)
            pred = np.full(len(X), np.nan)
            seen = np.isfinite(X[:, 0])
            if seen.any():
                pred[seen] = super().predict(X[seen])
            return pred

    X, y, _ = _faces(3000, 0)
    model = ConformalAgeRegressor(Blind(), random_state=0).fit(X, y)
    X_new = np.vstack([X[:2], [[np.nan]], X[2:3]])
    iv = model.predict_interval(X_new)  # main: ValueError "y_pred has NaN or infinite predictions"
    assert iv.shape == (4, 2) and np.isnan(iv[2]).all() and np.isnan(model.predict(X_new)[2])
    np.testing.assert_array_equal(np.delete(iv, 2, axis=0), model.predict_interval(X[:3]))
    np.testing.assert_array_equal(model.interval_from_predictions([np.nan, np.nan]), np.full((2, 2), np.nan))


def test_descriptor_pipeline_gives_a_nan_interval_to_an_image_without_a_face(utkface_sample, tmp_path):
    from PIL import Image

    from skage.pipeline import make_age_pipeline

    X, y = utkface_sample(40, 0)
    Image.fromarray(np.zeros((200, 200, 3), np.uint8)).save(tmp_path / "blank.png")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 20 calibration faces: thin age bins
        model = ConformalAgeRegressor(make_age_pipeline(model="descriptor"), calibration_size=0.5,
                                      random_state=0).fit(X, y)
        inputs = [X[0], str(tmp_path / "blank.png"), X[1]]
        iv = model.predict_interval(inputs)  # main: ValueError "y_pred has NaN or infinite predictions"
    ages = model.predict(inputs)
    assert iv.shape == (3, 2) and np.isnan(ages[1]) and np.isnan(iv[1]).all()
    assert np.all(np.isfinite(iv[[0, 2]])) and np.all((iv[[0, 2], 0] <= ages[[0, 2]]) & (ages[[0, 2]] <= iv[[0, 2], 1]))
