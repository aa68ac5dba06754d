"""A blank chip (an unreadable input's) gets a NaN age from AgeNet, alone or under KNN refinement."""

import numpy as np

from skage.refine import KNNAgeRefiner


def test_blank_chip_gets_nan_and_the_others_do_not_change(fitted_agenet, chips):
    X, y = chips
    blank = X.copy()
    blank[2, ..., :3] = 0  # the masks may be anything: only the pixels say whether a face is there
    ages = fitted_agenet.predict(blank)
    assert np.isnan(ages[2]) and np.isfinite(np.delete(ages, 2)).all()
    np.testing.assert_allclose(np.delete(ages, 2), np.delete(fitted_agenet.predict(X), 2), rtol=1e-5)
    assert np.isnan(fitted_agenet.predict_outputs(blank).ages[2])


def test_knn_refinement_keeps_the_nan(fitted_agenet, chips):
    from sklearn.frozen import FrozenEstimator

    X, y = chips
    refined = KNNAgeRefiner(FrozenEstimator(fitted_agenet), n_neighbors=3).fit(X, y)
    blank = X.copy()
    blank[0, ..., :3] = 0
    ages = refined.predict(blank)
    assert np.isnan(ages[0]) and np.isfinite(ages[1:]).all()
