"""fitted_model and fitted_model_input: reaching the innermost model, and its inputs, through any wrapping."""

import numpy as np
from imblearn.pipeline import make_pipeline
from sklearn.linear_model import Ridge
from sklearn.preprocessing import StandardScaler

from skage.intervals import ConformalAgeRegressor
from skage.pipeline import fitted_model, fitted_model_input
from skage.refine import KNNAgeRefiner
from skage.sampling import AgeBinResampler


def test_the_innermost_model_sees_the_transformed_inputs_through_every_wrapper():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(80, 3)) * 10 + 5, rng.uniform(1, 80, 80)
    # the resampler last before the model: a slice ending in it could not transform
    pipe = make_pipeline(StandardScaler(), AgeBinResampler(random_state=0), KNNAgeRefiner(Ridge(), n_neighbors=3))
    calibrated = ConformalAgeRegressor(pipe, calibration_size=0.25, random_state=0).fit(X, y)
    assert isinstance(fitted_model(calibrated), Ridge)
    scaler = calibrated.estimator_.steps[0][1]
    np.testing.assert_allclose(fitted_model_input(calibrated, X[:5]), scaler.transform(X[:5]))
    np.testing.assert_array_equal(fitted_model_input(fitted_model(calibrated), X[:5]), X[:5])  # nothing wraps it
