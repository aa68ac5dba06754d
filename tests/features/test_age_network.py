"""CydralAgeFeatures / CydralAgeRegressor: dlib's CC0 age network as a feature source and as a regressor."""

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from sklearn.pipeline import FeatureUnion, make_pipeline

from skage.alignment import FaceAligner
from skage.features import CydralAgeFeatures, CydralAgeRegressor, FaceDescriptor
from skage.nn import PretrainedModelMissing


@pytest.fixture(scope="module", autouse=True)
def wheel():
    pytest.importorskip("onnx")
    try:
        CydralAgeRegressor().fit()
    except PretrainedModelMissing as exc:
        pytest.skip(str(exc))


def _chips(n=3, seed=0):
    chips = np.random.default_rng(seed).integers(0, 256, (n, 64, 64, 3), dtype=np.uint8)
    chips[0] = 0  # the black chip of an unreadable input
    return chips


def test_outputs_side_by_side_nan_for_blank_chips():
    features = CydralAgeFeatures(outputs=("pooled", "probabilities", "age")).fit()
    out = features.transform(_chips())
    assert out.shape == (3, 256 + 81 + 1) == (3, features.n_features_out_)
    assert np.isnan(out[0]).all() and np.isfinite(out[1:]).all()
    names = features.get_feature_names_out()
    assert names[0] == "pooled_0" and names[256] == "probabilities_0" and names[-1] == "age"
    ages = CydralAgeRegressor().fit().predict(_chips())
    assert np.isnan(ages[0]) and np.allclose(ages[1:], out[1:, -1], atol=1e-4)


def test_extra_channels_are_ignored_and_memory_caches(tmp_path):
    chips = _chips()
    with_masks = np.concatenate([chips, np.full(chips.shape[:3] + (2,), 9, np.uint8)], axis=-1)
    features = CydralAgeFeatures(memory=str(tmp_path)).fit()
    np.testing.assert_array_equal(features.transform(with_masks), features.transform(chips))


def test_wrong_chips_say_how_to_make_them():
    wrong = np.zeros((1, 150, 150, 3), np.uint8)
    with pytest.raises(ValueError, match="CydralAgeFeatures .*output_size=64, margin=0.2"):
        CydralAgeFeatures().fit().transform(wrong)
    with pytest.raises(ValueError, match="CydralAgeRegressor .*output_size=64, margin=0.2"):
        CydralAgeRegressor().fit().predict(wrong)


@pytest.mark.parametrize("params, match", [
    (dict(outputs=("descriptor",)), "outputs must be"),
    (dict(outputs=()), "outputs must be"),
    (dict(batch_size=0), "batch_size"),
])
def test_bad_parameters_fail_at_fit(params, match):
    with pytest.raises(ValueError, match=match):
        CydralAgeFeatures(**params).fit()


def test_next_to_face_descriptor_in_a_pipeline(utkface_sample):
    """Each network on its own chips, features side by side, a regressor on top."""
    X, y = utkface_sample(6, seed=3)
    age_branch = make_pipeline(FaceAligner(geometry="dlib", landmarks=5, output_size=64, margin=0.2),
                               CydralAgeFeatures(outputs=("pooled", "age")))
    identity_branch = make_pipeline(FaceAligner(geometry="dlib", landmarks=5, output_size=150), FaceDescriptor())
    model = make_pipeline(FeatureUnion([("age", age_branch), ("identity", identity_branch)]), Ridge())
    model.fit(X, y)
    assert model[0].transform(X[:2]).shape == (2, 257 + 128)
    assert np.isfinite(model.predict(X)).all()
