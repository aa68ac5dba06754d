"""Training loss: MAE + class-balanced cross-entropy + KNN consistency."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..metrics import DEFAULT_AGE_BINS, check_bins
from ._heads import check_head, expected_age


class AgeLoss(nn.Module):
    """Age loss: ``MAE + lambda_cb * CB + gamma_knn * KNN``.

    Works on the network output ``(output, embedding)`` of
    :class:`~skage.nn.AgeResNet` and float ages ``y``.

    * **MAE**: mean absolute error of the predicted age (the expectation over
      the DEX softmax, or the regressed value).
    * **CB**, class-balanced term, each sample weighted by its age bin's
      effective-number weight (``bin_weights``, see
      :func:`~skage.sampling.effective_number_weights`). DEX head: cross-entropy against a
      label distribution, a Gaussian of width ``label_sigma`` years centred
      on the true age over ages ``0 .. n_classes - 1`` (``label_sigma=0``
      gives one-hot DEX targets at the rounded age). Regression head: the
      weighted absolute error.
    * **KNN** consistency, within each batch: embeddings are L2-normalised;
      for each sample ``i`` its ``k = min(knn_k, B - 1)`` most cosine-similar
      other samples ``j`` get weights ``softmax_j(cos(e_i, e_j) /
      knn_temperature)`` and the term is ``mean_i |age_hat_i - sum_j w_ij
      y_j|``: the prediction is pulled towards the similarity-weighted mean
      *true* age of its neighbours, and, because the weights depend on the
      embedding, neighbours with ages close to the prediction are pulled
      closer in embedding space. This is the neighbourhood structure the
      KNN refiner later relies on. Zero for batches of one.

    Ages above ``n_classes - 1`` count as ``n_classes - 1`` in the label
    distribution; MAE and KNN use the true ages.

    Parameters
    ----------
    head : {"dex", "regression"}, default="dex"
    n_classes : int, default=101
    label_sigma : float, default=3.0
    lambda_cb : float, default=1.0
    gamma_knn : float, default=0.1
    knn_k : int, default=5
    knn_temperature : float, default=0.1
    bin_weights : array-like of shape (n_bins,), default=None
        Weight per age bin; all ones when None.
    bins : sequence of float, default=None
        Lower bin edges matching ``bin_weights``; the default age bins when None.

    Examples
    --------
    >>> import torch
    >>> from skage.nn import AgeLoss
    >>> loss = AgeLoss(n_classes=5, label_sigma=0, lambda_cb=0, gamma_knn=0)
    >>> logits = torch.full((1, 5), -1e4); logits[0, 2] = 0
    >>> float(loss((logits, torch.zeros(1, 8)), torch.tensor([3.0])))
    1.0
    """

    def __init__(self, head="dex", n_classes=101, label_sigma=3.0, lambda_cb=1.0, gamma_knn=0.1, knn_k=5,
                 knn_temperature=0.1, bin_weights=None, bins=None):
        super().__init__()
        check_head(head)
        for name, value in (("label_sigma", label_sigma), ("lambda_cb", lambda_cb), ("gamma_knn", gamma_knn)):
            if not value >= 0:
                raise ValueError(f"{name} must be >= 0, got {value!r}")
        if int(knn_k) < 1 or knn_temperature <= 0:
            raise ValueError(f"knn_k must be >= 1 and knn_temperature > 0, got {knn_k!r}, {knn_temperature!r}")
        self.head = head
        self.n_classes = int(n_classes)
        self.label_sigma = float(label_sigma)
        self.lambda_cb = float(lambda_cb)
        self.gamma_knn = float(gamma_knn)
        self.knn_k = int(knn_k)
        self.knn_temperature = float(knn_temperature)
        edges = check_bins(DEFAULT_AGE_BINS if bins is None else bins)
        weights = np.ones(len(edges)) if bin_weights is None else np.asarray(bin_weights, dtype=float)
        if weights.shape != (len(edges),):
            raise ValueError(f"bin_weights must have one weight per bin ({len(edges)}), got shape {weights.shape}")
        self.register_buffer("bin_edges", torch.as_tensor(edges, dtype=torch.float32))
        self.register_buffer("bin_weights", torch.as_tensor(weights, dtype=torch.float32))
        self.register_buffer("ages", torch.arange(self.n_classes, dtype=torch.float32))

    def label_distribution(self, y):
        """Soft DEX targets of shape (B, n_classes)."""
        y = y.clamp(0, self.n_classes - 1)
        if self.label_sigma == 0:
            return F.one_hot(y.round().long(), self.n_classes).float()
        logits = -0.5 * ((self.ages[None, :] - y[:, None]) / self.label_sigma) ** 2
        return torch.softmax(logits, dim=1)

    def predicted_age(self, output):
        """Expected age of the DEX softmax, or the regressed age (see :func:`expected_age`)."""
        return expected_age(output, self.head)

    def knn_consistency(self, embedding, age_hat, y):
        """The KNN term described in the class docstring (a scalar)."""
        n = embedding.shape[0]
        k = min(self.knn_k, n - 1)
        if k < 1:
            return age_hat.new_zeros(())
        e = F.normalize(embedding, dim=1)
        similarity = e @ e.T
        # A sample is not its own neighbour.
        similarity = similarity.masked_fill(torch.eye(n, dtype=torch.bool, device=e.device), float("-inf"))
        top_similarity, top_index = similarity.topk(k, dim=1)
        weights = torch.softmax(top_similarity / self.knn_temperature, dim=1)
        neighbour_age = (weights * y[top_index]).sum(dim=1)
        return (age_hat - neighbour_age).abs().mean()

    def forward(self, y_pred, y_true):
        output, embedding = y_pred
        output, embedding, y = output.float(), embedding.float(), y_true.float().reshape(-1)
        age_hat = self.predicted_age(output)
        loss = (age_hat - y).abs().mean()
        if self.lambda_cb > 0:
            sample_weight = self.bin_weights[torch.bucketize(y, self.bin_edges, right=True) - 1]
            if self.head == "dex":
                per_sample = -(self.label_distribution(y) * F.log_softmax(output, dim=1)).sum(dim=1)
            else:
                per_sample = (age_hat - y).abs()
            loss = loss + self.lambda_cb * (sample_weight * per_sample).mean()
        if self.gamma_knn > 0:
            loss = loss + self.gamma_knn * self.knn_consistency(embedding, age_hat, y)
        return loss
