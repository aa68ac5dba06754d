"""AgeLoss and the class-balanced weights, checked against hand computations."""

import numpy as np
import pytest
import torch

from skage.nn import AgeLoss, effective_number_weights


def test_effective_number_weights_follow_cui_et_al():
    y = [5] * 30 + [15] * 3 + [70]
    beta = 0.99
    weights = effective_number_weights(y, beta=beta)
    counts = np.array([30, 3, 0, 0, 0, 0, 1])
    raw = np.where(counts > 0, (1 - beta) / (1 - beta ** np.maximum(counts, 1)), 0)
    expected = raw * counts.sum() / (raw * counts).sum()
    np.testing.assert_allclose(weights, expected)
    assert weights[2] == 0  # empty bin
    assert weights[6] > weights[1] > weights[0]  # rare ages weigh more
    np.testing.assert_allclose((weights * counts).sum() / counts.sum(), 1.0)


def test_effective_number_weights_beta_zero_is_uniform():
    np.testing.assert_allclose(effective_number_weights([1, 2, 30, 45, 90], beta=0.0)[[0, 2, 4, 6]], 1.0)
    with pytest.raises(ValueError, match="beta"):
        effective_number_weights([1, 2], beta=1.0)


def _outputs(n=6, n_classes=101, dim=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, n_classes, generator=g), torch.randn(n, dim, generator=g)


def test_loss_without_extra_terms_is_mae_of_expected_age():
    logits, emb = _outputs()
    y = torch.tensor([3.0, 10, 25, 40, 61, 90])
    loss = AgeLoss(lambda_cb=0, gamma_knn=0)((logits, emb), y)
    expected_age = torch.softmax(logits, 1) @ torch.arange(101.0)
    torch.testing.assert_close(loss, (expected_age - y).abs().mean())


def test_label_distribution():
    loss = AgeLoss(label_sigma=3.0)
    q = loss.label_distribution(torch.tensor([0.0, 50.0, 130.0]))
    torch.testing.assert_close(q.sum(1), torch.ones(3))
    assert q[1].argmax() == 50 and q[2].argmax() == 100  # ages above max_age count as max_age
    torch.testing.assert_close(q[1] @ torch.arange(101.0), torch.tensor(50.0))
    one_hot = AgeLoss(label_sigma=0).label_distribution(torch.tensor([20.6]))
    assert one_hot[0, 21] == 1 and one_hot.sum() == 1


def test_class_balanced_term_weights_cross_entropy_by_bin():
    logits, emb = _outputs()
    y = torch.tensor([3.0, 10, 25, 40, 61, 90])
    weights = np.arange(1.0, 8.0)
    full = AgeLoss(lambda_cb=2.0, gamma_knn=0, bin_weights=weights)((logits, emb), y)
    mae = AgeLoss(lambda_cb=0, gamma_knn=0)((logits, emb), y)
    q = AgeLoss().label_distribution(y)
    ce = -(q * torch.log_softmax(logits, 1)).sum(1)
    per_sample_weight = torch.tensor([1.0, 1, 3, 4, 7, 7])  # bins of 3, 10, 25, 40, 61, 90
    torch.testing.assert_close(full, mae + 2.0 * (per_sample_weight * ce).mean())


def test_knn_term_pulls_towards_neighbour_ages():
    # Two tight pairs in embedding space: each sample's only neighbour (k=1) is its pair.
    emb = torch.tensor([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0], [0.1, 0.99]])
    y = torch.tensor([10.0, 20.0, 60.0, 70.0])
    loss = AgeLoss(lambda_cb=0, knn_k=1)
    term = loss.knn_consistency(emb, y.clone(), y)
    torch.testing.assert_close(term, torch.tensor(10.0))  # |10-20|, |20-10|, |60-70|, |70-60|
    assert loss.knn_consistency(emb[:1], y[:1], y[:1]) == 0  # no neighbour in a batch of one


def test_knn_term_gradient_reaches_embeddings_and_regression_head():
    out = torch.tensor([[30.0], [40.0], [50.0]], requires_grad=True)
    emb = torch.randn(3, 4, requires_grad=True)
    y = torch.tensor([31.0, 45.0, 52.0])
    loss = AgeLoss(head="regression", lambda_cb=1.0, gamma_knn=1.0, knn_k=2)((out, emb), y)
    loss.backward()
    assert emb.grad.abs().sum() > 0 and out.grad.abs().sum() > 0
    # Regression: MAE + weighted MAE (weights 1) + knn.
    expected_mae = (out[:, 0] - y).abs().mean()
    assert loss.item() >= 2 * expected_mae.item() - 1e-6


def test_bad_parameters_raise():
    with pytest.raises(ValueError, match="head"):
        AgeLoss(head="ordinal")
    with pytest.raises(ValueError, match="lambda_cb"):
        AgeLoss(lambda_cb=-1)
    with pytest.raises(ValueError, match="bin_weights"):
        AgeLoss(bin_weights=[1.0, 2.0])
