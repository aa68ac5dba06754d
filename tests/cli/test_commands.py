"""The CLI end to end at tiny settings: fit on real chips, then predict/evaluate/report."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skage.cli import main

TINY = ["--model", "resnet", "--image-size", "48", "--max-epochs", "1", "--batch-size", "8", "--device", "cpu", "--quiet"]


@pytest.fixture(scope="module")
def model_file(utkface_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    config = folder / "config.json"
    config.write_text(json.dumps({"random_state": 0, "n_jobs": 1, "net_params": {"backbone": "resnet18"},
                                  "params": {"model__n_neighbors": 3}}))
    path = folder / "model.joblib"
    assert main(["fit", "--data", f"utkface:{utkface_dir}", "--limit", "40", "--config", str(config),
                 "--out", str(path), *TINY]) == 0
    return path


@pytest.fixture(scope="module")
def mixed_folder(utkface_dir, tmp_path_factory):
    """Some real chips (linked, not copied), a corrupt JPEG, a text file, and a two-face picture."""
    folder = tmp_path_factory.mktemp("inputs")
    chips = sorted(utkface_dir.glob("*.jpg"))[:3]
    for chip in chips:
        os.symlink(chip, folder / chip.name)
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    (folder / "notes.txt").write_text("not an image")
    a, b = (np.asarray(Image.open(c).convert("RGB")) for c in (chips[0], chips[1]))
    canvas = np.full((300, 520, 3), 127, np.uint8)
    canvas[50:250, 40:240], canvas[50:250, 280:480] = a, b
    Image.fromarray(canvas).save(folder / "two_faces.png")
    return folder


def test_predict_gives_a_row_per_input_and_per_face(model_file, mixed_folder, tmp_path):
    out = tmp_path / "preds.csv"
    assert main(["predict", str(model_file), str(mixed_folder), "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out, keep_default_na=False)
    names = table["input"].map(lambda p: p.rsplit("/", 1)[-1])
    assert sorted(set(names)) == sorted(p.name for p in mixed_folder.iterdir())
    by_name = table.assign(name=names).groupby("name")
    assert by_name.size()["two_faces.png"] == 2 and by_name.size()["notes.txt"] == 1
    two = table[names == "two_faces.png"]
    assert two["face"].astype(int).tolist() == [0, 1] and (two["box"] != "").all()
    for bad in ("corrupt.jpg", "notes.txt"):
        row = table[names == bad].iloc[0]
        assert row["error"] and row["age"] == "" and bad in row["input"]
    good = table[table["error"] == ""]
    assert len(good) == 5 and good["age"].astype(float).between(0, 101).all()


def test_predict_prints_a_table_without_out(model_file, mixed_folder, capsys):
    assert main(["predict", str(model_file), str(mixed_folder / "notes.txt"), "--quiet"]) == 0
    assert "notes.txt" in capsys.readouterr().out


def test_evaluate_prints_fairness_report(model_file, utkface_dir, capsys):
    assert main(["evaluate", str(model_file), "--data", f"utkface:{utkface_dir}", "--limit", "20",
                 "--seed", "1", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "CMAE" in out and "gender" in out and "race" in out


def test_saved_model_predicts_the_same_in_a_fresh_process(model_file, utkface_dir):
    from skage.pipeline import load_model

    chips = [str(p) for p in sorted(utkface_dir.glob("*.jpg"))[100:104]]
    here = load_model(model_file).predict(np.array(chips, dtype=object))
    code = ("import sys, numpy as np; from skage.pipeline import load_model; "
            "print(*load_model(sys.argv[1]).predict(np.array(sys.argv[2:], dtype=object)).tolist())")
    there = subprocess.run([sys.executable, "-c", code, str(model_file), *chips], capture_output=True,
                           text=True, check=True).stdout.split()
    np.testing.assert_array_equal(here, np.array(there, dtype=float))


@pytest.mark.parametrize("argv, message", [
    (["fit", "--data", "nosuchkind:/tmp", "--out", "m.joblib"], "unknown dataset kind"),
    (["fit", "--data", "utkface:/no/such/folder", "--out", "m.joblib"], "/no/such/folder"),
    (["predict", "/no/model.joblib", "x.jpg"], "model file not found"),
])
def test_helpful_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_model_from_an_incompatible_version(tmp_path, capsys):
    import joblib

    joblib.dump({"format": "skage-model", "skage_version": "9.9.0", "estimator": None}, tmp_path / "old.joblib")
    assert main(["predict", str(tmp_path / "old.joblib"), "x.jpg"]) == 2
    assert "--trusted" in capsys.readouterr().err  # a pickle is not read unless trusted
    assert main(["predict", str(tmp_path / "old.joblib"), "x.jpg", "--trusted"]) == 2
    assert "incompatible" in capsys.readouterr().err


def test_report_writes_every_plot(model_file, utkface_dir, tmp_path):
    out = tmp_path / "report"
    assert main(["report", str(model_file), "--data", f"utkface:{utkface_dir}", "--limit", "60", "--seed", "2",
                 "--out", str(out), "--quiet"]) == 0
    written = sorted(p.name for p in out.glob("*.png"))
    assert written == ["attention_grid.png", "bin_confusion.png", "embedding_tsne.png", "grad_cam_grid.png",
                       "group_mae.png", "per_bin_mae.png", "pred_vs_true.png"]
    assert all((out / name).stat().st_size > 5000 for name in written)


@pytest.mark.parametrize("argv, message", [
    (["fit", "--data", "utkface:.", "--out", "{tmp}"], "is a directory"),
    (["fit", "--data", "utkface:.", "--out", "{tmp}/no/such/model.skage"], "does not exist"),
    (["predict", "m.skage", "x.jpg", "--out", "{tmp}/missing/p.csv"], "does not exist"),
    (["predict", "m.skage", "{tmp}"], "no files to predict"),
])
def test_unusable_arguments_fail_before_any_work(argv, message, tmp_path, capsys):
    assert main([a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.parametrize("argv, what", [
    (["predict", "{m}", "{d}/in.png", "--out", "{d}/in.png"], "an input"),
    (["predict", "{m}", "{d}/in.png", "--out", "{m}"], "the model"),
    (["predict", "{m}", "{d}", "--out", "{d}/in.png"], "an input"),  # a folder's file
    (["predict", "{m}", "{d}/*.png", "--out", "{d}/../d/in.png"], "an input"),  # a glob; another spelling
    (["predict", "{m}", "{d}/in.png", "--out", "{tmp}/link.csv"], "an input"),  # a link to the input
    (["predict", "{m}", "{d}/in.png", "--out", "{tmp}/hard.csv"], "an input"),  # a hard link to it
    (["calibrate", "{m}", "--data", "utkface:{d}", "--out", "{m}"], "the model"),
    (["fit", "--data", "folder:{d}:labels.csv", "--out", "{d}/labels.csv"], "a file of the data"),
    (["fit", "--data", "folder:{d}:labels.csv", "--out", "{d}/in.png"], "a file of the data"),
    (["calibrate", "{tmp}/ridge.skage", "--data", "folder:{d}:labels.csv", "--limit", "1", "--out",
      "{tmp}/hard.csv"], "a file of the data"),  # every file is checked, not only the --limit subset
    (["fit", "--data", "utkface:{d}", "--config", "{tmp}/c.json", "--out", "{tmp}/c.json"], "the config file"),
])
def test_out_may_not_overwrite_what_the_command_reads(argv, what, tmp_path, capsys):
    from sklearn.linear_model import Ridge

    from skage.pipeline import save_model

    folder = tmp_path / "d"
    folder.mkdir()
    for name in ("in.png", "in2.png"):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / name)
    (folder / "labels.csv").write_text("file,age\nin.png,30\nin2.png,40\n")
    save_model(Ridge().fit([[0.0], [1.0]], [20.0, 40.0]), tmp_path / "ridge.skage")  # loads; not a face model
    (tmp_path / "c.json").write_text("{}")
    (tmp_path / "m.skage").write_bytes(b"a model")  # refused before it is read
    os.symlink(folder / "in.png", tmp_path / "link.csv")
    os.link(folder / "in.png", tmp_path / "hard.csv")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert main([a.format(m=tmp_path / "m.skage", d=folder, tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert f"is {what}" in err and "would overwrite it" in err and len(err.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in before} == before


def test_out_may_replace_an_older_model_in_the_data_folder(tmp_path):
    from argparse import Namespace

    from skage.cli._main import _load_data

    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "in.png")
    (tmp_path / "labels.csv").write_text("file,age\nin.png,30\n")
    (tmp_path / "model.skage").write_bytes(b"last week's model")  # not a file of the data: may be replaced
    fit = Namespace(command="fit", out=str(tmp_path / "model.skage"))
    _, y, _ = _load_data(f"folder:{tmp_path}:labels.csv", writes=fit)
    assert y.tolist() == [30.0]


def test_calibrate_out_is_a_file_that_may_exist(tmp_path, capsys):
    (tmp_path / "m.skage").write_bytes(b"not a model")
    (tmp_path / "calibrated.skage").write_bytes(b"an older calibration")
    assert main(["calibrate", str(tmp_path / "m.skage"), "--data", f"utkface:{tmp_path / 'faces'}",
                 "--out", str(tmp_path / "calibrated.skage")]) == 2
    assert "not a readable model file" in capsys.readouterr().err  # past the --out checks, not "give a folder"


def test_broken_links_and_empty_folders_get_a_row_or_a_note(model_file, tmp_path, capsys):
    folder = tmp_path / "photos"
    folder.mkdir()
    os.symlink(tmp_path / "gone.jpg", folder / "dangling.jpg")
    os.symlink(folder / "loop2.jpg", folder / "loop1.jpg")
    os.symlink(folder / "loop1.jpg", folder / "loop2.jpg")
    (tmp_path / "empty").mkdir()
    out = tmp_path / "p.csv"
    assert main(["predict", str(model_file), str(folder), str(tmp_path / "empty"), "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out, keep_default_na=False)
    assert [p.rsplit("/", 1)[-1] for p in table["input"]] == ["dangling.jpg", "loop1.jpg", "loop2.jpg"]
    assert (table["flag"] == "unreadable").all() and table["error"].str.contains("file not found|symbolic").all()
    assert f"note: no files to predict in {tmp_path / 'empty'}" in capsys.readouterr().err


def test_ctrl_c_exits_130_with_one_line(monkeypatch, tmp_path, capsys):
    import skage.cli._main as cli

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_load_data", interrupted)  # Ctrl-C while the work runs
    try:
        status = main(["fit", "--data", f"utkface:{tmp_path}", "--out", str(tmp_path / "m.skage")])
    except KeyboardInterrupt:  # caught here: escaping, it would stop the whole test session
        pytest.fail("Ctrl-C escaped skage's main(): the user gets a traceback")
    assert status == 130
    assert capsys.readouterr().err == "skage fit: interrupted\n"


def test_non_positive_sizes_are_refused_by_the_parser(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--data", "utkface:.", "--out", "m.skage", "--image-size", "0"])
    assert exit_info.value.code == 2 and "must be at least 1" in capsys.readouterr().err


def test_non_utf8_file_names_survive_the_csv(model_file, tmp_path):
    odd = os.fsdecode(b"caf\xe9.jpg")  # Latin-1 bytes: not valid UTF-8
    (tmp_path / odd).write_bytes(b"not an image")
    out = tmp_path / "p.csv"
    assert main(["predict", str(model_file), str(tmp_path / odd), "--out", str(out), "--quiet"]) == 0
    assert "caf\\udce9.jpg" in out.read_text()  # the undecodable byte, escaped


def test_fit_trains_the_network_make_age_pipeline_trains(model_file, utkface_dir):
    # One rule in the library: the class-balanced weights count the ages before resampling, whether the
    # pipeline is fitted by skage fit or in Python.
    from skage.cli._main import _load_data
    from skage.pipeline import load_model, make_age_pipeline

    cli, info = load_model(model_file, return_info=True)
    X, y, _ = _load_data(f"utkface:{utkface_dir}", limit=40, seed=0)  # the fixture's training faces
    options = {**info["options"], "max_epochs": 0}  # the weights are set before the first epoch
    python = make_age_pipeline(**options).set_params(model__n_neighbors=3).fit(X, y)
    counts = [pipe.named_steps["balance"].bin_counts_ for pipe in (cli, python)]
    weights = [pipe.named_steps["model"].estimator_.bin_weights_ for pipe in (cli, python)]
    np.testing.assert_array_equal(*counts)
    np.testing.assert_allclose(*weights)
    assert counts[0].sum() <= len(y) and weights[0].max() / weights[0][weights[0] > 0].min() > 1.5


@pytest.mark.parametrize("model", ["resnet", "descriptor"])
def test_quiet_silences_the_models_that_log_training(model):
    from skage.cli._main import _build_pipeline, _pipeline_kwargs, build_parser

    args = build_parser().parse_args(["fit", "--data", "utkface:.", "--out", "m.skage", "--model", model, "--quiet"])
    kwargs, params = _pipeline_kwargs(args, {})
    assert kwargs.get("verbose") == (0 if model == "resnet" else None)
    _build_pipeline(kwargs, params)  # options the model takes


def test_fit_takes_a_bias_correction_strength():
    from skage.cli._main import _build_pipeline, _pipeline_kwargs, build_parser

    args = build_parser().parse_args(["fit", "--data", "utkface:.", "--out", "m.skage", "--model", "descriptor",
                                      "--bias-correction", "0.5"])
    kwargs, params = _pipeline_kwargs(args, {})
    assert kwargs["bias_correction"] == 0.5
    assert _build_pipeline(kwargs, params).named_steps["model"].strength == 0.5


def _failing_on(monkeypatch, name, exc):
    """The aligner raises ``exc`` on the input named ``name`` (dlib's std::bad_alloc arrives as MemoryError)."""
    from skage.alignment import FaceAligner

    align_faces = FaceAligner.align_faces

    def failing(self, image, source=None):
        if os.path.basename(str(source)) == name:
            raise exc() if isinstance(exc, type) else exc
        return align_faces(self, image, source=source)

    monkeypatch.setattr(FaceAligner, "align_faces", failing)


def test_predict_keeps_every_row_when_a_photo_fails(model_file, mixed_folder, tmp_path, monkeypatch):
    victim = sorted(p.name for p in mixed_folder.glob("*.chip.jpg"))[1]
    _failing_on(monkeypatch, victim, MemoryError("std::bad_alloc"))
    out = tmp_path / "p.csv"
    assert main(["predict", str(model_file), str(mixed_folder), "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out, keep_default_na=False)
    names = table["input"].map(os.path.basename)
    assert len(table) == 7 and sorted(set(names)) == sorted(p.name for p in mixed_folder.iterdir())
    row = table[names == victim].iloc[0]
    assert (row["flag"], row["error"], row["age"]) == ("error", "MemoryError: std::bad_alloc", "")
    assert (table["flag"] == "ok").sum() == 4  # two chips and both faces of two_faces.png


def test_predict_jobs_2_gives_the_same_csv(model_file, mixed_folder, tmp_path):
    one, two = tmp_path / "one.csv", tmp_path / "two.csv"
    assert main(["predict", str(model_file), str(mixed_folder), "--out", str(one), "--quiet"]) == 0
    assert main(["predict", str(model_file), str(mixed_folder), "--out", str(two), "--jobs", "2", "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(one), pd.read_csv(two))


def test_predict_csv_grows_in_a_temporary_file_and_ctrl_c_keeps_the_old_one(model_file, mixed_folder, tmp_path,
                                                                            monkeypatch):
    from skage.alignment import FaceAligner

    out = tmp_path / "p.csv"
    out.write_text("old,csv\n")
    seen, align_faces = [], FaceAligner.align_faces

    def interrupted_at_the_fourth(self, image, source=None):
        seen.append([p.read_text() for p in tmp_path.glob(".p.csv.*.tmp")])
        if len(seen) == 4:
            raise KeyboardInterrupt
        return align_faces(self, image, source=source)

    monkeypatch.setattr(FaceAligner, "align_faces", interrupted_at_the_fourth)
    inputs = sorted(str(p) for p in mixed_folder.glob("*.chip.jpg")) + [str(mixed_folder / "two_faces.png")]
    assert main(["predict", str(model_file), *inputs, "--out", str(out), "--batch-size", "1", "--quiet"]) == 130
    assert out.read_text() == "old,csv\n" and not list(tmp_path.glob(".p.csv.*"))  # old CSV intact, no leftover
    (before_first,), (after_first,), _, (after_third,) = seen  # one temporary file, growing a photo at a time
    assert before_first == "" and after_first.startswith("input,face,box,age,") and after_first.count("\n") == 2
    assert after_third.count("\n") == 4 and all(os.path.basename(p) in after_third for p in inputs[:3])


def test_predict_draw_writes_one_picture_per_readable_photo(model_file, mixed_folder, tmp_path):
    gray = tmp_path / "gray.png"
    Image.fromarray(np.full((120, 160, 3), 128, np.uint8)).save(gray)
    out, pictures = tmp_path / "p.csv", tmp_path / "pictures"
    assert main(["predict", str(model_file), str(mixed_folder), str(gray), "--out", str(out), "--draw",
                 str(pictures), "--quiet"]) == 0
    chips = sorted(p.name.removesuffix(".jpg") for p in mixed_folder.glob("*.chip.jpg"))
    assert sorted(p.name for p in pictures.iterdir()) == sorted(f"{c}.jpg" for c in [*chips, "gray", "two_faces"])
    table = pd.read_csv(out, keep_default_na=False)
    drawn = np.asarray(Image.open(pictures / "two_faces.jpg").convert("RGB"), dtype=int)
    photo = np.asarray(Image.open(mixed_folder / "two_faces.png").convert("RGB"), dtype=int)
    assert drawn.shape == photo.shape  # under 1280 px: not resized
    for box in table.loc[table["input"].str.endswith("two_faces.png"), "box"]:
        left, top, right, bottom = map(int, box.split(","))
        middle = (top + bottom) // 2
        assert np.abs(drawn[middle, left] - photo[middle, left]).sum() > 100  # the box's left edge
    note = np.asarray(Image.open(pictures / "gray.jpg").convert("RGB"), dtype=int)
    assert (note[:5, :5] > 240).all() and (np.abs(note[-20:, -20:] - 128) < 8).all()  # "no face found", top left


def test_predict_draw_names_each_picture_and_never_replaces_an_input(tmp_path, capsys):
    from skage.cli._draw import drawing_paths

    for folder in ("a", "b"):
        (tmp_path / folder).mkdir()
        (tmp_path / folder / "x.png").write_bytes(b"")
    (tmp_path / "a" / "x.jpg").write_bytes(b"")
    inputs = [str(tmp_path / f) for f in ("a/x.png", "b/x.png", "a/x.jpg")]
    assert [p.name for p in drawing_paths(tmp_path / "pictures", inputs)] == ["x.jpg", "x-2.jpg", "x-3.jpg"]
    # the picture of a/x.jpg would be a/x.jpg itself: refused before the model is read
    assert main(["predict", "missing.skage", str(tmp_path / "a" / "x.jpg"), "--draw", str(tmp_path / "a")]) == 2
    assert "is an input" in capsys.readouterr().err and (tmp_path / "a" / "x.jpg").read_bytes() == b""
    (tmp_path / "file").write_text("")
    assert main(["predict", "missing.skage", str(tmp_path / "a"), "--draw", str(tmp_path / "file")]) == 2
    assert "--draw" in capsys.readouterr().err
