"""#24 from the command line: intervals valid by construction (``skage fit --calibrate``), no scoring or
calibrating on training faces, and no age where no face is found."""

import numpy as np
import pandas as pd
import pytest

from skage.cli import main

LIMIT = ["--limit", "40", "--quiet"]


@pytest.fixture(scope="module")
def data(utkface_dir):
    return f"utkface:{utkface_dir}"


@pytest.fixture(scope="module")
def calibrated_at_fit(data, tmp_path_factory):
    """The descriptor model fitted on 20 of 40 real chips, its intervals calibrated on the other 20."""
    path = tmp_path_factory.mktemp("model") / "model.skage"
    assert main(["fit", "--data", data, "--model", "descriptor", "--calibrate", "0.5", "--out", str(path),
                 *LIMIT]) == 0
    return path


def test_fit_calibrate_holds_faces_apart_and_records_the_training_faces(calibrated_at_fit, data, tmp_path):
    from skage.cli._main import _load_data
    from skage.cli._overlap import face_fingerprints
    from skage.intervals import ConformalAgeRegressor
    from skage.pipeline import load_model

    model, info = load_model(calibrated_at_fit, return_info=True)
    assert isinstance(model, ConformalAgeRegressor)
    X, _, _ = _load_data(data, limit=40, seed=0)  # the fixture's faces
    held = model.calibration_indices_
    train = np.setdiff1d(np.arange(40), held)
    assert info["n_train"] == len(train) == 20 and info["n_calibration"] == len(held) == 20
    assert set(info["training_faces"]) == set(face_fingerprints(X[train])) - {""}
    assert not set(face_fingerprints(X[held])) & set(info["training_faces"])
    # intervals straight from the fitted model, no separate calibration step
    out = tmp_path / "p.csv"
    assert main(["predict", str(calibrated_at_fit), *map(str, X[held][:3]), "--interval", "0.9",
                 "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out)
    assert (table["age_low"] <= table["age"]).all() and (table["age"] <= table["age_high"]).all()


@pytest.mark.parametrize("command", [
    ["calibrate", "--holdout", "0.3", "--out", "{tmp}/c.skage"],  # the case: same data, new split
    ["evaluate"],
    ["audit", "--n-boot", "0", "--out", "{tmp}/audit"],
    ["report", "--out", "{tmp}/report"],
])
def test_commands_refuse_faces_the_model_trained_on(calibrated_at_fit, data, command, tmp_path, capsys):
    argv = [command[0], str(calibrated_at_fit), "--data", data, *LIMIT, *command[1:]]
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert "faces of" in err and "trained this model" in err and ".chip.jpg" in err and "Traceback" not in err


def test_training_faces_can_be_left_out_or_kept_loudly(calibrated_at_fit, data, capsys):
    assert main(["evaluate", str(calibrated_at_fit), "--data", data, *LIMIT,
                 "--training-faces", "leave-out"]) == 0
    captured = capsys.readouterr()
    assert "20 of 40 faces" in captured.err and "20 remain" in captured.err and "MAE" in captured.out
    assert main(["evaluate", str(calibrated_at_fit), "--data", data, *LIMIT, "--training-faces", "keep"]) == 0
    assert "WARNING: 20 of 40 faces" in capsys.readouterr().err
    # other faces of the same folder pass without a word
    assert main(["evaluate", str(calibrated_at_fit), "--data", data, "--limit", "10", "--seed", "5",
                 "--quiet"]) == 0
    assert "trained this model" not in capsys.readouterr().err


def test_recalibrating_keeps_the_training_record(calibrated_at_fit, data, tmp_path, capsys):
    from skage.pipeline import load_model

    out = tmp_path / "recal.skage"
    assert main(["calibrate", str(calibrated_at_fit), "--data", data, *LIMIT, "--training-faces", "leave-out",
                 "--out", str(out)]) == 0
    _, before = load_model(calibrated_at_fit, return_info=True)
    _, after = load_model(out, return_info=True)
    assert after["training_faces"] == before["training_faces"] and after["n_calibration"] == 20
    assert main(["evaluate", str(out), "--data", data, *LIMIT]) == 2  # still refused


def test_fingerprints_follow_the_pixels_not_the_path_nor_the_bytes(utkface_sample, tmp_path):
    from PIL import Image

    from skage.cli._overlap import MAX_DISTANCE, _bits, face_fingerprints, seen_before

    (a, b), _ = utkface_sample(2, 0)
    (tmp_path / "copy.jpg").write_bytes(open(a, "rb").read() + b"\0")  # a byte after the JPEG's end
    Image.open(a).save(tmp_path / "q95.jpg", quality=95)
    Image.open(a).save(tmp_path / "a.png")
    Image.fromarray(np.full((50, 50, 3), 7, np.uint8)).save(tmp_path / "flat.png")
    (tmp_path / "text.jpg").write_bytes(b"face one")
    X = [a, tmp_path / "copy.jpg", str(tmp_path / "q95.jpg"), tmp_path / "a.png", np.asarray(Image.open(a)),
         b, tmp_path / "missing.jpg", tmp_path / "text.jpg", tmp_path / "flat.png"]
    prints = face_fingerprints(X)
    assert prints[0] == prints[1] == prints[3] == prints[4] != prints[5]  # same pixels: same print
    distance = np.bitwise_count(_bits(prints[:6]) ^ _bits(prints[:1])).sum(axis=1)
    assert distance[2] <= MAX_DISTANCE < distance[5] and len(prints[0]) == 64
    assert list(prints[6:]) == ["", "", ""]  # nothing to recognise: never a match
    assert list(seen_before(prints, [prints[0]])) == [True] * 5 + [False] * 4


def test_altered_copies_of_training_faces_are_refused(calibrated_at_fit, data, tmp_path, capsys):
    """Issue 31 item 5: one byte appended, a JPEG re-save or a resized copy passed the byte hash (MAE 1.17)."""
    from PIL import Image

    from skage.cli._main import _load_data
    from skage.pipeline import load_model

    model, info = load_model(calibrated_at_fit, return_info=True)
    X, _, _ = _load_data(data, limit=40, seed=0)
    trained = X[np.setdiff1d(np.arange(40), model.calibration_indices_)]
    for i, how in enumerate(("append", "q95", "q75", "double")):
        folder = tmp_path / how
        folder.mkdir()
        copy = folder / f"{30 + i}_0_0_2017010100000000{i}.jpg.chip.jpg"  # a UTKFace name: age 30 + i
        if how == "append":
            copy.write_bytes(open(trained[i], "rb").read() + b"\0")
        elif how == "double":
            Image.open(trained[i]).resize((400, 400)).save(copy, quality=90)
        else:
            Image.open(trained[i]).save(copy, quality=int(how[1:]))
        assert main(["evaluate", str(calibrated_at_fit), "--data", f"utkface:{folder}", "--quiet"]) == 2, how
        err = capsys.readouterr().err
        assert "1 of 1 faces of" in err and "trained this model" in err and copy.name in err, how
    assert info["training_faces_hash"] == "dct255"  # the record says how its fingerprints were made


def test_model_files_with_byte_records_are_still_checked_by_bytes(calibrated_at_fit, data, tmp_path, capsys):
    from skage.cli._main import _load_data
    from skage.cli._overlap import _byte_fingerprints
    from skage.pipeline import load_model, save_model

    model, info = load_model(calibrated_at_fit, return_info=True)
    X, _, _ = _load_data(data, limit=40, seed=0)
    trained = X[np.setdiff1d(np.arange(40), model.calibration_indices_)]
    old = save_model(model, tmp_path / "old.skage", data=info["data"], n_train=info["n_train"],
                     training_faces=sorted(_byte_fingerprints(trained)))  # what skage fit recorded before
    assert main(["evaluate", str(old), "--data", data, *LIMIT]) == 2
    assert "20 of 40 faces" in capsys.readouterr().err
    assert main(["evaluate", str(old), "--data", data, *LIMIT, "--training-faces", "leave-out"]) == 0
    assert "20 remain" in capsys.readouterr().err


def test_predict_gives_no_age_and_no_interval_where_no_face_is_found(calibrated_at_fit, tmp_path):
    from PIL import Image

    green = np.zeros((200, 200, 3), np.uint8)
    green[..., 1] = 200
    Image.fromarray(green).save(tmp_path / "green.png")
    Image.fromarray(np.full((10, 10, 3), 128, np.uint8)).save(tmp_path / "10x10.png")
    out = tmp_path / "p.csv"
    # main: ages 45.1 and 48.0, the green square's "90%" interval 44.3-45.9
    assert main(["predict", str(calibrated_at_fit), str(tmp_path), "--interval", "0.9", "--out", str(out),
                 "--quiet"]) == 0
    table = pd.read_csv(out, keep_default_na=False).set_index("input")
    green_row, tiny_row = table.loc[str(tmp_path / "green.png")], table.loc[str(tmp_path / "10x10.png")]
    assert (green_row["flag"], tiny_row["flag"]) == ("no_face", "too_small")
    assert green_row["age"] == green_row["age_low"] == green_row["age_high"] == "" == tiny_row["age"]
    assert "no face found" in green_row["error"]
    # the centre-crop guess on request, still flagged
    assert main(["predict", str(calibrated_at_fit), str(tmp_path / "green.png"), "--no-face", "center",
                 "--out", str(out), "--quiet"]) == 0
    row = pd.read_csv(out).iloc[0]
    assert row["flag"] == "no_face" and np.isfinite(row["age"]) and "centre crop" in row["error"]


def test_fit_takes_the_no_face_choice():
    from skage.cli._main import _build_pipeline, _pipeline_kwargs, build_parser

    for argv, expected in (([], "blank"), (["--no-face", "center"], "center")):
        args = build_parser().parse_args(["fit", "--data", "utkface:.", "--out", "m.skage", "--model", "descriptor",
                                          *argv])
        kwargs, params = _pipeline_kwargs(args, {})
        assert _build_pipeline(kwargs, params).named_steps["align"].on_failure == expected


def test_old_model_files_warn_when_scored_on_their_own_data(calibrated_at_fit, data, tmp_path, capsys):
    from skage.pipeline import load_model, save_model

    model, info = load_model(calibrated_at_fit, return_info=True)
    old = save_model(model, tmp_path / "old.skage", data=info["data"], n_train=info["n_train"])  # no record
    assert main(["evaluate", str(old), "--data", data, "--limit", "10", "--quiet"]) == 0
    assert "WARNING: the model was trained on" in capsys.readouterr().err
