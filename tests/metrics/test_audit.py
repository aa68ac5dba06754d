import numpy as np
import pandas as pd
import pytest

from skage.metrics import cmae_score, fairness_audit


def _data(n=1500, seed=0):
    rng = np.random.default_rng(seed)
    age = rng.uniform(1, 80, n)
    race = rng.choice(["A", "B", "C"], n, p=[0.5, 0.4, 0.1]).astype(object)
    gender = rng.choice(["f", "m"], n).astype(object)
    gender[:7] = None  # missing labels: their own group, never dropped
    # group B is one year worse in every age bin
    pred = age + rng.normal(0, 4, n) + np.where(race == "B", rng.choice([-1, 1], n) * 1.0, 0)
    iv = np.column_stack([pred - 7, pred + 7])
    return age, pred, {"gender": gender, "race": race}, iv


def test_groupings_counts_and_unknown_group():
    age, pred, groups, iv = _data()
    audit = fairness_audit(age, pred, groups, intervals=iv, alpha=0.1, n_boot=30)
    t = audit.table
    assert set(t["grouping"]) == {"gender", "race", "age_bin", "gender×race", "gender×age_bin", "race×age_bin",
                                  "gender×race×age_bin"}
    for grouping, rows in t.groupby("grouping"):
        assert rows["n"].sum() == len(age), grouping  # nobody dropped
    g = t[t["grouping"] == "gender"].set_index("gender")
    assert g.loc["unknown", "n"] == 7
    assert not g.loc["unknown", "confident"] and np.isnan(g.loc["unknown", "mae_lo"])  # no confidence claim


def test_figures_recompute_from_the_faces_csv(tmp_path):
    age, pred, groups, iv = _data()
    audit = fairness_audit(age, pred, groups, intervals=iv, alpha=0.1, n_boot=20)
    paths = audit.write(tmp_path)
    faces = pd.read_csv(paths["faces"], keep_default_na=False)
    table = pd.read_csv(paths["groups"], keep_default_na=False)
    assert set(paths) == {"faces", "groups", "markdown"}  # the heat-map is skage.viz.write_audit's
    assert "### By gender×race" in paths["markdown"].read_text()
    shares = faces["age_bin"].value_counts(normalize=True)
    for race, rows in faces.groupby("race"):
        row = table[(table["grouping"] == "race") & (table["race"] == race)].iloc[0]
        err = (rows["pred"] - rows["age"]).abs()
        assert row["n"] == len(rows)
        assert row["mae"] == pytest.approx(err.mean())
        assert row["signed_error"] == pytest.approx((rows["pred"] - rows["age"]).mean())
        assert row["cmae"] == pytest.approx(cmae_score(rows["age"], rows["pred"]))
        per_bin = err.groupby(rows["age_bin"]).mean()
        assert row["std_mae"] == pytest.approx((per_bin * shares[per_bin.index]).sum() / shares[per_bin.index].sum())
        covered = (rows["age_low"] <= rows["age"]) & (rows["age"] <= rows["age_high"])
        assert row["coverage"] == pytest.approx(covered.mean())


def test_bootstrap_bounds_bracket_the_estimate_and_narrow_with_n():
    age, pred, groups, _ = _data(4000)
    audit = fairness_audit(age, pred, groups, n_boot=200, random_state=1)
    race = audit.table[audit.table["grouping"] == "race"].set_index("race")
    assert (race["mae_lo"] <= race["mae"]).all() and (race["mae"] <= race["mae_hi"]).all()
    spread = race["mae_hi"] - race["mae_lo"]
    assert spread["A"] < spread["C"]  # 50 % of the faces against 10 %
    again = fairness_audit(age, pred, groups, n_boot=200, random_state=1)
    pd.testing.assert_frame_equal(audit.table, again.table)  # seeded: the CSV can be recomputed


def test_gap_names_the_worse_group_and_age_standardises():
    # B is worse within every bin; A looks worse on raw MAE only because it holds the hard (old) faces.
    rng = np.random.default_rng(0)
    n = 3000
    race = rng.choice(["A", "B"], n)
    old = rng.random(n) < 0.8
    age = np.where(race == "B", rng.uniform(1, 80, n), np.where(old, rng.uniform(61, 80, n), rng.uniform(1, 60, n)))
    err_scale = np.where(age > 60, 8.0, 3.0) + np.where(race == "B", 1.0, 0.0)
    pred = age + rng.choice([-1, 1], n) * err_scale
    audit = fairness_audit(age, pred, {"race": race}, n_boot=0)
    race_rows = audit.table[audit.table["grouping"] == "race"].set_index("race")
    assert race_rows.loc["A", "mae"] > race_rows.loc["B", "mae"]
    assert race_rows.loc["B", "cmae"] > race_rows.loc["A", "cmae"]
    assert race_rows.loc["B", "std_mae"] > race_rows.loc["A", "std_mae"]
    gap = audit.gaps.set_index("grouping").loc["race"]
    assert gap["worst (cmae)"] == "B"
    assert audit.worst.iloc[0]["group"] == "B"


def test_no_intervals_no_coverage_and_markdown():
    age, pred, groups, _ = _data(500)
    audit = fairness_audit(age, pred, groups, n_boot=0, max_features=1)
    assert "coverage" not in audit.table and "coverage" not in audit.overall
    assert set(audit.table["grouping"]) == {"gender", "race", "age_bin"}
    text = audit.to_markdown()
    assert "MAE" in text and "### By race" in text


def test_bad_input():
    age, pred, groups, iv = _data(100)
    with pytest.raises(ValueError, match="intervals must have shape"):
        fairness_audit(age, pred, groups, intervals=iv[:5])
    with pytest.raises(ValueError, match="lower bound above"):
        fairness_audit(age, pred, groups, intervals=iv[:, ::-1])
    with pytest.raises(ValueError, match=r"groups\['race'\] has 3 labels"):
        fairness_audit(age, pred, {"race": ["a", "b", "c"]})
    with pytest.raises(ValueError, match="reserved"):
        fairness_audit(age, pred, {"age_bin": groups["race"]})
    with pytest.raises(ValueError, match="NaN"):
        fairness_audit(age, np.full(100, np.nan), groups)


def test_a_full_disk_keeps_the_old_audit_files(tmp_path, monkeypatch):
    import errno
    import os

    y, pred, groups, _ = _data(300)
    audit = fairness_audit(y, pred, groups, n_boot=0)
    (tmp_path / "audit_faces.csv").write_text("last week\n")

    def full(frame, target, **kwargs):  # the header, then the disk is full
        with open(target, "w") if isinstance(target, (str, os.PathLike)) else target as f:
            f.write(",".join(map(str, frame.columns)) + "\n")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    with pytest.raises(OSError, match="No space left on device"):
        audit.write(tmp_path)
    assert (tmp_path / "audit_faces.csv").read_text() == "last week\n" and os.listdir(tmp_path) == ["audit_faces.csv"]
