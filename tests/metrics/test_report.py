import numpy as np
import pandas as pd
import pytest

from skage.metrics import (
    DEFAULT_AGE_BINS, acc_at_k, age_bin_indices, age_bin_labels, age_report, bias_score, cmae_score,
    per_bin_mae, shot_mae,
)


def test_bins_cover_every_age_with_right_open_edges():
    assert age_bin_labels() == ["0-10", "11-20", "21-30", "31-40", "41-50", "51-60", "61+"]
    ages = [0, 10, 10.99, 11, 20, 21, 60.5, 61, 116]
    assert age_bin_indices(ages).tolist() == [0, 0, 0, 1, 1, 2, 5, 6, 6]
    assert len(DEFAULT_AGE_BINS) == 7


def test_report_matches_hand_computed_values():
    y_true = [2, 8, 15, 25, 25, 70]
    y_pred = [4, 8, 10, 25, 31, 60]
    # errors: 2, 0, 5, 0, 6, 10 -> MAE 23/6
    # per-bin: 0-10 -> (2+0)/2 = 1; 11-20 -> 5; 21-30 -> (0+6)/2 = 3; 61+ -> 10
    r = age_report(y_true, y_pred)
    assert r.n == 6
    assert r.mae == pytest.approx(23 / 6)
    assert r.cmae == pytest.approx((1 + 5 + 3 + 10) / 4)
    assert r.bias == pytest.approx(10 - 1)
    assert r.acc == pytest.approx(4 / 6)  # |err| <= 5 counts: 2, 0, 5, 0
    table = r.per_bin.set_index("bin")
    assert table.loc["0-10", "n"] == 2 and table.loc["0-10", "mae"] == pytest.approx(1)
    assert table.loc["31-40", "n"] == 0 and np.isnan(table.loc["31-40", "mae"])
    assert cmae_score(y_true, y_pred) == pytest.approx(r.cmae)
    assert bias_score(y_true, y_pred) == pytest.approx(r.bias)
    assert acc_at_k(y_true, y_pred, k=2) == pytest.approx(3 / 6)


def test_group_gaps_by_gender_and_race():
    y_true = [10, 10, 40, 40]
    y_pred = [11, 13, 40, 44]
    r = age_report(y_true, y_pred, groups={"gender": [0, 1, 0, 1], "race": ["a", "a", "b", None]})
    g = r.groups["gender"].set_index("group")
    assert g.loc["0", "mae"] == pytest.approx(0.5) and g.loc["1", "mae"] == pytest.approx(3.5)
    assert r.gaps["gender"] == pytest.approx(3.0)
    race = r.groups["race"].set_index("group")
    assert race.loc["a", "n"] == 2 and race.loc["b", "n"] == 1  # the unknown label is left out, not guessed
    assert r.gaps["race"] == pytest.approx(2.0 - 0.0)
    flat = r.to_dict()
    assert flat["gap[gender]"] == pytest.approx(3.0) and "mae[0-10]" in flat
    assert "largest gap" in r.to_markdown()


def test_single_sample_and_single_bin():
    r = age_report([33], [30])
    assert r.mae == r.cmae == 3.0
    assert r.bias == 0.0
    assert r.acc == 1.0


def test_custom_bins():
    table = per_bin_mae([5, 25, 45], [5, 20, 55], bins=(0, 20, 40))
    assert table["bin"].tolist() == ["0-19", "20-39", "40+"]
    assert table["mae"].tolist() == [0, 5, 10]


@pytest.mark.parametrize(
    "y_true, y_pred, match",
    [
        ([1, np.nan], [1, 2], "NaN"),
        ([1, -3], [1, 2], "negative"),
        ([1, 2], [1, np.inf], "y_pred"),
        ([1, 2], [1], "y_pred has 1"),
        ([], [], "empty"),
    ],
)
def test_bad_input_gives_clear_errors(y_true, y_pred, match):
    with pytest.raises(ValueError, match=match):
        age_report(y_true, y_pred)


def test_bad_bins_are_refused():
    with pytest.raises(ValueError, match="increasing"):
        age_report([1], [1], bins=(0, 20, 10))
    with pytest.raises(ValueError, match="start at 0"):
        age_report([1], [1], bins=(5, 20))


def test_shot_mae_splits_by_training_frequency():
    y_train = [1] * 150 + [30] * 50 + [80] * 3
    r = shot_mae([1, 1, 30, 80, 95], [2, 3, 34, 90, 95], y_train)
    assert r["many"] == pytest.approx(1.5) and r["n_many"] == 2
    assert r["medium"] == pytest.approx(4.0) and r["n_medium"] == 1
    assert r["few"] == pytest.approx(5.0) and r["n_few"] == 2  # 80 (3 images) and 95 (none)


def test_shot_mae_empty_split_is_nan():
    r = shot_mae([1], [1], [1] * 200)
    assert np.isnan(r["few"]) and r["n_few"] == 0


def test_report_accepts_pandas_inputs():
    r = age_report(pd.Series([10.0, 20.0]), np.array([[12.0], [20.0]]).ravel())
    assert r.mae == pytest.approx(1.0)


def test_float_group_codes_are_named_as_integers():
    r = age_report([10, 20, 30], [10, 22, 30], groups={"gender": [0.0, 1.0, np.nan]})
    assert r.groups["gender"]["group"].tolist() == ["0", "1"]
