"""Read a dlib DNN file (``serialize(net, out)``) with NumPy alone.

dlib writes a network as nested ``add_layer`` objects: the version integers
of all wrappers first (output side to input side), then the input layer,
then each computational layer from input to output. A layer's *details*
start with a tag string (``"con_4"``, ``"affine_"``, ``"relu_"`` ...),
followed by its hyper-parameters and one parameter tensor; between two
layers dlib writes bookkeeping (flags, empty gradient tensors, the version
integers of tag/skip wrappers) that carries no weights. The reader walks
the file from one tag string to the next, parses each layer it knows in
full and refuses any tag it does not know, so a file it accepts has had
every weight accounted for.

Encodings (dlib/serialize.h, dlib/float_details.h, dlib/cuda/tensor.h),
each checked against ``dlib_face_recognition_resnet_model_v1.dat``:

* integer: a control byte (bit 7: sign, low 4 bits: byte count), then the
  magnitude little-endian;
* bool: ASCII ``'1'``/``'0'``; string: an integer length, then the bytes;
* scalar float: a 64-bit mantissa integer, then a 16-bit exponent integer;
  value = mantissa * 2**exponent;
* tensor: integer version 2, dims (n, k, rows, cols) as integers, then
  ``n*k*rows*cols`` little-endian float32;
* alias tensor (a view into a layer's params): integer version 1, then the
  four dims.
"""

import re
from dataclasses import dataclass, field

import numpy as np

# A string field: control byte 0x01 (one positive length byte), the length, then a tag-like name.
_TAG = re.compile(rb"\x01([\x01-\x40])([A-Za-z][A-Za-z0-9_]*)")


class DlibFileError(ValueError):
    """A file that is not a dlib network this reader understands.

    Examples
    --------
    >>> import os, tempfile
    >>> from skage.nn import DlibFileError, read_dlib_net
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     path = os.path.join(folder, "net.dat")
    ...     with open(path, "wb") as f:
    ...         _ = f.write(b"not a network")
    ...     try:
    ...         read_dlib_net(path)
    ...     except DlibFileError as exc:
    ...         print(str(exc).split(": ", 1)[1])
    no dlib network found (no loss layer tag at the start)
    """


@dataclass
class DlibLayer:
    """One layer's details as stored in a dlib network file.

    Attributes
    ----------
    tag : str
        dlib's tag string, e.g. ``"con_4"``.
    offset : int
        Byte offset of the tag in the file.
    config : dict
        Hyper-parameters (ints, floats, bools).
    tensors : dict of str to ndarray
        float32 weights in dlib's layout (e.g. ``filters`` as
        ``(out, in, rows, cols)``, ``fc`` ``weights`` as ``(in, out)``).

    Examples
    --------
    >>> from skage.alignment import model_path
    >>> from skage.nn import read_dlib_net
    >>> conv = read_dlib_net(model_path("face_recognition"))[2]
    >>> conv.tag, conv.kind, conv.config["num_filters"], conv.tensors["filters"].shape
    ('con_4', 'con', 32, (32, 3, 7, 7))
    """

    tag: str
    offset: int
    config: dict = field(default_factory=dict)
    tensors: dict = field(default_factory=dict)

    @property
    def kind(self):
        """The tag without dlib's version suffix: ``"con"``, ``"affine"``, ``"max_pool"`` ..."""
        return re.sub(r"_\d*$", "", self.tag)


class _Cursor:
    def __init__(self, data, path):
        self.data = data
        self.pos = 0
        self.path = path

    def fail(self, message):
        raise DlibFileError(f"{self.path}: {message} (at byte {self.pos})")

    def int(self):
        if self.pos >= len(self.data):
            self.fail("unexpected end of file")
        control = self.data[self.pos]
        size = control & 0x0F
        if size > 8 or control & 0x70:
            self.fail(f"invalid integer control byte 0x{control:02x}")
        start = self.pos + 1
        magnitude = int.from_bytes(self.data[start:start + size], "little")
        self.pos = start + size
        return -magnitude if control & 0x80 else magnitude

    def float(self):
        mantissa = self.int()
        exponent = self.int()
        return float(np.ldexp(float(mantissa), exponent))

    def bool(self):
        value = self.data[self.pos:self.pos + 1]
        if value not in (b"0", b"1"):
            self.fail(f"expected a bool ('0' or '1'), got {value!r}")
        self.pos += 1
        return value == b"1"

    def string(self):
        length = self.int()
        value = self.data[self.pos:self.pos + length]
        self.pos += length
        return value.decode("ascii")

    def tensor(self):
        version = self.int()
        if version != 2:
            self.fail(f"unsupported tensor version {version}, expected 2")
        dims = tuple(self.int() for _ in range(4))
        count = int(np.prod(dims))
        end = self.pos + 4 * count
        if end > len(self.data):
            self.fail(f"tensor of shape {dims} runs past the end of the file")
        values = np.frombuffer(self.data, dtype="<f4", count=count, offset=self.pos)
        self.pos = end
        return values.astype(np.float32).reshape(dims)

    def alias(self):
        version = self.int()
        if version != 1:
            self.fail(f"unsupported alias_tensor version {version}, expected 1")
        return tuple(self.int() for _ in range(4))


