"""What the CLI writes: never over what it reads, whole or not at all, and special files never read."""

import builtins
import errno
import io
import os
import subprocess
import sys
import threading

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skage.cli import main


@pytest.fixture
def dummy_model(tmp_path):
    """A saved model without an aligner: ``skage predict`` reads each input and gives it age 30."""
    from sklearn.dummy import DummyRegressor

    from skage.pipeline import save_model

    return save_model(DummyRegressor().fit([[0.0]], [30.0]), tmp_path / "dummy.skage")


@pytest.mark.parametrize("argv, written, what", [
    # the labels CSV named like the comparison's table
    (["benchmark", "--data", "folder:{d}:results.csv", "--out", "{d}"], "{d}/results.csv", "a file of the data"),
    # photos named like the plots
    (["benchmark", "--data", "folder:{d}:photos.csv", "--out", "{d}"], "{d}/per_bin_mae.png", "a file of the data"),
    (["demo", "--data", "folder:{d}:photos.csv", "--out", "{d}"], "{d}/per_bin_mae.png", "a file of the data"),
    (["report", "{tmp}/ridge.skage", "--data", "folder:{d}:photos.csv", "--out", "{d}"], "{d}/per_bin_mae.png",
     "a file of the data"),
    (["audit", "{tmp}/ridge.skage", "--data", "folder:{d}:photos.csv", "--out", "{d}"], "{d}/audit_heatmap.png",
     "a file of the data"),
    # the model and the config
    (["report", "{d}/per_bin_mae.png", "--data", "folder:{d}:results.csv", "--out", "{d}"], "{d}/per_bin_mae.png",
     "the model"),
    (["benchmark", "--data", "folder:{d}:results.csv", "--config", "{d}/results.md", "--out", "{d}"],
     "{d}/results.md", "the config file"),
])
def test_folder_outputs_may_not_overwrite_what_the_command_reads(argv, written, what, tmp_path, capsys):
    from sklearn.linear_model import Ridge

    from skage.pipeline import save_model

    folder = tmp_path / "d"
    folder.mkdir()
    for name in ("in.png", "per_bin_mae.png", "audit_heatmap.png"):
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / name)
    (folder / "results.csv").write_text("file,age\nin.png,30\n")
    (folder / "photos.csv").write_text("file,age\nin.png,30\nper_bin_mae.png,40\naudit_heatmap.png,50\n")
    (folder / "results.md").write_text("{}")
    save_model(Ridge().fit([[0.0], [1.0]], [20.0, 40.0]), tmp_path / "ridge.skage")  # loads; not a face model
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert main([a.format(d=folder, tmp=tmp_path) for a in argv] + ["--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"{written.format(d=folder)} is {what}" in err and "would overwrite it" in err
    assert len(err.strip().splitlines()) == 1
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before  # nothing written


def _full_disk(room):
    """An ``os.fdopen`` (what atomic_write opens with) whose text files take ``room`` characters, then raise
    ENOSPC mid-write, as a full disk does."""
    real_fdopen = os.fdopen

    class Full(io.TextIOWrapper):
        def write(self, data):
            nonlocal room
            if len(data) > room:
                super().write(data[:room])
                super().flush()  # the cut-off start of the new file is on the disk
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            room -= len(data)
            return super().write(data)

    def fdopen(fd, mode="r", **kwargs):
        if mode != "w":
            return real_fdopen(fd, mode, **kwargs)
        return Full(io.BufferedWriter(io.FileIO(fd, "w")), encoding=kwargs.get("encoding") or "utf-8",
                    errors=kwargs.get("errors"), newline=kwargs.get("newline"))

    return fdopen


def test_a_full_disk_keeps_the_old_csv_and_says_so_in_one_line(dummy_model, tmp_path, monkeypatch, capsys):
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    out = out_dir / "p.csv"
    out.write_text("input,age\nlast_week.jpg,31.0\n")
    monkeypatch.setattr(os, "fdopen", _full_disk(room=100))  # the disk fills 100 bytes into the new CSV
    status = main(["predict", str(dummy_model), *(str(tmp_path / f"photo{i}.jpg") for i in range(50)),
                   "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert status == 1 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"cannot write {out} (No space left on device)" in err and "keeps what it held before" in err
    assert out.read_text() == "input,age\nlast_week.jpg,31.0\n"
    assert os.listdir(out_dir) == ["p.csv"]  # no temporary file left


def test_fit_on_a_full_disk_leaves_the_old_model_and_no_partial_file(tmp_path, monkeypatch, capsys):
    import zipfile

    from sklearn.dummy import DummyRegressor

    import skage.cli._main as cli

    folder = tmp_path / "d"
    folder.mkdir()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "in.png")
    (folder / "labels.csv").write_text("file,age\nin.png,30\n")
    out_dir = tmp_path / "models"
    out_dir.mkdir()
    (out_dir / "model.skage").write_bytes(b"last week's model")
    monkeypatch.setattr(cli, "_build_pipeline", lambda kwargs, params: DummyRegressor())  # fits in no time
    real = zipfile.ZipFile.writestr

    def full(self, name, data, **kwargs):
        if self.filename is not None and name != "manifest.json":  # on disk (not skops' in memory), after one member
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, name, data, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", full)
    status = main(["fit", "--data", f"folder:{folder}:labels.csv", "--out", str(out_dir / "model.skage"), "--quiet"])
    err = capsys.readouterr().err
    assert status == 1 and len(err.strip().splitlines()) == 1 and "No space left on device" in err
    assert (out_dir / "model.skage").read_bytes() == b"last week's model"
    assert os.listdir(out_dir) == ["model.skage"]  # no model.skage.partial, no temporary file


def test_two_writers_of_one_csv_leave_one_whole_csv(dummy_model, tmp_path, monkeypatch):
    """The first writer is held mid-write while the second writes the same --out whole."""
    out = tmp_path / "p.csv"
    n = 200
    short = [str(tmp_path / f"a{i}.jpg") for i in range(n)]
    long = [str(tmp_path / f"a_much_longer_photo_name_{i}.jpg") for i in range(n)]
    second_done = threading.Event()
    real_open, real_fdopen = builtins.open, os.fdopen

    class Held(io.TextIOWrapper):
        def write(self, data):
            if threading.current_thread().name == "first":
                second_done.wait(60)
            return super().write(data)

    def held(raw, kwargs):
        return Held(io.BufferedWriter(raw), encoding=kwargs.get("encoding") or "utf-8",
                    errors=kwargs.get("errors"), newline=kwargs.get("newline"))

    def opening(file, mode="r", *args, **kwargs):  # the CSV opened by name (a writer without a temporary file)
        if mode.startswith("w") and "b" not in mode and os.fspath(file) == str(out) and not args:
            return held(io.FileIO(file, "w"), kwargs)
        return real_open(file, mode, *args, **kwargs)

    def fdopening(fd, mode="r", *args, **kwargs):  # atomic_write's temporary file
        if mode == "w" and not args:
            return held(io.FileIO(fd, "w"), kwargs)
        return real_fdopen(fd, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", opening)
    monkeypatch.setattr(os, "fdopen", fdopening)
    status = {}

    def run(name, inputs):
        status[name] = main(["predict", str(dummy_model), *inputs, "--out", str(out), "--quiet"])
        if name == "second":
            second_done.set()

    first = threading.Thread(target=run, args=("first", short), name="first")
    first.start()
    run("second", long)
    first.join(60)
    assert status == {"first": 0, "second": 0}
    lines = out.read_text().splitlines()
    assert len(lines) == n + 1  # one header, one row per input: one writer's file, whole
    table = pd.read_csv(out)
    assert table["input"].tolist() == short  # the last to finish wins, whole


def test_fifos_get_an_error_row_and_are_never_read(dummy_model, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    os.mkfifo(tmp_path / "direct.jpg")
    os.mkfifo(tmp_path / "globbed.png")
    os.mkfifo(folder / "inside.jpg")
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "real.png")
    out = tmp_path / "p.csv"
    # a subprocess: on a read of a FIFO it would hang, and the timeout ends it
    argv = ["predict", str(dummy_model), str(tmp_path / "direct.jpg"), str(tmp_path / "glob*.png"), str(folder),
            "--out", str(out), "--quiet"]
    result = subprocess.run([sys.executable, "-m", "skage.cli", *argv], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(out, keep_default_na=False)
    assert [p.rsplit("/", 1)[-1] for p in table["input"]] == ["direct.jpg", "globbed.png", "inside.jpg", "real.png"]
    assert table["error"].tolist() == ["not a regular file"] * 3 + [""]
    assert table["flag"].tolist()[:3] == ["unreadable"] * 3 and table["age"].tolist() == ["", "", "", "30.0"]
