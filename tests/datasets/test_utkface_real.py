"""The real UTKFace chips in ../shared/data/utkface (skipped where absent)."""

import numpy as np
import pytest

from skage.datasets import load_dataset, load_utkface


@pytest.fixture(scope="module")
def utk(utkface_dir):
    return load_utkface(utkface_dir)


def test_all_chips_load_with_ages_from_names(utk, utkface_dir):
    n_files = len(list(utkface_dir.glob("*.jpg")))
    assert len(utk.X) == len(utk.y) == len(utk.metadata) == n_files
    assert utk.skipped == []
    assert utk.y.dtype == np.float64
    if n_files == 15452:  # the folder since 2026-12-02; counted independently with `ls | cut -d_ -f1 | sort -n | uniq -c`
        assert utk.y.min() == 1 and utk.y.max() == 116
        assert (utk.y == 1).sum() == 730 and (utk.y == 26).sum() == 1421


def test_the_old_dev_set_is_still_there(utk, utkface_dir):
    """crop_part1_dev.txt lists the 6,419 chips of the old dev set; all are kept but one (a name missing a field)."""
    listed = utkface_dir.parent / "crop_part1_dev.txt"
    if not listed.exists():
        pytest.skip("no crop_part1_dev.txt beside the chips")
    names = set(listed.read_text().split())
    present = {x.rsplit("/", 1)[-1] for x in utk.X}
    assert len(names) == 6419 and len(names - present) <= 1


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


def test_file_with_a_missing_field_is_kept(utkface_dir, tmp_path):
    # the old dev set had one such chip (61_1_20170109142408075.jpg.chip.jpg); a real chip under that name
    chip = sorted(utkface_dir.glob("61_1_*.jpg"))[0]
    (tmp_path / "61_1_20170109142408075.jpg.chip.jpg").symlink_to(chip)
    (tmp_path / chip.name).symlink_to(chip)
    faces = load_utkface(tmp_path)
    i = [x.endswith("/61_1_20170109142408075.jpg.chip.jpg") for x in faces.X].index(True)
    assert faces.y[i] == 61 and faces.skipped == []
    assert np.isnan(faces.metadata.loc[i, "gender"]) and np.isnan(faces.metadata.loc[i, "race"])
    assert faces.metadata["gender"].isna().sum() == 1


def test_spec_loader_matches(utkface_dir, utk):
    again = load_dataset(f"utkface:{utkface_dir}")
    np.testing.assert_array_equal(again.X, utk.X)
    np.testing.assert_array_equal(again.y, utk.y)
