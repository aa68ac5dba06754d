"""Class-balanced weights from counts before resampling, and bf16 training on the CPU."""

import warnings

import numpy as np
import pytest
import torch

import skage.nn._estimator as estimator_module
from skage.metrics import age_bin_indices
from skage.nn import AgeNet, effective_number_weights, effective_number_weights_from_counts

FAST = dict(attention=False, backbone="resnet18", max_epochs=1, batch_size=7, verbose=0, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def balanced():
    """Equal counts in every age bin: what a full over-sampler hands the network."""
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(14, 32, 32, 3), dtype=np.uint8)
    return X, np.array([5, 15, 25, 35, 45, 55, 65] * 2, dtype=float)


def test_counts_give_the_same_weights_as_ages():
    ages = np.array([3, 4, 5, 15, 25, 26, 70])
    counts = np.bincount(age_bin_indices(ages), minlength=7)
    np.testing.assert_allclose(effective_number_weights_from_counts(counts, 0.9), effective_number_weights(ages, beta=0.9))
    with pytest.raises(ValueError, match="counts must be non-negative"):
        effective_number_weights_from_counts([0, 0, 0])


def test_balanced_input_without_counts_warns_that_weights_cancel(balanced):
    X, y = balanced
    with pytest.warns(UserWarning, match="every class-balanced weight is 1"):
        net = AgeNet(**FAST).fit(X, y)
    np.testing.assert_allclose(net.bin_weights_, 1.0)


def test_counts_before_resampling_weight_the_rare_bins(balanced):
    X, y = balanced
    counts = [400, 100, 800, 300, 100, 50, 20]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no cancellation warning when counts are given
        net = AgeNet(**FAST, cb_counts=counts).fit(X, y)
    w = net.bin_weights_
    assert w[6] > w[5] > w[1] > w[0] > w[2]  # rarer bin, larger weight
    # Rescaled to average 1 over the (balanced) ages actually trained on.
    assert w[age_bin_indices(y)].mean() == pytest.approx(1.0)


def test_cb_counts_must_have_one_count_per_bin(balanced):
    X, y = balanced
    with pytest.raises(ValueError, match="cb_counts must hold one count per age bin"):
        AgeNet(**FAST, cb_counts=[1, 2, 3]).fit(X, y)


def test_bin_counts_at_fit_weight_like_cb_counts_which_win(balanced):
    # What a skage pipeline hands the net from its resampler (AgePipeline); cb_counts, when set, win.
    X, y = balanced
    counts, other = [400, 100, 800, 300, 100, 50, 20], [1, 1, 1, 1, 1, 1, 1]
    quick = {**FAST, "max_epochs": 0}
    handed = AgeNet(**quick).fit(X, y, bin_counts=counts).bin_weights_
    np.testing.assert_allclose(handed, AgeNet(**quick, cb_counts=counts).fit(X, y).bin_weights_)
    np.testing.assert_allclose(AgeNet(**quick, cb_counts=counts).fit(X, y, bin_counts=other).bin_weights_, handed)
    with pytest.raises(ValueError, match="bin_counts .the resampler's bins. must hold one count per age bin"):
        AgeNet(**quick).fit(X, y, bin_counts=[1, 2])


def test_weights_follow_the_loss_bins(balanced):
    X, y = balanced
    bins = [0, 30, 50]
    net = AgeNet(**{**FAST, "max_epochs": 0}, criterion__bins=bins).fit(X, y)
    np.testing.assert_allclose(net.bin_weights_, effective_number_weights(y, bins=bins, beta=net.cb_beta))
    np.testing.assert_allclose(net.criterion_.bin_weights.numpy(), net.bin_weights_, rtol=1e-6)
    net = AgeNet(**{**FAST, "max_epochs": 0}, criterion__bins=bins, cb_counts=[10, 1, 1]).fit(X, y)
    assert net.bin_weights_.shape == (3,) and net.bin_weights_[0] < net.bin_weights_[1]
    with pytest.raises(ValueError, match=r"one count per age bin \(3\)"):
        AgeNet(**FAST, criterion__bins=bins, cb_counts=[1, 2]).fit(X, y)


@pytest.mark.parametrize("native", [True, False])
def test_amp_auto_trains_in_bf16_only_on_cpus_with_native_bf16(monkeypatch, native):
    monkeypatch.setattr(estimator_module, "cpu_supports_bf16", lambda: native)
    net = AgeNet(device="cpu")
    with net._autocast(training=True):
        assert torch.is_autocast_enabled("cpu") is native
    with net._autocast(training=False):  # prediction: bf16 on any CPU
        assert torch.is_autocast_enabled("cpu")
    with net.set_params(amp=False)._autocast(training=True):  # the fp32 switch
        assert not torch.is_autocast_enabled("cpu")
