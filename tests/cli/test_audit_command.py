"""skage calibrate / audit / predict --interval end to end on synthetic faces written as a labelled folder."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skage.cli import main


@pytest.fixture(scope="module")
def labelled_folder(tmp_path_factory):
    from skage.datasets import make_synthetic_faces

    folder = tmp_path_factory.mktemp("faces")
    faces = make_synthetic_faces(n_samples=240, image_size=32, random_state=0)
    rng = np.random.default_rng(0)
    rows = []
    for i, (image, age) in enumerate(zip(faces.images, faces.y)):
        name = f"face_{i:03d}.png"
        Image.fromarray(image).save(folder / name)
        race = rng.choice(["a", "b"]) if i >= 6 else ""  # six faces without a race label
        rows.append({"file": name, "age": age, "gender": rng.choice(["female", "male"]), "race": race})
    pd.DataFrame(rows).to_csv(folder / "labels.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def model_file(labelled_folder, tmp_path_factory):
    from skage.datasets import load_dataset
    from skage.features import make_hog_svr
    from skage.pipeline import save_model

    ds = load_dataset(f"folder:{labelled_folder}:labels.csv")
    from sklearn.model_selection import train_test_split

    train, _ = train_test_split(np.arange(len(ds.y)), test_size=0.5, random_state=0)
    model = make_hog_svr(image_size=32).fit(ds.X[train], ds.y[train])
    return save_model(model, tmp_path_factory.mktemp("model") / "hog.skage")


def test_calibrate_audit_and_predict_interval(labelled_folder, model_file, tmp_path, capsys):
    data = f"folder:{labelled_folder}:labels.csv"
    calibrated = tmp_path / "calibrated.skage"
    assert main(["calibrate", str(model_file), "--data", data, "--holdout", "0.5", "--out", str(calibrated),
                 "--quiet"]) == 0
    out = tmp_path / "audit"
    assert main(["audit", str(calibrated), "--data", data, "--holdout", "0.5", "--n-boot", "20",
                 "--min-n", "10", "--out", str(out), "--quiet"]) == 0
    groups = pd.read_csv(out / "audit_groups.csv", keep_default_na=False)
    faces = pd.read_csv(out / "audit_faces.csv", keep_default_na=False)
    assert len(faces) == 120 and {"age_low", "age_high", "gender", "race"} <= set(faces.columns)
    assert "unknown" in set(groups.loc[groups["grouping"] == "race", "race"])  # missing labels kept
    assert {"coverage", "coverage_lo", "cmae", "std_mae"} <= set(groups.columns)
    assert (out / "audit_heatmap.png").stat().st_size > 0
    assert "### By gender×race" in (out / "audit.md").read_text()

    preds = tmp_path / "preds.csv"
    assert main(["predict", str(calibrated), str(labelled_folder / "face_00*.png"), "--interval", "0.9",
                 "--out", str(preds), "--quiet"]) == 0
    table = pd.read_csv(preds)
    assert len(table) == 10
    assert (table["age_low"] <= table["age"]).all() and (table["age"] <= table["age_high"]).all()


def test_interval_needs_a_calibrated_model(labelled_folder, model_file, capsys):
    assert main(["predict", str(model_file), str(labelled_folder / "face_000.png"), "--interval", "0.9",
                 "--quiet"]) == 2
    assert "skage calibrate" in capsys.readouterr().err


def test_audit_without_calibration_and_bad_level(labelled_folder, model_file, tmp_path, capsys):
    data = f"folder:{labelled_folder}:labels.csv"
    assert main(["audit", str(model_file), "--data", data, "--n-boot", "0", "--out", str(tmp_path / "a"),
                 "--quiet"]) == 0
    assert "not calibrated" in capsys.readouterr().err
    assert "coverage" not in pd.read_csv(tmp_path / "a" / "audit_groups.csv").columns
    assert main(["audit", str(model_file), "--data", data, "--interval", "90", "--quiet"]) == 2
    assert "--interval" in capsys.readouterr().err


def test_audit_leaves_out_faces_without_an_age_and_says_so(labelled_folder, model_file, tmp_path, capsys,
                                                            monkeypatch):
    import skage.cli._audit as cli_audit

    real = cli_audit._predict

    def predict_missing_three(model, X, quiet, **kwargs):
        ages = real(model, X, quiet, **kwargs)
        ages = np.array(ages[0] if isinstance(ages, tuple) else ages, dtype=float)
        ages[:3] = np.nan  # the pipeline's answer for files without a face
        return ages

    monkeypatch.setattr(cli_audit, "_predict", predict_missing_three)
    data = f"folder:{labelled_folder}:labels.csv"
    assert main(["audit", str(model_file), "--data", data, "--n-boot", "0", "--out", str(tmp_path / "a"),
                 "--quiet"]) == 0
    assert "3 of 240 faces got no age" in capsys.readouterr().err
    assert len(pd.read_csv(tmp_path / "a" / "audit_faces.csv")) == 237


def test_audit_reads_the_calibration_column_from_the_model_file(labelled_folder, model_file, tmp_path, capsys):
    from types import SimpleNamespace

    from skage.cli._audit import _calibration_groups
    from skage.pipeline import load_model

    data = f"folder:{labelled_folder}:labels.csv"
    calibrated = tmp_path / "by_race.skage"
    assert main(["calibrate", str(model_file), "--data", data, "--holdout", "0.5", "--by", "race",
                 "--out", str(calibrated), "--quiet"]) == 0
    assert load_model(calibrated, return_info=True)[1]["by"] == "race"
    assert main(["audit", str(calibrated), "--data", data, "--holdout", "0.5", "--n-boot", "0", "--min-n", "10",
                 "--out", str(tmp_path / "audit"), "--quiet"]) == 0
    assert "calibrated per group" not in capsys.readouterr().err

    # The column the file names, even where another column's labels match the calibration's better.
    model = SimpleNamespace(calibration_groups_=np.array(["a", "b"]))
    groups = {"gender": np.array(["female", "male"]), "race": np.array(["a", "b"])}
    assert _calibration_groups(model, {"by": "gender"}, groups) is groups["gender"]
    assert _calibration_groups(model, {}, groups) is None  # not said: the age-bin strata, with a note
    assert "does not say by which column" in capsys.readouterr().err
    assert _calibration_groups(SimpleNamespace(calibration_groups_=None), {"by": "race"}, groups) is None
