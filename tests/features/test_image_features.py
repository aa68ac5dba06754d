"""LBP and HOG transformers: shapes, inputs, estimator contract."""

import pickle

import numpy as np
import pytest
from PIL import Image
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from skage.datasets import make_synthetic_faces
from skage.features import HOGFeatures, LBPFeatures
from skage.io import ImageReadError


@pytest.fixture(scope="module")
def faces():
    return make_synthetic_faces(n_samples=8, image_size=48, random_state=1).images


@pytest.mark.parametrize(
    "transformer, n_features",
    [
        (LBPFeatures(image_size=32, radius=1, n_cells=4), 4 * 4 * 10),
        (LBPFeatures(image_size=32, radius=(1, 2), n_points=(8, 12), n_cells=2), 2 * 2 * (10 + 14)),
        (HOGFeatures(image_size=32), 3 * 3 * 4 * 9),
        (HOGFeatures(image_size=64, pixels_per_cell=8, cells_per_block=1, orientations=6), 8 * 8 * 6),
    ],
)
def test_shapes_and_names(faces, transformer, n_features):
    out = clone(transformer).fit(faces).transform(faces)
    assert out.shape == (len(faces), n_features)
    assert np.isfinite(out).all()
    names = clone(transformer).fit().get_feature_names_out()
    assert len(names) == n_features and len(set(names)) == n_features


def test_lbp_cells_are_normalised_histograms(faces):
    out = LBPFeatures(image_size=32, radius=(1, 2), n_cells=4).fit_transform(faces)
    cells = out.reshape(len(faces), 2, 16, 10)
    np.testing.assert_allclose(cells.sum(axis=-1), 1.0)


@pytest.mark.parametrize("transformer", [LBPFeatures(image_size=32), HOGFeatures(image_size=32)])
def test_paths_arrays_and_mask_channels_agree(tmp_path, faces, transformer):
    paths = []
    for i, img in enumerate(faces[:3]):
        paths.append(str(tmp_path / f"{i}.png"))  # PNG: lossless, so path and array give the same pixels
        Image.fromarray(img).save(paths[-1])
    model = clone(transformer).fit()
    from_arrays = model.transform(faces[:3])
    np.testing.assert_allclose(model.transform(paths), from_arrays)
    masks = np.random.default_rng(0).integers(0, 256, faces[:3].shape[:3] + (4,), dtype=np.uint8)
    np.testing.assert_allclose(model.transform(np.concatenate([faces[:3], masks], axis=-1)), from_arrays)
    # One row per input, in order.
    np.testing.assert_allclose(model.transform([faces[2]]), from_arrays[2:3])


def test_parallel_matches_serial():
    many = make_synthetic_faces(n_samples=64, image_size=16, random_state=2).images
    serial = HOGFeatures(image_size=16, pixels_per_cell=4).fit_transform(many)
    parallel = HOGFeatures(image_size=16, pixels_per_cell=4, n_jobs=2).fit_transform(many)
    np.testing.assert_array_equal(parallel, serial)


@pytest.mark.parametrize("transformer", [LBPFeatures(image_size=32, n_jobs=1), HOGFeatures(image_size=32)])
def test_clone_params_and_pickle(faces, transformer):
    twin = clone(transformer)
    assert twin.get_params() == transformer.get_params()
    twin.set_params(image_size=24)
    assert twin.image_size == 24 and transformer.image_size == 32
    fitted = clone(transformer).fit()
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.transform(faces[:2]), fitted.transform(faces[:2]))


def test_errors(tmp_path, faces):
    with pytest.raises(NotFittedError):
        LBPFeatures().transform(faces)
    with pytest.raises(ValueError, match="n_cells"):
        LBPFeatures(image_size=32, n_cells=40).fit()
    with pytest.raises(ValueError, match="n_points must be one value or one per radius"):
        LBPFeatures(radius=(1, 2), n_points=(8, 8, 8)).fit()
    with pytest.raises(ValueError, match="image_size"):
        HOGFeatures(image_size=4).fit()
    with pytest.raises(ValueError, match="fewer than cells_per_block"):
        HOGFeatures(image_size=16, pixels_per_cell=16).fit()
    with pytest.raises(ValueError, match="block_norm"):
        HOGFeatures(block_norm="max").fit()
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"not a jpeg")
    with pytest.raises(ImageReadError, match="broken.jpg"):
        HOGFeatures(image_size=32).fit().transform([str(broken)])
