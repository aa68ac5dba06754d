from skage.cli._inputs import expand_inputs


def test_folders_globs_and_missing_names_all_give_rows(tmp_path):
    (tmp_path / "d").mkdir()
    for name in ["b.jpg", "a.jpg", "notes.txt", ".hidden"]:
        (tmp_path / "d" / name).write_text("x")
    (tmp_path / "c.png").write_text("x")
    out, empty = expand_inputs([str(tmp_path / "d"), str(tmp_path / "*.png"), str(tmp_path / "nothing-*.jpg"),
                                str(tmp_path / "missing.jpg")])
    assert empty == []
    names = [p.rsplit("/", 1)[-1] for p in out]
    assert names == ["a.jpg", "b.jpg", "notes.txt", "c.png", "nothing-*.jpg", "missing.jpg"]


def test_broken_links_and_empty_folders_are_accounted_for(tmp_path):
    import os

    folder = tmp_path / "d"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "a.jpg").write_text("x")
    os.symlink(tmp_path / "gone.jpg", folder / "dangling.jpg")
    os.symlink(folder / "loop2", folder / "loop1")
    os.symlink(folder / "loop1", folder / "loop2")
    os.symlink(tmp_path, folder / "up")  # a link to a parent folder: listed, not followed (no endless walk)
    os.mkfifo(folder / "fifo")  # listed, for an error row; never read (that would block)
    (tmp_path / "empty").mkdir()
    out, empty = expand_inputs([str(folder), str(tmp_path / "empty")])
    assert [p.rsplit("/", 1)[-1] for p in out] == ["dangling.jpg", "fifo", "loop1", "loop2", "a.jpg", "up"]
    assert empty == [str(tmp_path / "empty")]


def test_unparseable_dataset_files_are_reported_not_dropped_silently(tmp_path, capsys):
    import numpy as np
    from PIL import Image

    from skage.cli._main import _load_data

    for name in ["30_0_0_1.jpg.chip.jpg", "abc_0_0_2.jpg.chip.jpg", "40_1_2_3.jpg.chip.jpg"]:
        Image.fromarray(np.zeros((20, 20, 3), np.uint8)).save(tmp_path / name)
    X, y, _ = _load_data(f"utkface:{tmp_path}")
    assert y.tolist() == [30.0, 40.0]
    err = capsys.readouterr().err
    assert "1 file(s)" in err and "abc_0_0_2.jpg.chip.jpg" in err
