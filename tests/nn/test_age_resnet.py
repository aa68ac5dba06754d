"""AgeResNet: attention switch, heads, embeddings and weights files."""

import pytest
import torch
import torchvision

from skage.nn import AgeResNet


def _input(n=2, size=32, n_regions=3):
    return torch.randn(n, 3 + n_regions, size, size)


@pytest.mark.parametrize("head, width", [("dex", 101), ("regression", 1)])
def test_heads_and_embedding(head, width):
    net = AgeResNet(n_regions=3, backbone="resnet18", head=head).eval()
    output, embedding = net(_input())
    assert output.shape == (2, width) and embedding.shape == (2, 512)
    ages = net.expected_age(output)
    assert ages.shape == (2,)
    if head == "dex":
        assert ((ages >= 0) & (ages <= 100)).all()
    else:
        torch.testing.assert_close(ages, output[:, 0])


def test_fresh_attention_network_equals_plain_backbone():
    torch.manual_seed(0)
    with_attention = AgeResNet(n_regions=3, backbone="resnet18").eval()
    plain = AgeResNet(attention=False, backbone="resnet18").eval()
    plain.load_state_dict({k: v for k, v in with_attention.state_dict().items() if not k.startswith("attention.")})
    x = _input()
    emb_attention, maps = with_attention.features(x, return_attention=True)
    torch.testing.assert_close(emb_attention, plain.features(x))  # zero gate: residual form starts at identity
    assert set(maps) == {"layer2", "layer3"}
    assert maps["layer2"].shape == (2, 1, 4, 4) and maps["layer3"].shape == (2, 1, 2, 2)
    assert ((maps["layer2"] >= 0) & (maps["layer2"] <= 1)).all()


def test_attention_uses_masks_once_gate_opens():
    net = AgeResNet(n_regions=2, backbone="resnet18", attention_layers=("layer3",)).eval()
    with torch.no_grad():
        net.attention["layer3"].gate.fill_(1.0)
    x = _input(n_regions=2)
    x_no_masks = x.clone()
    x_no_masks[:, 3:] = 0
    assert not torch.allclose(net.features(x), net.features(x_no_masks))


def test_resnet50_is_the_default_with_2048_d_embedding():
    net = AgeResNet(n_regions=2).eval()
    with torch.no_grad():
        output, embedding = net(_input(n=1, n_regions=2))
    assert isinstance(net.backbone, torchvision.models.ResNet) and embedding.shape == (1, 2048)
    assert output.shape == (1, 101)


def test_bad_configuration_raises():
    with pytest.raises(ValueError, match="n_regions"):
        AgeResNet(n_regions=0, attention=True, backbone="resnet18")
    with pytest.raises(ValueError, match="attention_layers"):
        AgeResNet(n_regions=2, attention_layers=("layer9",), backbone="resnet18")
    with pytest.raises(ValueError, match="backbone"):
        AgeResNet(n_regions=2, backbone="vgg16")
    net = AgeResNet(n_regions=3, backbone="resnet18")
    with pytest.raises(ValueError, match="3 mask channels"):
        net(_input(n_regions=1))


def test_weights_from_plain_torchvision_state_dict(tmp_path):
    torch.manual_seed(1)
    source = torchvision.models.resnet18()
    path = tmp_path / "resnet18.pt"
    torch.save(source.state_dict(), path)  # includes fc.*, which must be ignored
    net = AgeResNet(n_regions=2, backbone="resnet18", weights=path)
    torch.testing.assert_close(net.backbone.conv1.weight, source.conv1.weight)
    torch.testing.assert_close(net.backbone.layer4[1].bn2.running_var, source.layer4[1].bn2.running_var)


def test_weights_from_full_module_state_dict(tmp_path):
    source = AgeResNet(n_regions=2, backbone="resnet18")
    with torch.no_grad():
        source.attention["layer2"].gate.fill_(0.5)
    path = tmp_path / "agenet.pt"
    torch.save(source.state_dict(), path)
    net = AgeResNet(n_regions=2, backbone="resnet18", weights=str(path))
    for key, value in source.state_dict().items():
        torch.testing.assert_close(net.state_dict()[key], value)


def test_bad_weights_files_name_the_file(tmp_path):
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="garbage.pt"):
        AgeResNet(n_regions=2, backbone="resnet18", weights=garbage)
    wrong = tmp_path / "resnet50_weights.pt"
    torch.save(torchvision.models.resnet50().state_dict(), wrong)
    with pytest.raises(ValueError, match="resnet50_weights.pt"):
        AgeResNet(n_regions=2, backbone="resnet18", weights=wrong)
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        AgeResNet(n_regions=2, backbone="resnet18", weights=tmp_path / "missing.pt")


def test_imagenet_weights_come_from_torchvision_enum(monkeypatch):
    seen = {}
    build = torchvision.models.resnet18

    def no_download(weights=None):  # records the request instead of downloading
        seen["weights"] = weights
        return build(weights=None)

    monkeypatch.setattr(torchvision.models, "resnet18", no_download)
    AgeResNet(n_regions=1, backbone="resnet18", weights="imagenet")
    assert seen["weights"] is torchvision.models.ResNet18_Weights.IMAGENET1K_V1
