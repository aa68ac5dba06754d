from skage.cli._inputs import expand_inputs


def test_folders_globs_and_missing_names_all_give_rows(tmp_path):
    (tmp_path / "d").mkdir()
    for name in ["b.jpg", "a.jpg", "notes.txt", ".hidden"]:
        (tmp_path / "d" / name).write_text("x")
    (tmp_path / "c.png").write_text("x")
    out = expand_inputs([str(tmp_path / "d"), str(tmp_path / "*.png"), str(tmp_path / "nothing-*.jpg"),
                         str(tmp_path / "missing.jpg")])
    names = [p.rsplit("/", 1)[-1] for p in out]
    assert names == ["a.jpg", "b.jpg", "notes.txt", "c.png", "nothing-*.jpg", "missing.jpg"]
