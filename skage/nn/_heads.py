"""The two age heads and the age each one predicts: one definition for the network, the loss and the estimator."""

import math

import torch

#: ``"dex"``: logits over integer ages ``0 .. n_classes - 1`` (Rothe et al., DEX), read as the
#: expectation of the softmax; ``"regression"``: one output, the age itself.
HEADS = ("dex", "regression")


def check_head(head):
    """Return ``head`` when it is one of :data:`HEADS`, else raise a ValueError."""
    if head not in HEADS:
        raise ValueError(f"head must be one of {HEADS}, got {head!r}")
    return head


def expected_age(output, head):
    """Predicted age of each row of a head's output, float32 of shape (B,).

    Parameters
    ----------
    output : tensor of shape (B, n_classes) or (B, 1)
        DEX logits over ages ``0 .. n_classes - 1``, or regressed ages.
    head : {"dex", "regression"}

    Returns
    -------
    ages : tensor of shape (B,)
        The expectation of the softmax over the ages for ``"dex"``; the
        output itself for ``"regression"``.

    Examples
    --------
    >>> import torch
    >>> from skage.nn._heads import expected_age
    >>> expected_age(torch.tensor([[0.0, 0.0, -1e4]]), "dex")
    tensor([0.5000])
    >>> expected_age(torch.tensor([[41.0]]), "regression")
    tensor([41.])
    """
    output = output.float()
    if check_head(head) == "dex":
        ages = torch.arange(output.shape[1], dtype=torch.float32, device=output.device)
        return torch.softmax(output, dim=1) @ ages
    return output[:, 0]


def mean_output(outputs, head):
    """One head output standing for several views of the same faces (e.g. a chip and its mirror image).

    Parameters
    ----------
    outputs : sequence of tensors of shape (B, n_classes) or (B, 1)
        DEX logits or regressed ages, one tensor per view.
    head : {"dex", "regression"}

    Returns
    -------
    output : tensor of the same shape
        For ``"dex"``, logits whose softmax is the mean of the views' age
        distributions (so the expected age is the mean of theirs); for
        ``"regression"``, the mean age.

    Examples
    --------
    >>> import torch
    >>> from skage.nn._heads import expected_age, mean_output
    >>> views = [torch.tensor([[0.0, -1e4]]), torch.tensor([[-1e4, 0.0]])]
    >>> expected_age(mean_output(views, "dex"), "dex")
    tensor([0.5000])
    """
    stacked = torch.stack([output.float() for output in outputs])
    if check_head(head) == "dex":
        # Averaging distributions, not logits: the mean of the views' expected ages stays their mean.
        return torch.logsumexp(torch.log_softmax(stacked, dim=2), dim=0) - math.log(len(outputs))
    return stacked.mean(dim=0)
