"""Balance continuous ages by resampling within age bins."""

import os
import warnings

import numpy as np
import pandas as pd
from imblearn.base import BaseSampler
from imblearn.over_sampling import RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, StrOptions
from sklearn.utils.validation import check_array

from ..metrics import (age_bin_counts, age_bin_indices, age_bin_labels, check_ages, check_bins, group_label,
                       group_labels)

#: Relative brightness change of a jittered copy: at least 5 % so that the
#: copy's pixels differ, at most 20 % so that it still looks like the face.
_BRIGHTNESS_RANGE = (0.05, 0.20)


class AgeBinResampler(BaseSampler):
    """Balance age groups by resampling within age bins.

    Continuous ages are binned (same bins as :mod:`skage.metrics`), a wrapped
    imbalanced-learn sampler balances the bins, and the *original* continuous
    ages of the chosen samples are returned. As an imbalanced-learn sampler it
    acts only while an :class:`imblearn.pipeline.Pipeline` is fitted; at
    predict time the pipeline skips it.

    Demographic-aware sampling: given ``groups`` (e.g. race or gender labels)
    at fit time, the strata become age bin × group, so that every group is
    balanced within every age bin; without them the sampler balances age
    bins only. In a pipeline use :func:`fit_with_groups`:
    imbalanced-learn 0.14's ``Pipeline`` drops ``balance__groups`` (it passes
    no fit parameters to samplers unless metadata routing is on).

    Parameters
    ----------
    bins : sequence of float, default=None
        Lower edges of the age bins; ``None`` uses
        :data:`skage.metrics.DEFAULT_AGE_BINS` (0-10, 11-20, ..., 61+).
    sampler : imbalanced-learn sampler, default=None
        The sampler that balances the bins; cloned at fit. ``None`` uses
        :class:`~imblearn.over_sampling.RandomOverSampler`. ``RandomOverSampler``
        (without ``shrinkage``) and ``RandomUnderSampler`` only choose samples,
        so they work on any input, images and paths included, without copying
        pixels into a 2-d matrix. Samplers that need feature vectors (SMOTE
        family, ADASYN, NearMiss, Tomek links, combinations such as
        ``SMOTEENN``...) need a 2-d numeric ``X``. The sampler's own
        ``sampling_strategy`` is replaced by the one computed here.
    sampling_strategy : {"full", "sqrt"} or dict, default="full"
        How far to balance the non-empty bins.

        - ``"full"``: every bin gets the size of the largest bin
          (over-sampling) or of the smallest bin (under-sampling).
        - ``"sqrt"``: bin targets proportional to the square root of the bin
          counts, scaled so that the largest bin keeps its size
          (over-sampling: ``round(sqrt(n_bin * n_max))``) or the smallest bin
          keeps its size (under-sampling: ``round(sqrt(n_bin * n_min))``).
          A milder balance that keeps fewer repeated tail samples.
        - dict: target count per bin, keyed by bin label (``"61+"``) or bin
          index; bins left out keep their count. Over-samplers need targets at
          least the current count, under-samplers at most. With ``groups``,
          keys are ``(bin label or index, group)`` pairs.

        With ``groups`` the same rules apply to the age bin × group strata.
    random_state : int, RandomState instance or None, default=None
        Seeds the jitter and, when not ``None``, the wrapped sampler's
        ``random_state``.
    jitter_copies : bool, default=True
        For image arrays (4-d ``(N, H, W, C)``, 3-d gray ``(N, H, W)``, or a
        list of arrays): give every repeated draw of an image a random
        horizontal flip and a brightness change of 5-20 % so that copies do not
        repeat identical pixels. Brightness touches the first three (RGB)
        channels only; channels beyond 3 are region masks and are flipped with
        the image but never brightened. A deep model's own per-epoch
        augmentation (:class:`skage.nn.AgeNet`) adds more variation on top.
        Paths and feature vectors are never changed.

    Attributes
    ----------
    sampler_ : imbalanced-learn sampler
        The fitted clone of ``sampler`` (``None`` for a single-bin dataset).
    bin_edges_ : ndarray of float
        Lower bin edges used.
    bin_labels_ : list of str
        Bin labels, e.g. ``"0-10"``.
    bin_counts_ : ndarray of int
        Number of input samples per bin (empty bins included).
    target_counts_ : dict
        Requested size of each non-empty bin after resampling, by bin label;
        by ``(bin label, group)`` when fitted with ``groups``.
    groups_ : ndarray of str or None
        The group labels seen at fit (``None`` without ``groups``).
    stratum_counts_ : dict or None
        Number of input samples per non-empty ``(bin label, group)`` stratum.
    sample_indices_ : ndarray of int
        For each returned sample, its index in the input ``X``; ``-1`` for a
        synthetic sample (SMOTE family) that has no single original.
    is_copy_ : ndarray of bool
        True for the second and later draws of the same input sample.
    is_synthetic_ : ndarray of bool
        True for samples synthesised by the wrapped sampler (SMOTE family).

    Notes
    -----
    - Empty bins are skipped (there is nothing to resample) with a
      ``UserWarning`` naming them; a dict target for an empty bin is an error.
    - A dataset whose ages all fall in one bin cannot be balanced: it is
      returned unchanged with a ``UserWarning``.
    - NaN, infinite or negative ages raise a ``ValueError``.
    - Missing group labels (None, NaN) form the group ``"unknown"``; they are
      balanced like any group, never dropped.
    - Synthetic samples get ages interpolated with the same step as their
      features (the wrapped sampler sees the age as an extra, negligibly
      scaled feature), clipped to the ages seen in their bin.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.sampling import AgeBinResampler
    >>> X = np.arange(12, dtype=float).reshape(-1, 1)
    >>> y = np.array([5, 6, 7, 8, 9, 15, 25, 26, 35, 45, 55, 65.5])
    >>> X_res, y_res = AgeBinResampler(random_state=0).fit_resample(X, y)
    >>> np.bincount(np.digitize(y_res, [11, 21, 31, 41, 51, 61])).tolist()
    [5, 5, 5, 5, 5, 5, 5]
    >>> bool(np.all(np.isin(y_res, y)))
    True

    Balancing age bin × group strata:

    >>> g = np.array(["a", "a", "a", "a", "b", "a", "b", "a", "b", "a", "b", "a"])
    >>> res = AgeBinResampler(random_state=0)
    >>> X_res, y_res = res.fit_resample(X, y, groups=g)
    >>> res.stratum_counts_[("0-10", "a")], res.stratum_counts_[("0-10", "b")]
    (4, 1)
    >>> sorted(set(res.target_counts_.values()))
    [4]
    """

    _sampling_type = "bypass"

    _parameter_constraints = {
        "bins": ["array-like", None],
        "sampler": [HasMethods(["fit_resample"]), None],
        "sampling_strategy": [StrOptions({"full", "sqrt"}), dict],
        "random_state": ["random_state"],
        "jitter_copies": ["boolean"],
    }

    def __init__(self, bins=None, sampler=None, sampling_strategy="full", random_state=None,
                 jitter_copies=True):
        self.bins = bins
        self.sampler = sampler
        self.sampling_strategy = sampling_strategy
        self.random_state = random_state
        self.jitter_copies = jitter_copies

    def fit(self, X, y, groups=None, **params):
        """Fit the resampler; same work as :meth:`fit_resample`, output dropped.

        Returns
        -------
        self : AgeBinResampler
        """
        self.fit_resample(X, y, groups=groups, **params)
        return self

    def fit_resample(self, X, y, groups=None, **params):
        """Resample ``X`` and ``y`` so that the age bins are balanced.

        Parameters
        ----------
        X : array-like
            Feature matrix ``(N, F)``, image array ``(N, H, W[, C])``, list of
            image arrays, or sequence / 1-d object array of image paths.
        y : array-like of shape (N,)
            Ages in years (float).
        groups : array-like of shape (N,), optional
            Group label of each sample (e.g. race); balances age bin × group
            strata instead of age bins. Missing labels form the group
            ``"unknown"``.

        Returns
        -------
        X_resampled : same kind as ``X``
        y_resampled : ndarray of shape (M,)
            Original continuous ages of the returned samples.
        """
        self._check_params()  # the messages users know; then the declared constraints for the rest
        self._validate_params()
        y = check_ages(y)
        if len(y) == 0:
            raise ValueError("y is empty: AgeBinResampler needs at least one sample")
        n = _n_samples(X)
        if n != len(y):
            raise ValueError(f"X has {n} samples but y has {len(y)} ages")
        self.bin_edges_ = check_bins(self.bins)
        self.bin_labels_ = age_bin_labels(self.bin_edges_)
        bin_idx = age_bin_indices(y, self.bin_edges_)
        self.bin_counts_ = age_bin_counts(y, self.bin_edges_)
        sampler = self._sampler()
        kind = _input_kind(X)
        strata = self._strata(bin_idx, groups, n)
        counts = np.bincount(strata, minlength=len(self._stratum_names))

        present = np.flatnonzero(counts)
        empty = [self.bin_labels_[b] for b in np.flatnonzero(self.bin_counts_ == 0)]
        if len(present) < 2:
            what = "age bin" if self.groups_ is None else "age bin × group stratum"
            warnings.warn(f"all {n} ages fall in {what} {self._stratum_names[present[0]]!r}; "
                          "there is nothing to balance, the data are returned unchanged", UserWarning, stacklevel=2)
            self.sampler_ = None
            self.target_counts_ = {self._stratum_names[present[0]]: n}
            return self._finish(X, y, np.arange(n), np.zeros(n, dtype=bool), kind)
        if empty:
            warnings.warn(f"age bin(s) {empty} have no samples and are skipped when balancing", UserWarning, stacklevel=2)

        targets = self._targets(sampler, present, counts)
        self.target_counts_ = {self._stratum_names[b]: int(t) for b, t in targets.items()}
        self.sampler_ = clone(sampler).set_params(sampling_strategy=targets)
        if self.random_state is not None and "random_state" in self.sampler_.get_params():
            self.sampler_.set_params(random_state=self.random_state)

        if _selects_only(self.sampler_):
            # Resample row indices, not data: images are never copied into a 2-d matrix.
            self.sampler_.fit_resample(np.arange(n).reshape(-1, 1), strata)
            return self._finish(X, y, np.asarray(self.sampler_.sample_indices_), None, kind)
        if kind != "features":
            raise ValueError(
                f"{type(sampler).__name__} needs 2-d feature vectors, but X holds {kind}; use "
                "RandomOverSampler or RandomUnderSampler for images or paths, or resample features instead")
        return self._resample_features(X, y, strata)

    def _fit_resample(self, X, y, **params):  # required by imblearn's ABC; fit_resample does the work
        return self.fit_resample(X, y, **params)

    def _sampler(self):
        return RandomOverSampler() if self.sampler is None else self.sampler

    def _check_params(self):
        # What the declared constraints cannot say (the sampler's kind), and two messages users have
        # met since before them: these run first, the constraints check the rest.
        strategy = self.sampling_strategy
        if not (isinstance(strategy, dict) or isinstance(strategy, str) and strategy in ("full", "sqrt")):
            raise ValueError(f"sampling_strategy must be 'full', 'sqrt' or a dict, got {strategy!r}")
        sampler = self._sampler()
        if not hasattr(sampler, "fit_resample") or "sampling_strategy" not in sampler.get_params():
            raise TypeError(f"sampler must be an imbalanced-learn sampler with a sampling_strategy, got {sampler!r}")
        if getattr(sampler, "_sampling_type", None) not in ("over-sampling", "under-sampling"):
            raise ValueError(
                f"sampler {type(sampler).__name__} is a cleaning sampler, not an over- or under-sampler: it does "
                "not balance bins to target counts; wrap it in a combination (e.g. SMOTEENN) or use an over- or under-sampler")

    def _strata(self, bin_idx, groups, n):
        """Stratum of each sample: its age bin, or age bin × group; sets the stratum names."""
        if groups is None:
            self.groups_ = None
            self.stratum_counts_ = None
            self._stratum_names = list(self.bin_labels_)
            return bin_idx
        labels = pd.Series(np.asarray(groups, dtype=object).reshape(-1))
        if len(labels) != n:
            raise ValueError(f"groups has {len(labels)} labels but X has {n} samples")
        labels = group_labels(labels)
        self.groups_, codes = np.unique(labels.astype(str), return_inverse=True)
        n_groups = len(self.groups_)
        self._stratum_names = [(b, str(g)) for b in self.bin_labels_ for g in self.groups_]
        strata = bin_idx * n_groups + codes
        counts = np.bincount(strata, minlength=len(self._stratum_names))
        self.stratum_counts_ = {self._stratum_names[s]: int(counts[s]) for s in np.flatnonzero(counts)}
        return strata

    def _targets(self, sampler, present, all_counts):
        """Target count of each non-empty stratum (bin, or bin × group), as {stratum index: count}."""
        counts = all_counts[present]
        over = sampler._sampling_type == "over-sampling"
        strategy = self.sampling_strategy
        if isinstance(strategy, str) and strategy == "full":
            return {int(b): int(counts.max() if over else counts.min()) for b in present}
        if isinstance(strategy, str) and strategy == "sqrt":
            anchor = counts.max() if over else counts.min()
            return {int(b): int(round(np.sqrt(c * anchor))) for b, c in zip(present, counts)}
        targets = {int(b): int(c) for b, c in zip(present, counts)}
        what = "age bin" if self.groups_ is None else "stratum"
        for key, target in strategy.items():
            b = self._bin_of_key(key) if self.groups_ is None else self._stratum_of_key(key)
            label = self._stratum_names[b]
            if not isinstance(target, (int, np.integer)) or target < 0:
                raise ValueError(f"sampling_strategy[{key!r}] must be a non-negative integer, got {target!r}")
            if all_counts[b] == 0:
                if target > 0:
                    raise ValueError(f"sampling_strategy asks for {target} samples in {what} {label!r}, "
                                     "which has none to resample from")
                continue
            if over and target < all_counts[b] or not over and target > all_counts[b]:
                direction = "at least" if over else "at most"
                raise ValueError(
                    f"sampling_strategy[{key!r}] = {target} but {what} {label!r} has {all_counts[b]} "
                    f"samples; {type(sampler).__name__} needs {direction} that many")
            targets[b] = int(target)
        return targets

    def _stratum_of_key(self, key):
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"with groups, sampling_strategy keys are (age bin, group) pairs, got {key!r}")
        b = self._bin_of_key(key[0])
        group = group_label(key[1])
        if group not in self.groups_:
            raise ValueError(f"sampling_strategy key {key!r} names group {group!r}; groups are {list(self.groups_)}")
        return b * len(self.groups_) + int(np.flatnonzero(self.groups_ == group)[0])

    def _bin_of_key(self, key):
        if isinstance(key, str):
            if key not in self.bin_labels_:
                raise ValueError(f"sampling_strategy key {key!r} is not an age bin; bins are {self.bin_labels_}")
            return self.bin_labels_.index(key)
        if isinstance(key, (int, np.integer)) and 0 <= key < len(self.bin_labels_):
            return int(key)
        raise ValueError(f"sampling_strategy key {key!r} is neither a bin label {self.bin_labels_} "
                         f"nor a bin index 0..{len(self.bin_labels_) - 1}")

    def _resample_features(self, X, y, strata):
        """Resample with a feature-based sampler, keeping continuous ages.

        The age rides along as one extra feature, scaled so small that it
        cannot change any neighbour search: interpolating samplers then
        interpolate it with the same step as the features, and original rows
        come back bit-identical, so they can be matched to their index.
        """
        Xf = check_array(X, dtype=np.float64)
        self.n_features_in_ = Xf.shape[1]
        spread = float(np.mean(np.std(Xf, axis=0))) or 1.0
        span = float(np.ptp(y)) or 1.0
        scale = 1e-9 * spread / span
        augmented = np.column_stack([Xf, (y - y.min()) * scale])
        X_out, bin_out = self.sampler_.fit_resample(augmented, strata)

        lookup = {}
        for i in range(len(augmented) - 1, -1, -1):  # reversed: duplicate rows map to their first index
            lookup[augmented[i].tobytes()] = i
        sample_indices = np.array([lookup.get(row.tobytes(), -1) for row in X_out], dtype=np.intp)
        synthetic = sample_indices < 0
        y_out = np.where(synthetic, X_out[:, -1] / scale + y.min(), y[np.maximum(sample_indices, 0)])
        for b in np.unique(bin_out[synthetic]):
            in_bin = y[strata == b]
            sel = synthetic & (bin_out == b)
            y_out[sel] = np.clip(y_out[sel], in_bin.min(), in_bin.max())
        self.sample_indices_ = sample_indices
        self.is_synthetic_ = synthetic
        self.is_copy_ = _repeated_draws(sample_indices) & ~synthetic
        X_out = X_out[:, :-1]
        if isinstance(X, np.ndarray):
            X_out = X_out.astype(X.dtype, copy=False)
        return X_out, y_out

    def _finish(self, X, y, indices, is_copy, kind):
        indices = np.asarray(indices, dtype=np.intp)
        self.sample_indices_ = indices
        self.is_copy_ = _repeated_draws(indices) if is_copy is None else is_copy
        self.is_synthetic_ = np.zeros(len(indices), dtype=bool)
        if kind == "features":
            self.n_features_in_ = np.shape(X)[1]
        X_out = _take(X, indices)
        if self.jitter_copies and kind == "images" and self.is_copy_.any():
            rng = check_random_state(self.random_state)
            for j in np.flatnonzero(self.is_copy_):
                X_out[j] = _jitter(X_out[j], rng)
        return X_out, y[indices]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = False
        tags.input_tags.three_d_array = True  # images as well as feature rows
        tags.input_tags.string = True  # file paths
        tags.target_tags.positive_only = True  # ages
        return tags


