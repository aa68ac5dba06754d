import numpy as np
import pytest
from sklearn.base import clone

from skage.io import ImageLoader, ImageReadError


def test_loader_centre_crops_and_resizes_to_square_chips(tmp_path):
    wide = np.zeros((40, 60, 3), np.uint8)
    wide[:, 10:50] = 200  # the centred 40x40 square is all bright
    out = ImageLoader(image_size=20).fit_transform([wide, np.full((20, 20), 7, np.uint8)])
    assert out.shape == (2, 20, 20, 3) and out.dtype == np.uint8
    assert out[0].min() == 200
    assert (out[1] == 7).all()


def test_loader_names_the_bad_file_and_rejects_bad_size(tmp_path):
    (tmp_path / "x.jpg").write_text("not an image")
    with pytest.raises(ImageReadError, match="x.jpg"):
        ImageLoader().fit_transform([str(tmp_path / "x.jpg")])
    with pytest.raises(ValueError, match="image_size"):
        clone(ImageLoader(image_size=0)).fit([np.zeros((4, 4, 3), np.uint8)])
