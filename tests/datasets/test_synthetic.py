"""Synthetic faces: shapes, determinism, and age cues that show in the pixels."""

import numpy as np
import pytest
from scipy import ndimage
from skimage.color import rgb2gray, rgb2hsv

from skage.datasets import make_synthetic_faces


@pytest.fixture(scope="module")
def faces():
    return make_synthetic_faces(n_samples=90, image_size=64, random_state=0, return_metadata=True)


def test_shapes_types_and_age_spread(faces):
    assert faces.images.shape == (90, 64, 64, 3) and faces.images.dtype == np.uint8
    assert faces.y.dtype == np.float64 and faces.y.shape == (90,)
    assert faces.y.min() >= 1 and faces.y.max() <= 90
    # Roughly uniform: each third of the age range is well represented.
    counts = np.histogram(faces.y, bins=[1, 31, 61, 91])[0]
    assert counts.min() >= 18, counts
    assert set(faces.metadata.gender) == {"male", "female"}
    assert set(faces.metadata.race) <= {"white", "black", "asian", "indian", "other"}
    assert {"wrinkles", "grey", "growth"} <= set(faces.metadata.columns)


def test_deterministic_for_a_seed():
    a = make_synthetic_faces(n_samples=5, image_size=32, random_state=7)
    b = make_synthetic_faces(n_samples=5, image_size=32, random_state=7)
    c = make_synthetic_faces(n_samples=5, image_size=32, random_state=8)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.y, b.y)
    assert not np.array_equal(a.images, c.images)
    assert "gender" in a.metadata and "wrinkles" not in a.metadata


def test_grey_hair_grows_with_age(faces):
    hsv = rgb2hsv(faces.images)
    whiteish = (hsv[..., 1] < 0.15) & (hsv[..., 2] > 0.6)
    hair = whiteish[:, 4:24, 16:48].mean(axis=(1, 2))  # the top of the head
    y = faces.y
    assert hair[y >= 60].mean() > 5 * hair[y < 30].mean() + 0.05
    assert np.corrcoef(y, hair)[0, 1] > 0.5


def test_skin_gets_more_textured_with_age(faces):
    grey = rgb2gray(faces.images)
    detail = np.array([np.abs(ndimage.laplace(g))[24:48, 22:42].mean() for g in grey])  # mid-face lines and noise
    y = faces.y
    assert detail[y >= 60].mean() > detail[y < 30].mean()
    assert np.corrcoef(y, detail)[0, 1] > 0.15


def test_bad_arguments():
    with pytest.raises(ValueError, match="image_size"):
        make_synthetic_faces(n_samples=2, image_size=8)
    with pytest.raises(ValueError, match="n_samples"):
        make_synthetic_faces(n_samples=0)