def fit_with_groups(pipeline, X, y, groups):
    """Fit a pipeline whose :class:`AgeBinResampler` steps balance age bin × group strata.

    imbalanced-learn 0.14's ``Pipeline`` hands fit parameters to samplers only
    through scikit-learn's metadata routing; without it ``balance__groups`` is
    silently ignored. This turns routing on for this one ``fit`` and asks every
    ``AgeBinResampler`` for ``groups``, nested ones included (the members of
    ``make_age_pipeline(model="ensemble")``).

    Parameters
    ----------
    pipeline : imblearn.pipeline.Pipeline
    X, y : training inputs and ages
    groups : array-like of shape (n_samples,)
        Group label of each sample (e.g. race).

    Returns
    -------
    pipeline : the fitted pipeline

    Examples
    --------
    >>> import numpy as np
    >>> from imblearn.pipeline import Pipeline
    >>> from sklearn.linear_model import LinearRegression
    >>> from skage.sampling import AgeBinResampler, fit_with_groups
    >>> X = np.arange(12, dtype=float).reshape(-1, 1)
    >>> y = np.array([5, 6, 7, 8, 9, 15, 25, 26, 35, 45, 55, 65.5])
    >>> g = np.array(["a", "b"] * 6)
    >>> pipe = Pipeline([("balance", AgeBinResampler(random_state=0)), ("model", LinearRegression())])
    >>> fit_with_groups(pipe, X, y, g).named_steps["balance"].target_counts_[("0-10", "b")]
    3
    """
    from sklearn import config_context

    # Nested too: the ensemble pipeline's members (a VotingRegressor's pipelines) resample on their own.
    found = [pipeline, *pipeline.get_params(deep=True).values()]
    samplers = list({id(step): step for step in found if isinstance(step, AgeBinResampler)}.values())
    if not samplers:
        raise ValueError(f"{type(pipeline).__name__} has no AgeBinResampler step to balance groups with")
    with config_context(enable_metadata_routing=True):
        for step in samplers:
            step.set_fit_resample_request(groups=True).set_fit_request(groups=True)
        return pipeline.fit(X, y, groups=groups)


