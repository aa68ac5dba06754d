"""HistogramEqualizer: CLAHE on colour channels only."""

import pickle

import numpy as np
import pytest
from sklearn.base import clone

from skage.alignment import HistogramEqualizer


def _low_contrast(n=3, size=48, channels=3):
    rng = np.random.default_rng(0)
    gradient = np.linspace(90, 130, size)[None, :, None]
    return np.clip(gradient + rng.normal(0, 3, (n, size, size, channels)), 0, 255).astype(np.uint8)


def test_stretches_contrast_and_keeps_shape():
    chips = _low_contrast()
    out = HistogramEqualizer(clip_limit=0.03).fit_transform(chips)
    assert out.shape == chips.shape and out.dtype == np.uint8
    assert out.std() > 2 * chips.std()


def test_extra_channels_pass_through():
    chips = _low_contrast(channels=5)
    out = HistogramEqualizer().fit(chips).transform(chips)
    np.testing.assert_array_equal(out[..., 3:], chips[..., 3:])
    assert not np.array_equal(out[..., :3], chips[..., :3])


def test_rejects_bad_input_and_parameters():
    with pytest.raises(ValueError, match="uint8 chips"):
        HistogramEqualizer().fit(np.zeros((2, 8, 8), np.uint8))
    with pytest.raises(ValueError, match="clip_limit"):
        HistogramEqualizer(clip_limit=0).fit(_low_contrast())
    eq = HistogramEqualizer().fit(_low_contrast(channels=3))
    with pytest.raises(ValueError, match="fitted on 3 channels"):
        eq.transform(_low_contrast(channels=4))


def test_clone_and_pickle():
    eq = HistogramEqualizer(clip_limit=0.02).fit(_low_contrast())
    assert clone(eq).get_params()["clip_limit"] == 0.02
    chips = _low_contrast()
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(eq)).transform(chips), eq.transform(chips))
