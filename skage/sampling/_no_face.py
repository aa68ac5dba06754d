"""Leave training faces the aligner could not find out of training, saying which."""

import warnings

import numpy as np
from imblearn.base import BaseSampler
from sklearn.base import _fit_context

from .._stateless import ImageSamplerMixin
from ._resampler import _take

#: Positions named in the warning; the rest are counted.
_NAMED = 5


class NoFaceWarning(UserWarning):
    """Some training images had no face the aligner could find and were left out.

    Examples
    --------
    >>> import numpy as np, warnings
    >>> from skage.sampling import DropNoFace, NoFaceWarning
    >>> chips = np.zeros((3, 4, 4, 3), np.uint8)
    >>> chips[[0, 2]] = 90  # the middle chip stays black: the aligner found no face there
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     _ = DropNoFace().fit_resample(chips, np.array([20.0, 30.0, 40.0]))
    >>> caught[0].category is NoFaceWarning
    True
    >>> print(str(caught[0].message).split(" (")[0])
    1 of 3 training images had no face the aligner could find and are left out
    """


class DropNoFace(ImageSamplerMixin, BaseSampler):
    """Drop blank chips (no face found, unreadable) during ``fit`` only.

    Follows :class:`~skage.alignment.FaceAligner` in skage's pipelines. The
    aligner gives an image without a usable face a black chip
    (``on_failure="blank"``), which the models answer with a NaN age; in
    training such a chip would teach the model the age of a black square (or
    break it: the descriptor of a blank chip is NaN). Chips without a single
    non-zero pixel (:func:`skage.alignment.blank_chips`) are therefore left
    out of training with one :class:`NoFaceWarning` giving their positions;
    ``FaceAligner().fit().align(X).to_frame()`` names their files and says
    why. At predict time an imbalanced-learn pipeline skips samplers, so
    every input keeps its row (NaN, flagged ``no_face`` by
    :func:`skage.pipeline.predict_faces`).

    Attributes
    ----------
    sample_indices_ : ndarray of int
        Positions of the kept chips in ``X``.
    no_face_indices_ : ndarray of int
        Positions of the chips left out by the latest :meth:`fit_resample`.

    Examples
    --------
    >>> import numpy as np, warnings
    >>> from skage.sampling import DropNoFace
    >>> chips = np.zeros((3, 4, 4, 3), np.uint8)
    >>> chips[[0, 2]] = 90
    >>> with warnings.catch_warnings(record=True):
    ...     warnings.simplefilter("always")
    ...     kept, ages = DropNoFace().fit_resample(chips, np.array([20.0, 30.0, 40.0]))
    >>> ages.tolist()
    [20.0, 40.0]
    """

    _parameter_constraints = {}

    def __init__(self):
        pass

    @_fit_context(prefer_skip_nested_validation=True)
    def fit_resample(self, X, y, **params):
        """Return the chips that show something, and their ages.

        Parameters
        ----------
        X : ndarray of shape (N, S, S, C)
            Aligned chips.
        y : array-like of shape (N,) or None

        Returns
        -------
        X_kept : ndarray
            ``X`` itself when no chip is blank.
        y_kept : ndarray of shape (n_kept,), or None without ``y``

        Raises
        ------
        ValueError
            When every chip is blank.
        """
        from ..alignment import blank_chips

        n = len(X)
        if y is not None:  # no labels needed to leave out faceless chips (pipe[:k].fit_transform(files))
            y = np.asarray(y)
            if n != len(y):
                raise ValueError(f"X has {n} chips but y has {len(y)} labels")
        blank = blank_chips(np.asarray(X)) if np.ndim(X) == 4 else np.zeros(n, dtype=bool)
        self.no_face_indices_ = np.flatnonzero(blank)
        self.sample_indices_ = np.flatnonzero(~blank)
        if not blank.any():
            return X, y
        if blank.all():
            raise ValueError(f"no face was found in any of the {n} training images")
        bad = self.no_face_indices_
        named = ", ".join(map(str, bad[:_NAMED])) + (f" and {len(bad) - _NAMED} more" if len(bad) > _NAMED else "")
        warnings.warn(f"{len(bad)} of {n} training images had no face the aligner could find and are left "
                      f"out (positions among the readable inputs: {named}; FaceAligner.align(X).to_frame() names "
                      "them)", NoFaceWarning, stacklevel=2)
        return _take(X, self.sample_indices_), None if y is None else y[self.sample_indices_]
