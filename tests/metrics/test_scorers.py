import numpy as np
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV

from skage.metrics import AGE_SCORERS, cmae_score, get_age_scorer


def test_scorers_are_negated_errors_and_plain_accuracy():
    X = np.zeros((4, 1))
    y = np.array([5.0, 5.0, 30.0, 30.0])
    model = DummyRegressor(strategy="constant", constant=10.0).fit(X, y)
    assert AGE_SCORERS["neg_mae"](model, X, y) == pytest.approx(-12.5)
    assert AGE_SCORERS["neg_cmae"](model, X, y) == pytest.approx(-cmae_score(y, [10] * 4))
    assert AGE_SCORERS["neg_bias"](model, X, y) == pytest.approx(-(20 - 5))
    assert AGE_SCORERS["acc_at_5"](model, X, y) == pytest.approx(0.5)
    assert get_age_scorer("acc_at_k", k=20)(model, X, y) == pytest.approx(1.0)


def test_cmae_scorer_drives_grid_search_to_the_better_model():
    rng = np.random.default_rng(0)
    X = rng.uniform(5, 80, size=(120, 1))
    y = X[:, 0] + rng.normal(0, 1, 120)
    search = GridSearchCV(Ridge(), {"alpha": [1e-3, 1e7]}, scoring=get_age_scorer("neg_cmae"), cv=3).fit(X, y)
    assert search.best_params_ == {"alpha": 1e-3}
    assert search.best_score_ < 0


def test_unknown_scorer_name():
    with pytest.raises(ValueError, match="unknown age scorer"):
        get_age_scorer("mape")
