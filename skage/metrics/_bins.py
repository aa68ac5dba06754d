"""Age bins shared by the metrics and the resamplers."""

import numpy as np

#: Lower edges of the default age bins: 0-10, 11-20, ..., 51-60, 61+.
DEFAULT_AGE_BINS = (0, 11, 21, 31, 41, 51, 61)


def check_ages(y, name="y"):
    """Return ``y`` as a 1-d float array; NaN, inf or negative ages raise.

    Examples
    --------
    >>> from skage.metrics import check_ages
    >>> check_ages([[20], [30.5]]).tolist()
    [20.0, 30.5]
    >>> check_ages([20, -1, 30])
    Traceback (most recent call last):
    ...
    ValueError: y has 1 negative age(s), first at index 1
    """
    y = np.asarray(y, dtype=float)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(f"{name} must be 1-d ages, got shape {y.shape}")
    bad = ~np.isfinite(y)
    if bad.any():
        raise ValueError(f"{name} has {bad.sum()} NaN or infinite age(s), first at index {int(np.flatnonzero(bad)[0])}")
    if (y < 0).any():
        raise ValueError(f"{name} has {(y < 0).sum()} negative age(s), first at index {int(np.flatnonzero(y < 0)[0])}")
    return y


def check_bins(bins):
    """Validate lower bin edges: strictly increasing, starting at or below 0.

    Examples
    --------
    >>> from skage.metrics import check_bins
    >>> check_bins([0, 18, 65]).tolist()
    [0.0, 18.0, 65.0]
    >>> check_bins([0, 30, 20])
    Traceback (most recent call last):
    ...
    ValueError: bins must be strictly increasing, got [0, 30, 20]
    """
    edges = np.asarray(DEFAULT_AGE_BINS if bins is None else bins, dtype=float)
    if edges.ndim != 1 or edges.size < 1:
        raise ValueError(f"bins must be a non-empty 1-d sequence of lower edges, got {bins!r}")
    if np.any(np.diff(edges) <= 0):
        raise ValueError(f"bins must be strictly increasing, got {bins!r}")
    if edges[0] > 0:
        raise ValueError(f"the first bin must start at 0 or below so that every age has a bin, got {bins!r}")
    return edges


def age_bin_labels(bins=None):
    """Labels such as ``"0-10"``, ``"11-20"``, ..., ``"61+"`` for the bins.

    Examples
    --------
    >>> from skage.metrics import age_bin_labels
    >>> age_bin_labels()
    ['0-10', '11-20', '21-30', '31-40', '41-50', '51-60', '61+']
    >>> age_bin_labels([0, 18, 65]), age_bin_labels([0, 2.5])
    (['0-17', '18-64', '65+'], ['0-2.5', '2.5+'])
    """
    edges = check_bins(bins)
    labels = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        top = hi - 1 if float(hi).is_integer() and float(lo).is_integer() else hi
        labels.append(f"{lo:g}-{top:g}")
    labels.append(f"{edges[-1]:g}+")
    return labels


def age_bin_indices(y, bins=None):
    """Bin index of each age: bin ``i`` holds ``bins[i] <= age < bins[i + 1]``.

    Examples
    --------
    >>> from skage.metrics import age_bin_indices
    >>> age_bin_indices([0, 10.5, 11, 75]).tolist()
    [0, 0, 1, 6]
    """
    edges = check_bins(bins)
    y = check_ages(y)
    return np.searchsorted(edges, y, side="right") - 1


def age_bin_counts(y, bins=None):
    """Number of ages in each bin, shape ``(n_bins,)``; empty bins count 0.

    Examples
    --------
    >>> from skage.metrics import age_bin_counts
    >>> age_bin_counts([5, 5, 25, 75]).tolist()
    [2, 0, 1, 0, 0, 0, 1]
    """
    edges = check_bins(bins)
    return np.bincount(age_bin_indices(y, edges), minlength=len(edges))
