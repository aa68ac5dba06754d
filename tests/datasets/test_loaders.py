"""Loaders on tiny fake dataset trees written to tmp_path (small random JPEGs, never real faces)."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skage.datasets import (
    SkippedFileWarning,
    load_afad,
    load_dataset,
    load_fgnet,
    load_folder,
    load_imdb_clean,
    load_morph,
    load_utkface,
    parse_dataset_spec,
    write_synthetic_faces,
)


def jpeg(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(len(str(path))).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return path


def skipped_names(data):
    return sorted(str(f).replace("\\", "/").split("/")[-1] for f, _ in data.skipped)


def test_utkface_names_bad_files_warned_and_listed(tmp_path):
    for name in ["25_0_1_20170101.jpg.chip.jpg", "3_1_4_x.jpg", "61_1_20170109.jpg.chip.jpg",
                 "abc_0_0_1.jpg", "130_0_0_1.jpg", "40.jpg"]:
        jpeg(tmp_path / name)
    with pytest.warns(SkippedFileWarning) as record:
        data = load_utkface(tmp_path)
    assert sorted(data.y.tolist()) == [3.0, 25.0, 61.0]
    assert skipped_names(data) == ["130_0_0_1.jpg", "40.jpg", "abc_0_0_1.jpg"]
    warned = " ".join(str(w.message) for w in record)
    assert all(name in warned for name in skipped_names(data))
    row = data.metadata.iloc[list(data.y).index(3.0)]
    assert (row.gender, row.race) == ("female", "other")
    assert "skipped" in data.DESCR


def test_fgnet_subjects_and_suffixes(tmp_path):
    for name in ["001A02.JPG", "001A43a.JPG", "082A10.jpg", "notes.jpg"]:
        jpeg(tmp_path / "images" / name)
    (tmp_path / "images" / "001A02.pts").write_text("landmarks, not an image")
    with pytest.warns(SkippedFileWarning, match="notes.jpg"):
        data = load_fgnet(tmp_path)
    got = sorted(zip(data.metadata.subject_id, data.y))
    assert got == [(1, 2.0), (1, 43.0), (82, 10.0)]
    assert skipped_names(data) == ["notes.jpg"]


def test_afad_tree(tmp_path):
    jpeg(tmp_path / "15" / "111" / "a.jpg")
    jpeg(tmp_path / "72" / "112" / "b.jpg")
    jpeg(tmp_path / "30" / "113" / "c.jpg")
    jpeg(tmp_path / "old" / "111" / "d.jpg")
    with pytest.warns(SkippedFileWarning):
        data = load_afad(tmp_path)
    assert sorted(zip(data.y, data.metadata.gender)) == [(15.0, "male"), (72.0, "female")]
    assert skipped_names(data) == ["c.jpg", "d.jpg"]
    assert data.metadata.subject_id.isna().all()


def test_morph_from_names_and_csv(tmp_path):
    jpeg(tmp_path / "Album2" / "003274_00M17.JPG")
    jpeg(tmp_path / "Album2" / "003274_01M21.JPG")
    jpeg(tmp_path / "Album2" / "104440_00F45.JPG")
    data = load_morph(tmp_path)
    assert sorted(zip(data.metadata.subject_id, data.y, data.metadata.gender)) == [
        (3274, 17.0, "male"), (3274, 21.0, "male"), (104440, 45.0, "female")]

    pd.DataFrame({
        "id_num": [3274, 3274, 104440, 5],
        "gender": ["M", "M", "F", "M"],
        "race": ["B", "B", "W", "H"],
        "age": [17, 21, 45, 30],
        "photo": ["Album2/003274_00M17.JPG", "Album2/003274_01M21.JPG", "Album2/104440_00F45.JPG",
                  "Album2/000005_00M30.JPG"],
    }).to_csv(tmp_path / "morph.csv", index=False)
    with pytest.warns(SkippedFileWarning, match="000005_00M30.JPG.*file not found"):
        data = load_morph(tmp_path, "morph.csv")
    assert data.y.tolist() == [17.0, 21.0, 45.0]
    assert data.metadata.race.tolist() == ["black", "black", "white"]
    assert data.metadata.subject_id.tolist() == [3274, 3274, 104440]


def test_folder_csv_accepts_column_aliases_and_reports_bad_rows(tmp_path):
    for name in ["a.png", "b.jpg", "c.jpg"]:
        jpeg(tmp_path / "imgs" / name)
    pd.DataFrame({
        "FileName": ["a.png", "b.jpg", "c.jpg", "missing.jpg", ""],
        "Age": [7, "forty", 200, 30, 5],
        "sex": ["F", "M", "M", "F", "M"],
        "site": ["x", "y", "z", "w", "v"],
    }).to_csv(tmp_path / "labels.csv", index=False)
    with pytest.warns(SkippedFileWarning) as record:
        data = load_folder(tmp_path / "imgs", tmp_path / "labels.csv")
    assert len(record) == 4
    assert data.y.tolist() == [7.0]
    assert data.X[0].endswith("a.png")
    assert data.metadata.loc[0, "gender"] == "female" and data.metadata.loc[0, "site"] == "x"
    reasons = dict((f.replace("\\", "/").split("/")[-1], r) for f, r in data.skipped)
    assert "not a number" in reasons["b.jpg"]
    assert "outside" in reasons["c.jpg"]
    assert "file not found" in reasons["missing.jpg"]


def test_folder_csv_without_age_column_names_the_alternatives(tmp_path):
    jpeg(tmp_path / "a.jpg")
    pd.DataFrame({"file": ["a.jpg"], "years": [3]}).to_csv(tmp_path / "labels.csv", index=False)
    with pytest.raises(ValueError, match="no age column.*real_age"):
        load_folder(tmp_path, "labels.csv")


def test_imdb_clean_subjects_and_boxes(tmp_path):
    jpeg(tmp_path / "00" / "nm0000100_rm46373120_1955-1-6_2003.jpg")
    jpeg(tmp_path / "01" / "nm0000101_rm1_1960-2-2_2000.jpg")
    pd.DataFrame({
        "filename": ["00/nm0000100_rm46373120_1955-1-6_2003.jpg", "01/nm0000101_rm1_1960-2-2_2000.jpg"],
        "age": [48, 40], "gender": ["M", "F"],
        "x_min": [1, 2], "y_min": [3, 4], "x_max": [5, 6], "y_max": [7, 8],
    }).to_csv(tmp_path / "imdb_valid_new_1024.csv", index=False)
    data = load_imdb_clean(tmp_path, "imdb_valid_new_1024.csv")
    assert data.metadata.subject_id.tolist() == ["nm0000100", "nm0000101"]
    assert data.metadata.gender.tolist() == ["male", "female"]
    assert data.metadata.x_max.tolist() == [5, 6]
    assert data.y.tolist() == [48.0, 40.0]


def test_missing_and_empty_folders_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_utkface(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no image files.*empty"):
        load_fgnet(tmp_path / "empty")
    jpeg(tmp_path / "bad" / "x.jpg")
    with pytest.warns(SkippedFileWarning), pytest.raises(ValueError, match="none of the 1 entries"):
        load_utkface(tmp_path / "bad")
    with pytest.raises(FileNotFoundError, match="no_such.csv"):
        load_folder(tmp_path / "bad", "no_such.csv")


def test_dataset_specs(tmp_path):
    assert parse_dataset_spec("imdb-clean:/data/imdb:train.csv") == ("imdb-clean", "/data/imdb", "train.csv")
    assert parse_dataset_spec("UTKFace:faces") == ("utkface", "faces", None)
    with pytest.raises(ValueError, match="unknown dataset kind 'lfw'.*utkface, fgnet"):
        load_dataset("lfw:/data")
    with pytest.raises(ValueError, match="KIND:PATH"):
        load_dataset("just_a_path")
    with pytest.raises(FileNotFoundError, match="no_dir"):
        load_dataset(f"fgnet:{tmp_path / 'no_dir'}")
    with pytest.raises(ValueError, match="needs a label CSV"):
        load_dataset(f"folder:{tmp_path}")
    with pytest.raises(ValueError, match="file names"):
        load_dataset(f"utkface:{tmp_path}:labels.csv")


def test_written_synthetic_faces_load_as_utkface(tmp_path):
    paths = write_synthetic_faces(tmp_path / "synth", n_samples=6, image_size=32, random_state=3)
    data = load_dataset(f"utkface:{tmp_path / 'synth'}")
    assert sorted(data.X) == sorted(paths)
    assert data.skipped == []
    by_name = dict(zip(data.X, data.y))
    ages = [float(p.replace("\\", "/").split("/")[-1].split("_")[0]) for p in paths]
    assert [by_name[p] for p in paths] == ages
    assert set(data.metadata.gender) <= {"male", "female"}


@pytest.mark.parametrize("content, message", [
    (b"", "is empty"),
    (b"file,age\nin.jpg,30\n\xe9t\xe9.jpg,40\n", r"is not UTF-8 text \(it holds the byte 0xe9\); save it as UTF-8"),
])
def test_an_empty_or_non_utf8_label_csv_is_named(tmp_path, content, message):
    (tmp_path / "labels.csv").write_bytes(content)
    with pytest.raises(ValueError, match=f"label CSV {tmp_path / 'labels.csv'} {message}"):
        load_folder(tmp_path, "labels.csv")
