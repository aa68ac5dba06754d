import numpy as np
import pytest

from skage.compare import split_indices
from skage.metrics import age_bin_indices


def test_random_split_is_seeded_and_disjoint():
    y = np.arange(100.0)
    a = split_indices(y, "random", 0.3, random_state=1)
    b = split_indices(y, "random", 0.3, random_state=1)
    np.testing.assert_array_equal(a[1], b[1])
    assert len(a[1]) == 30 and not set(a[0]) & set(a[1])
    assert not np.array_equal(a[1], split_indices(y, "random", 0.3, random_state=2)[1])


def test_stratified_split_keeps_bin_proportions():
    y = np.r_[np.full(80, 5.0), np.full(20, 70.0)]
    _, test = split_indices(y, "stratified", 0.25, random_state=0)
    assert np.bincount(age_bin_indices(y[test]), minlength=7)[[0, 6]].tolist() == [20, 5]


def test_person_split_never_shares_a_subject():
    y = np.arange(60.0)
    ids = np.repeat(np.arange(12), 5).astype(object)
    ids[:5] = None  # unknown ids each count as their own person
    train, test = split_indices(y, "person", 0.25, random_state=0, subject_ids=ids)
    known = ids[5:]
    assert not set(known[train[train >= 5] - 5]) & set(known[test[test >= 5] - 5])
    assert len(train) + len(test) == 60


def test_person_split_without_ids_and_unknown_method():
    with pytest.raises(ValueError, match="subject ids"):
        split_indices(np.arange(10.0), "person", 0.3, subject_ids=[None] * 10)
    with pytest.raises(ValueError, match="split must be"):
        split_indices(np.arange(10.0), "by-age")
