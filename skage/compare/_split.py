"""Seeded train/test splits: random, stratified by age bin, or person-disjoint."""

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupShuffleSplit, train_test_split

from ..metrics import age_bin_indices

SPLIT_METHODS = ("random", "stratified", "person")


def split_indices(y, method="random", test_size=0.3, random_state=0, subject_ids=None):
    """Indices of a train/test split.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Ages.
    method : {"random", "stratified", "person"}
        ``"stratified"`` keeps the age-bin proportions; ``"person"`` keeps
        every subject on one side only (needs ``subject_ids``).
    test_size : float
        Fraction of samples (of subjects, for ``"person"``) in the test set.
    random_state : int
    subject_ids : array-like, optional
        Person ids; NaN ids each count as a person of their own.

    Returns
    -------
    train_idx, test_idx : ndarray of int

    Examples
    --------
    >>> from skage.compare import split_indices
    >>> tr, te = split_indices([1, 2, 3, 4, 50, 60, 70, 80], test_size=0.25, random_state=0)
    >>> len(tr), len(te)
    (6, 2)
    """
    y = np.asarray(y, dtype=float)
    idx = np.arange(len(y))
    if method == "random":
        return tuple(np.sort(a) for a in train_test_split(idx, test_size=test_size, random_state=random_state))
    if method == "stratified":
        strata = age_bin_indices(y)
        return tuple(np.sort(a) for a in train_test_split(
            idx, test_size=test_size, random_state=random_state, stratify=strata))
    if method == "person":
        ids = pd.Series(np.asarray(subject_ids, dtype=object) if subject_ids is not None else [None] * len(y))
        if ids.isna().all():
            raise ValueError("split='person' needs subject ids, and this dataset has none; use 'random' or 'stratified'")
        ids = ids.where(ids.notna(), pd.Series([f"unknown-{i}" for i in idx]))
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=random_state)
        train, test = next(splitter.split(idx, groups=ids.astype(str).to_numpy()))
        return np.sort(train), np.sort(test)
    raise ValueError(f"split must be one of {SPLIT_METHODS}, got {method!r}")
