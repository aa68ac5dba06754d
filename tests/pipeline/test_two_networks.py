"""make_age_pipeline(model="two_networks"): the descriptor model on degraded chips, averaged with the CC0 age network."""

import numpy as np
import pytest
from sklearn.frozen import FrozenEstimator

from skage.pipeline import ModelFileError, load_model, make_age_pipeline, save_model


@pytest.fixture(scope="module")
def fitted(utkface_sample):
    pytest.importorskip("onnx")
    try:
        pipe = make_age_pipeline(model="two_networks", n_jobs=1, random_state=0)
    except ModelFileError as exc:  # the pretrained extra is not installed
        pytest.skip(str(exc))
    X, y = utkface_sample(30, seed=3)
    return pipe.fit(X[:24], y[:24]), X, y


def test_the_descriptor_recipe_and_a_frozen_age_network():
    pytest.importorskip("onnx")
    try:
        pipe = make_age_pipeline(model="two_networks", degrade=0.5, n_jobs=1)
    except ModelFileError as exc:
        pytest.skip(str(exc))
    assert [name for name, _ in pipe.steps] == ["check", "model"]
    vote = pipe.named_steps["model"]
    assert [name for name, _ in vote.estimators] == ["descriptor", "age_network"] and vote.weights == [0.5, 0.5]
    descriptor = vote.named_estimators["descriptor"]
    assert descriptor.named_steps["degrade"].n_copies == 0.5
    assert descriptor.named_steps["balance"] == "passthrough"  # weights instead of over-sampling
    assert type(descriptor.named_steps["model"].estimator).__name__ == "AgeBinWeightedRegressor"
    assert isinstance(vote.named_estimators["age_network"], FrozenEstimator)
    with pytest.raises(ValueError, match="model='two_networks' does not take bias_correction"):
        make_age_pipeline(model="two_networks", bias_correction=0.5)


@pytest.mark.slow
def test_ages_are_the_average_of_both_networks_and_survive_saving(fitted, tmp_path):
    pipe, X, _ = fitted
    pred = pipe.predict(np.r_[X[24:], ["no/such/photo.jpg"]])
    vote = pipe.named_steps["model"]
    members = np.column_stack([est.predict(X[24:]) for est in vote.estimators_])
    assert pred.shape == (7,) and np.isnan(pred[-1]) and np.isfinite(pred[:-1]).all()
    np.testing.assert_allclose(pred[:-1], members.mean(axis=1), atol=1e-6)
    assert not np.allclose(members[:, 0], members[:, 1])
    loaded = load_model(save_model(pipe, tmp_path / "two.skage"))
    np.testing.assert_allclose(loaded.predict(X[24:]), pred[:-1], atol=1e-4)

