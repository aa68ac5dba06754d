"""The real UTKFace chips in ../shared/data/utkface (skipped where absent)."""

import numpy as np
import pytest

from skage.datasets import load_dataset, load_utkface


@pytest.fixture(scope="module")
def utk(utkface_dir):
    return load_utkface(utkface_dir)


def test_all_chips_load_with_ages_from_names(utk):
    assert len(utk.X) == len(utk.y) == len(utk.metadata) == 6419
    assert utk.skipped == []
    assert utk.y.dtype == np.float64
    assert utk.y.min() == 1 and utk.y.max() == 101
    # Counted independently with `ls | cut -d_ -f1 | sort -n | uniq -c`.
    assert (utk.y == 1).sum() == 722
    assert (utk.y == 26).sum() == 181


@pytest.mark.parametrize(
    "name, age, gender, race",
    [
        ("100_1_0_20170110183726390.jpg.chip.jpg", 100, "female", "white"),
        ("101_1_2_20170105174739309.jpg.chip.jpg", 101, "female", "asian"),
        ("10_0_0_20161220222308131.jpg.chip.jpg", 10, "male", "white"),
    ],
)
def test_hand_checked_names(utk, name, age, gender, race):
    i = [x.endswith("/" + name) for x in utk.X].index(True)
    assert utk.y[i] == age
    assert utk.metadata.loc[i, "gender"] == gender
    assert utk.metadata.loc[i, "race"] == race


def test_file_with_a_missing_field_is_kept(utk):
    i = [x.endswith("/61_1_20170109142408075.jpg.chip.jpg") for x in utk.X].index(True)
    assert utk.y[i] == 61
    assert np.isnan(utk.metadata.loc[i, "gender"]) and np.isnan(utk.metadata.loc[i, "race"])
    assert utk.metadata["gender"].isna().sum() == 1


def test_spec_loader_matches(utkface_dir, utk):
    again = load_dataset(f"utkface:{utkface_dir}")
    np.testing.assert_array_equal(again.X, utk.X)
    np.testing.assert_array_equal(again.y, utk.y)
