"""dlib's face-recognition ResNet read from its file: format, module, descriptors equal dlib's."""

import numpy as np
import pytest
import torch

from skage.alignment import model_path
from skage.nn import DlibFaceResNet, DlibFileError, dlib_descriptors, read_dlib_net
from skage.nn._dlib_resnet import _add_padded


@pytest.fixture(scope="module")
def layers():
    return read_dlib_net(model_path("face_recognition"))


def test_reader_finds_the_documented_network(layers):
    tags = [layer.tag for layer in layers]
    assert tags[:3] == ["loss_metric_2", "input_rgb_image_sized", "con_4"]
    counts = {kind: sum(layer.kind == kind for layer in layers)
              for kind in ("con", "affine", "relu", "add_prev", "avg_pool", "max_pool", "fc")}
    assert counts == {"con": 29, "affine": 29, "relu": 29, "add_prev": 14, "avg_pool": 5, "max_pool": 1, "fc": 1}
    assert layers[1].config["mean"] == pytest.approx((122.782, 117.001, 104.298), abs=1e-4)
    assert (layers[1].config["rows"], layers[1].config["cols"]) == (150, 150)
    first = layers[2]
    assert first.tensors["filters"].shape == (32, 3, 7, 7)
    assert (first.config["stride_y"], first.config["padding_y"]) == (2, 0)
    assert layers[-1].tensors["weights"].shape == (256, 128)
    n_weights = sum(t.size for layer in layers for t in layer.tensors.values())
    assert 5_500_000 < n_weights < 5_700_000


def test_reader_rejects_other_files(tmp_path):
    bad = tmp_path / "not_a_net.dat"
    bad.write_bytes(b"\x01\x05hello" + bytes(100))
    with pytest.raises(DlibFileError, match="not_a_net.dat"):
        read_dlib_net(bad)


def test_wrong_layer_sequence_is_refused(layers):
    with pytest.raises(DlibFileError, match="layer sequence"):
        DlibFaceResNet().load_dlib_layers(layers[:-1])


def test_add_pads_channels_and_the_smaller_map_with_zeros():
    a = torch.ones(1, 4, 1, 1)
    b = torch.full((1, 2, 2, 2), 2.0)
    out = _add_padded(a, b)
    assert out.shape == (1, 4, 2, 2)
    assert out[0, :2, 0, 0].tolist() == [3.0, 3.0] and out[0, 2:, 0, 0].tolist() == [1.0, 1.0]
    assert out[0, 2:, 1, 1].tolist() == [0.0, 0.0] and out[0, :2, 1, 1].tolist() == [2.0, 2.0]


def test_stage_shapes_at_150_px():
    net = DlibFaceResNet().eval()
    with torch.no_grad():
        maps = net.stages(torch.zeros(1, 3, 150, 150))
    shapes = {name: tuple(t.shape[1:]) for name, t in maps.items()}
    assert shapes == {"stem": (32, 35, 35), "layer1": (32, 35, 35), "layer2": (64, 17, 17),
                      "layer3": (128, 8, 8), "layer4": (256, 2, 2), "pooled": (256,), "descriptor": (128,)}


def test_fused_copy_computes_the_same():
    net = DlibFaceResNet.from_dlib_file().eval()
    x = net.preprocess(np.random.default_rng(0).integers(0, 256, (2, 150, 150, 3), dtype=np.uint8))
    with torch.no_grad():
        torch.testing.assert_close(net.fused()(x), net(x), rtol=1e-4, atol=1e-5)


def test_descriptor_input_is_checked():
    with pytest.raises(ValueError, match="150, 150, 3"):
        dlib_descriptors(np.zeros((1, 120, 120, 3), dtype=np.uint8))
    with pytest.raises(ValueError, match="dtype float"):
        dlib_descriptors(np.zeros((1, 150, 150, 3), dtype=float))


def _dlib_chips(folder, n):
    import dlib

    detector = dlib.get_frontal_face_detector()
    predictor = dlib.shape_predictor(model_path("landmarks5"))
    chips = []
    for path in sorted(folder.glob("*.jpg"))[:n]:
        image = dlib.load_rgb_image(str(path))
        faces = detector(image, 1)
        if len(faces):
            chips.append(dlib.get_face_chip(image, predictor(image, faces[0]), size=150, padding=0.25))
    return np.stack(chips)


@pytest.fixture(scope="module")
def real_chips_and_dlib_descriptors(utkface_dir):
    """dlib chips of real faces and dlib's own descriptors (24 chips keep the test short;
    benchmarks/dlib_backbone.py measures on more)."""
    import dlib

    chips = _dlib_chips(utkface_dir, 28)
    assert len(chips) >= 20
    reference = dlib.face_recognition_model_v1(model_path("face_recognition"))
    return chips, np.array([reference.compute_face_descriptor(chip) for chip in chips])


@pytest.mark.parametrize("bf16", [False, True])
def test_descriptors_equal_dlibs_on_real_chips(real_chips_and_dlib_descriptors, bf16):
    chips, expected = real_chips_and_dlib_descriptors
    got = dlib_descriptors(chips, batch_size=16, bf16=bf16)
    cosine = (got * expected).sum(1) / np.linalg.norm(got, axis=1) / np.linalg.norm(expected, axis=1)
    assert got.dtype == np.float32 and got.shape == (len(chips), 128)
    assert cosine.min() >= (0.9999 if bf16 else 0.999999)