def _selects_only(sampler):
    """True when the sampler only picks rows, so it can run on row indices."""
    if isinstance(sampler, RandomOverSampler):
        return sampler.shrinkage is None  # shrinkage synthesises new points
    return isinstance(sampler, RandomUnderSampler)


def _repeated_draws(indices):
    """True at every occurrence of an index after its first."""
    repeated = np.ones(len(indices), dtype=bool)
    repeated[np.unique(indices, return_index=True)[1]] = False
    return repeated


def _n_samples(X):
    if hasattr(X, "shape") and len(getattr(X, "shape", ())) > 0:
        return X.shape[0]
    return len(X)


def _input_kind(X):
    """'features', 'images' (arrays of pixels) or 'paths' (anything else, e.g. file names)."""
    if hasattr(X, "iloc"):
        if getattr(X, "ndim", 1) == 2 and all(np.issubdtype(d, np.number) for d in X.dtypes):
            return "features"
        return "paths"
    if isinstance(X, np.ndarray):
        if X.dtype == object or X.dtype.kind in "US":
            return "paths"
        if X.ndim == 2:
            return "features"
        return "images" if X.ndim >= 3 else "paths"  # 1-d: opaque items such as file names
    items = list(X[:1]) if len(X) else []
    if items and isinstance(items[0], np.ndarray) and items[0].ndim >= 2:
        return "images"
    if items and isinstance(items[0], (str, bytes, os.PathLike)):
        return "paths"
    return "features" if items and np.ndim(items[0]) == 1 else "paths"


def _take(X, indices):
    if hasattr(X, "iloc"):
        return X.iloc[indices].reset_index(drop=True)
    if isinstance(X, np.ndarray):
        return X[indices]
    return [X[i].copy() if isinstance(X[i], np.ndarray) else X[i] for i in indices]


def _jitter(image, rng):
    """Random horizontal flip (all channels) and brightness change (RGB only)."""
    if rng.random_sample() < 0.5:
        image = image[:, ::-1]
    factor = 1.0 + rng.choice([-1.0, 1.0]) * rng.uniform(*_BRIGHTNESS_RANGE)
    image = np.array(image)  # writable copy
    rgb = image[..., :3] if image.ndim == 3 else image
    bright = rgb.astype(np.float32) * factor
    if np.issubdtype(image.dtype, np.integer):
        info = np.iinfo(image.dtype)
        bright = np.clip(np.rint(bright), info.min, info.max)
    rgb[...] = bright.astype(image.dtype)
    return image
