"""TopBlockRegressor and its modules: a pretrained network's last stage trained on cached activations."""

import numpy as np
import pytest
import torch

from skage.nn import (AgeDistributionLoss, AgeNetworkTop, FaceNetworkTop, TopBlockRegressor, recrop_chips,
                      trunk_activations)


def test_recrop_keeps_the_centre_and_refuses_more_padding():
    chips = np.zeros((1, 150, 150, 3), np.uint8)
    chips[0, 65:85, 65:85] = 255  # a bright square in the middle stays in the middle
    small = recrop_chips(chips)
    assert small.shape == (1, 64, 64, 3)
    bright = np.argwhere(small[0, :, :, 0] > 128)
    assert np.allclose(bright.mean(0), 31.5, atol=0.6)
    # 140 of the 150 px are kept: the square's 20 px become about 20 * 64 / 140
    assert abs(len(np.unique(bright[:, 0])) - 20 * 64 / 140) <= 1.5
    with pytest.raises(ValueError, match="padding 0.3 cannot be cut"):
        recrop_chips(chips, margin=0.3)


def test_the_face_top_learns_ages_from_maps():
    rng = np.random.default_rng(0)
    y = rng.uniform(5, 80, 64)
    maps = (rng.normal(size=(64, 128, 8, 8)) + (y / 40)[:, None, None, None]).astype(np.float16)
    net = TopBlockRegressor(FaceNetworkTop, max_epochs=20, lr=3e-3, batch_size=16, random_state=0).fit({"maps": maps}, y)
    pred = net.predict({"maps": maps})
    assert pred.shape == (64,) and np.all((pred >= 0) & (pred <= 100))
    assert np.corrcoef(pred, y)[0, 1] > 0.5  # the age shift in the maps is found
    again = TopBlockRegressor(FaceNetworkTop, max_epochs=20, lr=3e-3, batch_size=16, random_state=0)
    np.testing.assert_allclose(again.fit({"maps": maps}, y).predict({"maps": maps}), pred, rtol=1e-5)


def test_the_age_top_starts_as_the_shipped_network_and_distils_from_it(age_network_wheel):
    rng = np.random.default_rng(0)
    chips = rng.integers(0, 256, (6, 150, 150, 3), dtype=np.uint8)
    acts = trunk_activations(chips)["age"]
    assert acts["maps"].shape == (6, 128, 7, 7) and acts["maps"].dtype == np.float16
    top = AgeNetworkTop().eval()
    with torch.no_grad():
        proba = torch.softmax(top(torch.as_tensor(acts["maps"]).float()), 1).numpy()
    teacher = torch.softmax(torch.as_tensor(acts["teacher"]), 1).numpy()
    # up to 80 the whole-year classes are the shipped network's (class 0 is its 0.25): the same distribution
    # once the new classes above 80 are set aside (bf16 maps)
    below = proba[:, :81] / proba[:, :81].sum(1, keepdims=True)
    np.testing.assert_allclose(below, teacher, atol=0.02)
    net = TopBlockRegressor(AgeNetworkTop, max_epochs=1, distill=1.0, random_state=0).fit(acts, rng.uniform(1, 80, 6))
    y_pred = torch.as_tensor(net.forward(acts, training=False))
    y_true = torch.full((6,), 30.0)
    without = net.set_params(distill=0.0).get_loss(y_pred, y_true, X=acts)
    with_teacher = net.set_params(distill=1.0).get_loss(y_pred, y_true, X=acts)
    assert with_teacher > without


def test_label_distribution_loss_is_least_at_the_true_age():
    loss = AgeDistributionLoss(n_ages=101, sigma=2.0)
    logits = torch.full((1, 101), -10.0)
    logits[0, 40] = 10.0
    assert loss(logits, torch.tensor([40.0])) < loss(logits, torch.tensor([45.0]))


@pytest.mark.parametrize("params, name", [({"max_epochs": 0}, "max_epochs"), ({"distill": -1}, "distill"),
                                          ({"label_sigma": 0}, "label_sigma")])
def test_bad_parameters_are_named(params, name):
    maps = np.zeros((4, 128, 8, 8), np.float16)
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        TopBlockRegressor(FaceNetworkTop, **params).fit({"maps": maps}, np.arange(4.0))


def test_trunk_activations_refuse_other_chips():
    with pytest.raises(ValueError, match=r"\(N, 150, 150, 3\)"):
        trunk_activations(np.zeros((2, 64, 64, 3), np.uint8))
