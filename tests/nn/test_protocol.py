"""The backbone and age-network protocols: both backbones and AgeResNet satisfy them."""

import pytest
import torch
import torchvision

from skage.nn import AgeResNet, DlibFaceResNet
from skage.nn._protocol import AgeModule, Backbone, run_stem, stem_modules


@pytest.mark.parametrize("backbone", [torchvision.models.resnet18(), DlibFaceResNet()], ids=["resnet", "dlib"])
def test_backbones_satisfy_the_protocol(backbone):
    assert isinstance(backbone, Backbone)
    assert all(isinstance(m, torch.nn.Module) for m in stem_modules(backbone))


def test_stem_is_what_each_backbone_did_before():
    x = torch.randn(2, 3, 64, 64)
    resnet, dlib = torchvision.models.resnet18().eval(), DlibFaceResNet().eval()
    with torch.no_grad():
        torch.testing.assert_close(run_stem(resnet, x), resnet.maxpool(resnet.relu(resnet.bn1(resnet.conv1(x)))))
        torch.testing.assert_close(run_stem(dlib, x), dlib.stem(dlib.from_imagenet(x)))


@pytest.mark.parametrize(("backbone", "size"), [("resnet18", 64), ("dlib_resnet", 150)])
def test_age_resnet_satisfies_the_module_protocol(backbone, size):
    net = AgeResNet(n_regions=2, backbone=backbone, weights="random").eval()
    assert isinstance(net, AgeModule) and isinstance(net.backbone, Backbone)
    x = torch.randn(2, 5, size, size)
    with torch.no_grad():
        output, embedding = net(x)
        embedding_again, maps = net.features(x, return_attention=True)
    assert output.shape == (2, 101) and embedding.shape == (2, net.embedding_dim)
    torch.testing.assert_close(embedding_again.float(), embedding)
    assert set(maps) == set(net.attention) == {"layer2", "layer3"}
    assert net.expected_age(output).shape == (2,)


def test_a_plain_module_is_not_an_age_module():
    assert not isinstance(torch.nn.Linear(2, 2), AgeModule)
    assert not isinstance(torch.nn.Linear(2, 2), Backbone)
