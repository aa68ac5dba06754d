"""Feeding uint8 chips to the network: batching on the host, the rest on the device."""

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import Dataset
from torch.utils.data import default_collate

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


class _Batch(tuple):
    """A batch already assembled by :meth:`ChipDataset.__getitems__`."""


class ChipDataset(Dataset):
    """uint8 chips ``(N, H, W, C)`` and ages, read one batch at a time.

    The chips stay uint8 in host memory (a ``np.memmap`` works too): each
    batch is gathered with one fancy-indexing copy and converted to float
    only on the device, so the data set never exists as a float copy.

    Parameters
    ----------
    X : ndarray of shape (N, H, W, C), dtype uint8
    y : array-like of shape (N,), default=None
        Ages; zeros when None (prediction).

    Examples
    --------
    >>> import numpy as np
    >>> from skage.nn import ChipDataset
    >>> data = ChipDataset(np.zeros((3, 8, 8, 3), np.uint8), [20, 30, 40])
    >>> chips, ages = data.__getitems__([0, 2])  # one copy per batch, still uint8
    >>> len(data), chips.shape, chips.dtype, ages.tolist()
    (3, torch.Size([2, 8, 8, 3]), torch.uint8, [20.0, 40.0])
    """

    def __init__(self, X, y=None):
        self.X = X
        self.y = np.zeros(len(X), dtype=np.float32) if y is None else np.asarray(y, dtype=np.float32)

    def __len__(self):
        return len(self.X)

    def __getitem__(self, i):
        return torch.from_numpy(np.array(self.X[i])), torch.tensor(self.y[i])

    def __getitems__(self, indices):
        index = np.asarray(indices)
        return _Batch((torch.from_numpy(np.ascontiguousarray(self.X[index])), torch.from_numpy(self.y[index])))


def collate_chips(data):
    """Collate function pairing with :meth:`ChipDataset.__getitems__`."""
    if isinstance(data, _Batch):
        return tuple(data)
    return default_collate(data)


def to_model_input(x, device, mean=IMAGENET_MEAN, std=IMAGENET_STD, augment=None, generator=None):
    """uint8 ``(B, H, W, C)`` batch → float ``(B, C, H, W)`` network input.

    The copy to ``device`` happens while still uint8 (4x fewer bytes, and
    asynchronous from pinned memory); the result is channels_last, RGB
    normalised with ``mean``/``std`` and masks scaled to [0, 1].
    ``augment`` is None or a dict of :func:`augment_batch` keyword arguments.

    Examples
    --------
    >>> import torch
    >>> from skage.nn import to_model_input
    >>> chips = torch.full((1, 8, 8, 4), 255, dtype=torch.uint8)  # white RGB and one full mask
    >>> x = to_model_input(chips, "cpu")
    >>> x.shape, [round(v, 2) for v in x[0, :, 0, 0].tolist()]
    (torch.Size([1, 4, 8, 8]), [2.25, 2.43, 2.64, 1.0])
    """
    x = x.to(device, non_blocking=True)
    # NHWC memory permuted to NCHW *is* channels_last: no copy needed.
    x = x.permute(0, 3, 1, 2).float().div_(255)
    if augment:
        x = augment_batch(x, generator=generator, **augment)
    n_channels = x.shape[1]
    scale = torch.ones(n_channels, device=x.device)
    shift = torch.zeros(n_channels, device=x.device)
    scale[:3] = 1 / torch.tensor(std, device=x.device)
    shift[:3] = -torch.tensor(mean, device=x.device) * scale[:3]
    x = x * scale.view(1, -1, 1, 1) + shift.view(1, -1, 1, 1)
    return x.contiguous(memory_format=torch.channels_last)


def _uniform(n, low, high, x, generator):
    return low + (high - low) * torch.rand(n, device=x.device, generator=generator)


def augment_batch(x, rotation=10.0, brightness=0.2, flip=0.5, scale=(0.75, 1.0), generator=None):
    """Random geometric and photometric augmentation of a float batch in [0, 1].

    Every sample gets its own draw. The geometric part (horizontal flip,
    rotation, zoom) is one resampling applied identically to all channels,
    so region masks stay aligned with the face; brightness touches the
    first three (RGB) channels only. Runs wherever ``x`` lives (the GPU
    during GPU training).

    Parameters
    ----------
    x : tensor of shape (B, C, H, W), float in [0, 1]
    rotation : float, default=10.0
        Maximum absolute rotation in degrees.
    brightness : float, default=0.2
        RGB is multiplied by a factor drawn from ``[1 - b, 1 + b]``.
    flip : float, default=0.5
        Probability of a horizontal flip.
    scale : (float, float), default=(0.75, 1.0)
        Range of the side of a random square crop, as a fraction of the
        image side, resized back to full size (zoom in by ``1 / scale``).
    generator : torch.Generator, optional

    Returns
    -------
    x : tensor of the same shape

    Examples
    --------
    >>> import torch
    >>> from skage.nn import augment_batch
    >>> x = torch.rand(2, 4, 16, 16, generator=torch.Generator().manual_seed(0))  # RGB and one mask
    >>> augment_batch(x, generator=torch.Generator().manual_seed(0)).shape
    torch.Size([2, 4, 16, 16])
    >>> mirrored = augment_batch(x, rotation=0, brightness=0, flip=1, scale=(1, 1))
    >>> torch.allclose(mirrored, x.flip(-1), atol=1e-5)
    True
    """
    n = x.shape[0]
    if brightness:
        factor = _uniform(n, 1 - brightness, 1 + brightness, x, generator).view(n, 1, 1, 1)
        x = torch.cat([(x[:, :3] * factor).clamp_(0, 1), x[:, 3:]], dim=1)
    angle = _uniform(n, -rotation, rotation, x, generator) * (math.pi / 180)
    side = _uniform(n, scale[0], scale[1], x, generator)
    mirror = torch.where(torch.rand(n, device=x.device, generator=generator) < flip, -1.0, 1.0)
    # The crop stays inside the image: its centre moves at most (1 - side).
    shift = (torch.rand(n, 2, device=x.device, generator=generator) * 2 - 1) * (1 - side)[:, None]
    cos, sin = torch.cos(angle) * side, torch.sin(angle) * side
    theta = torch.stack([
        torch.stack([cos * mirror, -sin, shift[:, 0]], dim=1),
        torch.stack([sin * mirror, cos, shift[:, 1]], dim=1),
    ], dim=1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
