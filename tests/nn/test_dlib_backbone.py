"""AgeNet / AgeResNet on dlib's face ResNet: pretrained by default, attention, fine-tuning controls."""

import pickle

import numpy as np
import pytest
import torch
from sklearn.model_selection import GridSearchCV

from skage.nn import AgeNet, AgeResNet, DlibFaceResNet
from skage.nn._data import to_model_input

# 112 px is about the smallest input the network's four down-samplings accept; dlib's chips are 150.
SIZE = 112
DLIB = dict(backbone="dlib_resnet", max_epochs=1, batch_size=4, verbose=0, random_state=0, device="cpu")


@pytest.fixture(scope="module")
def dlib_net():
    return DlibFaceResNet.from_dlib_file().eval()


def _chips(n=8, size=SIZE, n_regions=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, size, size, 3 + n_regions), dtype=np.uint8), rng.uniform(1, 80, n)


def test_pretrained_by_default_random_on_request(dlib_net):
    pretrained = AgeResNet(attention=False, backbone="dlib_resnet")
    random = AgeResNet(attention=False, backbone="dlib_resnet", weights="random")
    expected = dlib_net.layer3[1].conv2.weight
    assert torch.equal(pretrained.backbone.layer3[1].conv2.weight, expected)
    assert not torch.equal(random.backbone.layer3[1].conv2.weight, expected)
    assert pretrained.embedding_dim == 256


def test_imagenet_normalised_input_reaches_dlibs_features(dlib_net):
    chips, _ = _chips(2, size=150, n_regions=0)
    model = AgeResNet(attention=False, backbone="dlib_resnet").eval()
    with torch.no_grad():
        ours = model.features(to_model_input(torch.from_numpy(chips), "cpu"))
        dlibs = dlib_net.features(dlib_net.preprocess(chips))
    torch.testing.assert_close(ours, dlibs, rtol=1e-4, atol=1e-4)


def test_attention_on_intermediate_stages():
    model = AgeResNet(n_regions=2, backbone="dlib_resnet", attention_layers=("layer1", "layer2", "layer3"))
    assert [block.spatial.in_channels for block in model.attention.values()] == [32, 64, 128]
    x = to_model_input(torch.from_numpy(_chips(2)[0]), "cpu")
    embedding, maps = model.features(x, return_attention=True)
    assert embedding.shape == (2, 256)
    assert {name: tuple(m.shape[-2:]) for name, m in maps.items()} == {
        "layer1": (26, 26), "layer2": (13, 13), "layer3": (6, 6)}


def test_imagenet_weights_are_refused_for_dlib():
    with pytest.raises(ValueError, match="no ImageNet weights"):
        AgeResNet(attention=False, backbone="dlib_resnet", weights="imagenet")


@pytest.mark.parametrize("bad", [-1, 6, 1.5])
def test_freeze_stages_is_checked(bad):
    with pytest.raises(ValueError, match="freeze_stages"):
        AgeResNet(attention=False, backbone="dlib_resnet", weights="random", freeze_stages=bad)


def test_fit_freezes_first_stages_and_scales_the_backbone_lr():
    X, y = _chips()
    net = AgeNet(**DLIB, lr=1e-3, backbone_lr_scale=0.1, freeze_stages=2, lr_schedule=None)
    net.fit(X, y)
    reference = DlibFaceResNet.from_dlib_file()
    backbone = net.module_.backbone
    assert torch.equal(backbone.stem[0].weight, reference.stem[0].weight)
    assert torch.equal(backbone.layer1[0].conv1.weight, reference.layer1[0].conv1.weight)
    assert not torch.equal(backbone.layer2[0].conv1.weight, reference.layer2[0].conv1.weight)
    lrs = sorted(group["lr"] for group in net.optimizer_.param_groups)
    assert lrs == pytest.approx([1e-4, 1e-3])
    n_optimised = sum(len(group["params"]) for group in net.optimizer_.param_groups)
    assert n_optimised == sum(p.requires_grad for p in net.module_.parameters())


def test_backbone_lr_scale_is_checked():
    X, y = _chips(4)
    with pytest.raises(ValueError, match="backbone_lr_scale"):
        AgeNet(**DLIB, backbone_lr_scale=0).fit(X, y)


def test_pickle_and_grid_search():
    X, y = _chips()
    # One candidate keeps it short (3 fits); the point is that clone/set_params/refit work on this backbone.
    search = GridSearchCV(AgeNet(**DLIB), {"backbone_lr_scale": [0.1], "freeze_stages": [4]}, cv=2,
                          scoring="neg_mean_absolute_error").fit(X, y)
    assert search.best_estimator_.module_.backbone.layer3[0].conv1.weight.requires_grad is False
    net = search.best_estimator_
    restored = pickle.loads(pickle.dumps(net))
    np.testing.assert_allclose(restored.predict(X), net.predict(X), rtol=1e-5)
    assert restored.transform(X).shape == (len(X), 256)


def test_age_pipeline_with_the_dlib_backbone(utkface_dir):
    from sklearn.base import clone

    from skage.datasets import load_utkface
    from skage.pipeline import make_age_pipeline

    faces = load_utkface(utkface_dir)
    idx = np.random.default_rng(0).choice(len(faces.y), 8, replace=False)
    X, y = faces.X[idx], faces.y[idx]
    pipe = make_age_pipeline(model="resnet", image_size=150, max_epochs=1, batch_size=4, device="cpu", random_state=0, verbose=0,
                             detector="hog", balance=False, knn=False,
                             net_params={"backbone": "dlib_resnet", "freeze_stages": 2, "backbone_lr_scale": 0.1})
    pipe.fit(X[:6], y[:6])
    pred = pipe.predict(X[6:])
    assert pred.shape == (2,) and np.isfinite(pred).all()
    net = pipe.named_steps["model"]
    assert isinstance(net.module_.backbone, DlibFaceResNet) and net.n_regions_ > 0
    np.testing.assert_allclose(pickle.loads(pickle.dumps(pipe)).predict(X[6:]), pred, rtol=1e-5)
    clone(pipe).set_params(model__freeze_stages=3)
