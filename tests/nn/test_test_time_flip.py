"""AgeNet(test_time_flip=True): each chip and its mirror image, averaged, outside training only."""

import copy

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from skage.nn import AgeNet


@pytest.fixture
def plain(fitted_agenet):
    # fp32, so that the two routes to the mirror image agree to float rounding.
    return copy.deepcopy(fitted_agenet).set_params(amp=False)


def test_outputs_are_the_mean_over_the_chip_and_its_mirror(plain, chips):
    X, _ = chips
    mirror = np.ascontiguousarray(X[:, :, ::-1])
    flipped = copy.deepcopy(plain).set_params(test_time_flip=True)
    both = [plain.predict_outputs(X), plain.predict_outputs(mirror)]
    out = flipped.predict_outputs(X)
    np.testing.assert_allclose(out.proba, (both[0].proba + both[1].proba) / 2, atol=1e-6)
    np.testing.assert_allclose(out.ages, (both[0].ages + both[1].ages) / 2, rtol=1e-5)
    np.testing.assert_allclose(out.embeddings, (both[0].embeddings + both[1].embeddings) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(flipped.predict(X), out.ages, rtol=1e-6)
    # A prediction-time switch: set_params kept the trained weights.
    for before, after in zip(plain.module_.parameters(), flipped.module_.parameters()):
        assert torch.equal(before, after)
    assert not np.allclose(out.ages, both[0].ages)  # random chips are not symmetric
    # A symmetric chip is its own mirror image: nothing to average.
    symmetric = np.concatenate([X[:, :, :16], X[:, :, :16][:, :, ::-1]], axis=2)
    np.testing.assert_allclose(flipped.predict(symmetric), plain.predict(symmetric), rtol=1e-5)


def test_regression_head_averages_the_ages(make_chips, tiny):
    X, y = make_chips()
    net = AgeNet(**tiny, head="regression", amp=False).fit(X, y)
    mirror = np.ascontiguousarray(X[:, :, ::-1])
    expected = (net.predict(X) + net.predict(mirror)) / 2
    np.testing.assert_allclose(net.set_params(test_time_flip=True).predict(X), expected, rtol=1e-5)


def test_training_is_unchanged(fitted_agenet, chips, tiny):
    X, y = chips
    net = AgeNet(**tiny, test_time_flip=True).fit(X, y)
    assert net.history[-1, "train_loss"] == fitted_agenet.history[-1, "train_loss"]
    for a, b in zip(net.module_.parameters(), fitted_agenet.module_.parameters()):
        assert torch.equal(a, b)


def test_bad_value_is_named(chips, tiny):
    X, y = chips
    with pytest.raises(InvalidParameterError, match="test_time_flip"):
        AgeNet(**tiny, test_time_flip="yes").fit(X, y)
