"""Data feeding and augmentation: uint8 until the device, masks move with the image."""

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from skage.nn import ChipDataset, augment_batch, to_model_input
from skage.nn._data import IMAGENET_MEAN, IMAGENET_STD, collate_chips


def test_batches_stay_uint8_and_in_order(tmp_path):
    X = np.lib.format.open_memmap(tmp_path / "chips.npy", mode="w+", dtype=np.uint8, shape=(10, 6, 6, 5))
    X[:] = np.arange(10, dtype=np.uint8)[:, None, None, None]
    loader = DataLoader(ChipDataset(X, np.arange(10.0)), batch_size=4, collate_fn=collate_chips)
    batches = list(loader)
    assert [len(xb) for xb, _ in batches] == [4, 4, 2]
    xb, yb = batches[1]
    assert xb.dtype == torch.uint8 and xb.shape == (4, 6, 6, 5)
    assert xb[:, 0, 0, 0].tolist() == [4, 5, 6, 7] and yb.tolist() == [4, 5, 6, 7]


def test_to_model_input_normalises_rgb_and_scales_masks():
    x = torch.full((2, 4, 4, 5), 255, dtype=torch.uint8)
    x[..., 4] = 0
    out = to_model_input(x, "cpu")
    assert out.shape == (2, 5, 4, 4) and out.dtype == torch.float32
    assert out.is_contiguous(memory_format=torch.channels_last)
    expected_rgb = (1 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    torch.testing.assert_close(out[0, :3, 0, 0], expected_rgb)
    assert out[:, 3].eq(1).all() and out[:, 4].eq(0).all()


def test_geometric_augmentation_is_identical_on_image_and_masks():
    g = torch.Generator().manual_seed(0)
    pattern = torch.rand(6, 1, 32, 32, generator=g)
    x = torch.cat([pattern, pattern, pattern, pattern, 1 - pattern, torch.ones_like(pattern)], dim=1)
    out = augment_batch(x, brightness=0.0, generator=torch.Generator().manual_seed(1))
    assert not torch.allclose(out, x)  # something moved
    torch.testing.assert_close(out[:, 3], out[:, 0])  # mask follows image exactly
    # Resampling is linear and shared by all channels: T(p) + T(1 - p) == T(1).
    torch.testing.assert_close(out[:, 3] + out[:, 4], out[:, 5])


def test_brightness_touches_rgb_only():
    x = torch.full((4, 5, 8, 8), 0.5)
    out = augment_batch(x, rotation=0.0, brightness=0.5, flip=0.0, scale=(1.0, 1.0),
                        generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(out[:, 3:], x[:, 3:])
    factors = out[:, 0, 4, 4] / 0.5
    assert factors.min() >= 0.5 - 1e-6 and factors.max() <= 1.5 + 1e-6 and factors.std() > 0


@pytest.mark.parametrize("flip", [0.0, 1.0])
def test_flip_probability(flip):
    x = torch.zeros(3, 3, 4, 4)
    x[..., 0] = 1  # left column lit
    out = augment_batch(x, rotation=0.0, brightness=0.0, flip=flip, scale=(1.0, 1.0))
    lit_column = 3 if flip else 0
    assert torch.allclose(out[..., lit_column], torch.ones(3, 3, 4), atol=1e-5)
