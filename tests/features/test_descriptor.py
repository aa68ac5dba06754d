"""FaceDescriptor: dlib's descriptors from the aligner's dlib-geometry chips, and its bad inputs."""

import numpy as np
import pytest
from joblib import Memory
from PIL import Image
from sklearn.utils._param_validation import InvalidParameterError

from skage.alignment import FaceAligner, model_path
from skage.features import FaceDescriptor
from skage.io import read_image


@pytest.fixture(scope="module")
def chips_and_paths(utkface_dir):
    paths = sorted(utkface_dir.glob("*.jpg"))
    paths = [paths[i] for i in np.linspace(0, len(paths) - 1, 12).astype(int)]
    result = FaceAligner(geometry="dlib", landmarks=5, output_size=150).fit().align(paths)
    return result, paths


def _cosine(a, b):
    return np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_equals_dlibs_descriptor_of_the_original_photo(chips_and_paths):
    """No second detection, same numbers: dlib's own compute_face_descriptor(image, landmarks)."""
    import dlib

    result, paths = chips_and_paths
    ours = FaceDescriptor().fit_transform(result.chips)
    detector, predictor = dlib.get_frontal_face_detector(), dlib.shape_predictor(model_path("landmarks5"))
    net = dlib.face_recognition_model_v1(model_path("face_recognition"))
    reference, kept = [], []
    for i, path in enumerate(paths):
        image = read_image(path)
        found = detector(np.asarray(Image.fromarray(image).convert("L")), 0)  # HOG on luma, as the aligner
        if found and result.detected_by[i] == "hog":  # the same face, found the same way
            reference.append(np.asarray(net.compute_face_descriptor(image, predictor(image, found[0]))))
            kept.append(i)
    assert len(kept) >= 8
    assert ours.shape == (len(paths), 128) and ours.dtype == np.float32
    assert _cosine(ours[kept], np.array(reference)).min() >= 0.999


def test_blank_chip_gets_nan_and_parallel_equals_serial(chips_and_paths):
    result, _ = chips_and_paths
    chips = np.array(result.chips[:6])
    chips[2] = 0  # what the aligner gives an unreadable file
    serial = FaceDescriptor().fit_transform(chips)
    assert np.isnan(serial[2]).all() and np.isfinite(np.delete(serial, 2, axis=0)).all()
    np.testing.assert_allclose(FaceDescriptor(n_jobs=2).fit_transform(chips), serial, rtol=1e-6, equal_nan=True)


def test_memory_computes_each_batch_once(chips_and_paths, tmp_path):
    chips = np.array(chips_and_paths[0].chips[:3])
    first = FaceDescriptor(memory=Memory(str(tmp_path), verbose=0)).fit_transform(chips)
    np.testing.assert_array_equal(FaceDescriptor(memory=str(tmp_path)).fit_transform(chips), first)
    assert len(list(tmp_path.rglob("output.pkl"))) == 1  # the second call was a cache hit
    FaceDescriptor(memory=str(tmp_path)).fit_transform(chips[:2])
    assert len(list(tmp_path.rglob("output.pkl"))) == 2


def test_memory_describes_chips_followed_by_new_ones_once(chips_and_paths, tmp_path, monkeypatch):
    """Blocks counted from the first chip: a training set's features are reused when copies follow it."""
    from skage.features import _descriptor

    monkeypatch.setattr(_descriptor, "_CACHE_BLOCK", 2)
    chips = np.array(chips_and_paths[0].chips[:4])
    first = FaceDescriptor(memory=str(tmp_path)).fit_transform(chips)
    assert len(list(tmp_path.rglob("output.pkl"))) == 2
    longer = FaceDescriptor(memory=str(tmp_path)).fit_transform(np.concatenate([chips, chips[:1, ::-1]]))
    assert len(list(tmp_path.rglob("output.pkl"))) == 3  # only the new block was described
    np.testing.assert_array_equal(longer[:4], first)
    np.testing.assert_array_equal(longer, FaceDescriptor().fit_transform(np.concatenate([chips, chips[:1, ::-1]])))


def test_torch_engine_matches_dlib_and_reads_inner_layers(chips_and_paths):
    chips = np.array(chips_and_paths[0].chips)
    chips[5] = 0
    dlib_desc = FaceDescriptor().fit_transform(chips)
    torch_desc = FaceDescriptor(engine="torch", batch_size=5).fit_transform(chips)
    assert np.isnan(torch_desc[5]).all()
    assert _cosine(np.delete(torch_desc, 5, axis=0), np.delete(dlib_desc, 5, axis=0)).min() >= 0.999
    inner = FaceDescriptor(engine="torch", layers=("layer3", "layer4", "descriptor")).fit(None)
    features = inner.transform(chips)
    assert features.shape == (len(chips), 128 + 256 + 128) and inner.n_features_out_ == 512
    assert _cosine(np.delete(features[:, -128:], 5, axis=0), np.delete(torch_desc, 5, axis=0)).min() >= 0.9999
    assert inner.get_feature_names_out()[[0, 128, 384]].tolist() == ["layer3_0", "layer4_0", "descriptor_0"]
    # flip averages the two views, so a mirrored chip gives the same features
    flipped = FaceDescriptor(engine="torch", layers=("layer4",), flip=True)
    np.testing.assert_allclose(flipped.fit_transform(chips[:3, :, ::-1]), flipped.transform(chips[:3]), atol=0.05)


def test_bad_inputs_name_the_fix():
    with pytest.raises(ValueError, match=r"FaceAligner\(geometry='dlib', output_size=150\)"):
        FaceDescriptor().fit_transform(np.zeros((2, 224, 224, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        FaceDescriptor().fit_transform(np.zeros((1, 150, 150, 3), np.float32))
    with pytest.raises(InvalidParameterError, match="jitter"):
        FaceDescriptor(jitter=-1).fit(None)
    with pytest.raises(InvalidParameterError, match="engine"):
        FaceDescriptor(engine="onnx").fit(None)
    with pytest.raises(ValueError, match="engine='dlib' gives only the 128-d descriptor"):
        FaceDescriptor(layers=("layer4",)).fit(None)
    with pytest.raises(ValueError, match="layers must be distinct names"):
        FaceDescriptor(engine="torch", layers=("layer9",)).fit(None)
    with pytest.raises(ValueError, match="jitter is dlib's own"):
        FaceDescriptor(engine="torch", jitter=2).fit(None)
    names = FaceDescriptor().fit(None).get_feature_names_out()
    assert names[0] == "descriptor_0" and len(names) == 128