def _read_con(c, layer):
    params = c.tensor().reshape(-1)
    cfg = layer.config
    for name in ("num_filters", "rows", "cols", "stride_y", "stride_x", "padding_y", "padding_x"):
        cfg[name] = c.int()
    filters, biases = c.alias(), c.alias()
    for name in ("lr_mult", "weight_decay_mult", "bias_lr_mult", "bias_weight_decay_mult"):
        cfg[name] = c.float()
    if layer.tag == "con_5":
        cfg["use_bias"] = c.bool()
    n_filter = int(np.prod(filters))
    n_bias = int(np.prod(biases)) if cfg.get("use_bias", True) else 0
    if filters[0] != cfg["num_filters"] or filters[2:] != (cfg["rows"], cfg["cols"]):
        c.fail(f"con filters {filters} disagree with {cfg['num_filters']} filters of {cfg['rows']}x{cfg['cols']}")
    if params.size != n_filter + n_bias:
        c.fail(f"con params hold {params.size} values, filters {filters} and biases {biases} need {n_filter + n_bias}")
    layer.tensors["filters"] = params[:n_filter].reshape(filters)
    if n_bias:
        layer.tensors["biases"] = params[n_filter:].reshape(cfg["num_filters"])


def _read_affine(c, layer):
    params = c.tensor().reshape(-1)
    gamma, beta = c.alias(), c.alias()
    layer.config["mode"] = c.int()  # dlib layer_mode: 0 = CONV_MODE (per channel), 1 = FC_MODE
    n = int(np.prod(gamma))
    if int(np.prod(beta)) != n or params.size != 2 * n:
        c.fail(f"affine params hold {params.size} values for gamma {gamma} and beta {beta}")
    layer.tensors["gamma"] = params[:n].copy()
    layer.tensors["beta"] = params[n:].copy()


def _read_pool(c, layer):
    for name in ("rows", "cols", "stride_y", "stride_x", "padding_y", "padding_x"):
        layer.config[name] = c.int()


def _read_fc(c, layer):
    cfg = layer.config
    cfg["num_outputs"] = c.int()
    cfg["num_inputs"] = c.int()
    params = c.tensor()
    weights, biases = c.alias(), c.alias()
    cfg["bias_mode"] = c.int()  # 0: with bias, 1: fc_no_bias
    for name in ("lr_mult", "weight_decay_mult", "bias_lr_mult", "bias_weight_decay_mult"):
        cfg[name] = c.float()
    n_in, n_out = cfg["num_inputs"], cfg["num_outputs"]
    n_rows = n_in + (1 if cfg["bias_mode"] == 0 else 0)
    if params.shape[:2] != (n_rows, n_out) or weights[:2] != (n_in, n_out):
        c.fail(f"fc params {params.shape} / weights {weights} disagree with {n_in} inputs and {n_out} outputs")
    params = params.reshape(n_rows, n_out)
    layer.tensors["weights"] = params[:n_in].copy()  # (in, out): dlib computes x @ W
    if cfg["bias_mode"] == 0:
        layer.tensors["biases"] = params[n_in].copy()


def _read_input_rgb(c, layer):
    layer.config["mean"] = (c.float(), c.float(), c.float())
    layer.config["rows"] = c.int()
    layer.config["cols"] = c.int()


def _read_loss_metric(c, layer):
    layer.config["margin"] = c.float()
    layer.config["distance_threshold"] = c.float()


def _read_nothing(c, layer):
    pass


_READERS = {
    "con_4": _read_con,
    "con_5": _read_con,
    "affine_": _read_affine,
    "relu_": _read_nothing,
    "add_prev_": _read_nothing,
    "max_pool_2": _read_pool,
    "avg_pool_2": _read_pool,
    "fc_2": _read_fc,
    "input_rgb_image_sized": _read_input_rgb,
    "loss_metric_2": _read_loss_metric,
}


def read_dlib_net(path):
    """Read the layers of a dlib DNN file, from the loss layer, then input to output.

    Parameters
    ----------
    path : str or path-like
        A file written by dlib's ``serialize(net, out)``, e.g.
        ``skage.alignment.model_path("face_recognition")``.

    Returns
    -------
    layers : list of DlibLayer
        The loss layer first, then the input layer, then every computational
        layer in the order data flows through them. Tag and skip layers
        (which only route tensors) do not appear.

    Raises
    ------
    DlibFileError
        If a layer tag is unknown or a layer's fields are inconsistent.

    Examples
    --------
    >>> from skage.alignment import model_path
    >>> from skage.nn import read_dlib_net
    >>> layers = read_dlib_net(model_path("face_recognition"))
    >>> [layer.tag for layer in layers[:3]], sum(layer.kind == "con" for layer in layers)
    (['loss_metric_2', 'input_rgb_image_sized', 'con_4'], 29)
    """
    with open(path, "rb") as f:
        data = f.read()
    c = _Cursor(data, path)
    layers = []
    while True:
        match = _TAG.search(data, c.pos)
        if match is None:
            break
        tag = match.group(2)[: match.group(1)[0]].decode("ascii")
        if len(tag) != match.group(1)[0]:
            c.pos = match.start() + 1  # a shorter name than its length byte says: not a string field
            continue
        if tag not in _READERS:
            c.pos = match.start()
            c.fail(f"unsupported dlib layer {tag!r}; this reader knows {sorted(_READERS)}")
        layer = DlibLayer(tag=tag, offset=match.start())
        c.pos = match.end() - (len(match.group(2)) - len(tag))
        _READERS[tag](c, layer)
        layers.append(layer)
    if not layers or not layers[0].tag.startswith("loss_"):
        raise DlibFileError(f"{path}: no dlib network found (no loss layer tag at the start)")
    n_weights = sum(t.size for layer in layers for t in layer.tensors.values())
    # Weights are almost the whole file; what is left is tags and bookkeeping.
    if 4 * n_weights < 0.98 * len(data):
        raise DlibFileError(
            f"{path}: read {n_weights} weights ({4 * n_weights} bytes) from a {len(data)}-byte file; "
            "some layers were not recognised")
    return layers
