"""Leave unreadable inputs out of training, naming them; question implausible ages."""

import warnings
from numbers import Integral

import numpy as np
from imblearn.base import BaseSampler
from joblib import Parallel, delayed, effective_n_jobs
from sklearn.base import _fit_context
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.validation import check_memory

from .._stateless import ImageSamplerMixin
from ..io import ImageReadError, as_image_list, describe_source, read_image
from ..metrics import check_ages
from ._resampler import _take

#: Files named in the warning; the rest are counted.
_NAMED = 5

#: The oldest recorded human age (Jeanne Calment, 122 years): older training ages are almost surely
#: mislabelled (months, a birth year, a typo), and they would stretch the age scale of every model.
OLDEST_AGE = 122


class UnreadableInputWarning(UserWarning):
    """Some training inputs could not be read and were left out.

    Examples
    --------
    >>> import numpy as np, warnings
    >>> from skage.sampling import DropUnreadable, UnreadableInputWarning
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = DropUnreadable().fit_resample(["missing.jpg", np.zeros((8, 8, 3), np.uint8)], np.array([30.0, 40.0]))
    >>> caught[0].category is UnreadableInputWarning
    True
    >>> print(caught[0].message)
    1 of 2 training inputs could not be read and are left out: missing.jpg
    """


def _read_errors(items, n_jobs):
    """The read error of each item ('' when it reads); module-level so joblib.Memory can cache it."""

    def one(i, item):
        try:
            read_image(item, source=describe_source(item, i))
        except ImageReadError as exc:
            return exc.reason
        return ""

    # effective_n_jobs, not n_jobs itself: under joblib.parallel_config(backend="dask") n_jobs=None
    # means the cluster's workers, which then read the files where they are stored.
    if effective_n_jobs(n_jobs) == 1 or len(items) < 64:
        return np.array([one(i, x) for i, x in enumerate(items)], dtype=object)
    # decoding releases the GIL, so local threads suffice and the items are not copied
    return np.array(Parallel(n_jobs=n_jobs, prefer="threads")(delayed(one)(i, x) for i, x in enumerate(items)),
                    dtype=object)


class DropUnreadable(ImageSamplerMixin, BaseSampler):
    """Drop the inputs that cannot be read as images, during ``fit`` only.

    The first step of skage's pipelines: a missing, empty, truncated or
    over-large file would otherwise reach the model as a black chip with a
    real age label. Every input is decoded with :func:`skage.io.read_image`
    (the reader all stages share); those that fail are left out of training
    with one :class:`UnreadableInputWarning` naming the first few files and
    counting the rest. At predict time an imbalanced-learn pipeline skips
    samplers, so each unreadable input still gets its row (a NaN age where
    the model supports it, and the aligner's ``"unreadable"`` flag).

    As the first step of every skage pipeline it also checks the training
    ages once for all of them (:func:`skage.metrics.check_ages`: no NaN or
    negative age) and warns about ages above :data:`OLDEST_AGE`. Without
    ``y`` (``pipe[:k].fit_transform(files)``) it only drops the unreadable
    inputs.

    Parameters
    ----------
    n_jobs : int, default=None
        Reader threads.
    memory : str or joblib.Memory, default=None
        Caches the check per list of inputs (paths are hashed by name, like
        :class:`~skage.alignment.FaceAligner`'s ``memory``).

    Attributes
    ----------
    unreadable_ : pandas.DataFrame
        ``source`` and ``error`` of each input left out by the latest
        :meth:`fit_resample`.
    sample_indices_ : ndarray of int
        Indices of the kept inputs in ``X``.

    Examples
    --------
    >>> import numpy as np, warnings
    >>> from skage.sampling import DropUnreadable
    >>> X = ["missing.jpg", np.zeros((8, 8, 3), np.uint8)]
    >>> with warnings.catch_warnings(record=True):
    ...     warnings.simplefilter("always")
    ...     X_kept, y_kept = DropUnreadable().fit_resample(X, np.array([30.0, 40.0]))
    >>> y_kept.tolist()
    [40.0]
    """

    _parameter_constraints = {
        "n_jobs": [Integral, None],
        "memory": [None, str, HasMethods(["cache"])],
    }

    def __init__(self, n_jobs=None, memory=None):
        self.n_jobs = n_jobs
        self.memory = memory

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_resample(self, X, y=None, **params):
        """Return the readable inputs and their ages.

        Parameters
        ----------
        X : sequence of paths or arrays, or ndarray of shape (N, H, W[, C])
        y : array-like of shape (N,) or None
            Ages in years. ``None`` (e.g. ``pipe[:k].fit_transform(X)``)
            drops the unreadable inputs all the same.

        Returns
        -------
        X_kept : same kind as ``X``
            ``X`` itself when every input reads.
        y_kept : ndarray of shape (n_kept,), or None when ``y`` is None

        Raises
        ------
        ValueError
            When no input can be read, naming the first; when an age is NaN
            or negative.

        Warns
        -----
        UserWarning
            When an age is above :data:`OLDEST_AGE`.
        """
        import pandas as pd

        if y is not None:
            y = check_ages(y)
            _warn_implausible(y)
        items = as_image_list(X)  # also refuses the shape of a single image
        if isinstance(X, np.ndarray) and X.dtype != object and X.dtype.kind not in "US":
            errors = np.full(len(items), "", dtype=object)  # an image array is pixels already
        else:
            errors = check_memory(self.memory).cache(_read_errors, ignore=["n_jobs"])(items, self.n_jobs)
        if y is not None and len(errors) != len(y):
            raise ValueError(f"X has {len(errors)} inputs but y has {len(y)} labels")
        bad = np.flatnonzero(errors != "")
        sources = [describe_source(_item(X, i), i) for i in bad]
        self.unreadable_ = pd.DataFrame({"source": sources, "error": errors[bad].astype(str)})
        self.sample_indices_ = np.flatnonzero(errors == "")
        if len(bad) == 0:
            return X, y
        if len(bad) == len(errors):
            raise ValueError(f"none of the {len(errors)} training inputs could be read "
                             f"(first: {sources[0]}: {errors[bad[0]]})")
        named = ", ".join(sources[:_NAMED]) + (f" and {len(bad) - _NAMED} more" if len(bad) > _NAMED else "")
        warnings.warn(f"{len(bad)} of {len(errors)} training inputs could not be read and are left out: {named}",
                      UnreadableInputWarning, stacklevel=2)
        return _take(X, self.sample_indices_), None if y is None else y[self.sample_indices_]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True  # file paths
        return tags


def _warn_implausible(y):
    old = np.flatnonzero(y > OLDEST_AGE)
    if old.size:
        warnings.warn(f"{old.size} training age(s) above {OLDEST_AGE}, the oldest recorded human age (highest "
                      f"{y[old].max():g}, first at index {old[0]}): check the labels (months or birth years "
                      "instead of ages?)", UserWarning, stacklevel=3)


def _item(X, i):
    return X.iloc[i] if hasattr(X, "iloc") else X[i]
