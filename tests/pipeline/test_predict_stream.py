"""predict_faces and iter_predict_faces: rows as photos finish, one row per photo whatever fails, --jobs."""

import os

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.pipeline import Pipeline

from skage.alignment import AlignmentResult, FaceAligner
from skage.io import read_image
from skage.pipeline import iter_predict_faces, predict_faces


class StubAligner(FaceAligner):
    """Finds one face per photo (two where the name says "two", none where "blank"), the whole photo split
    in columns; fails as the name says: "bad_alloc" (MemoryError, dlib's std::bad_alloc), "detector"
    (RuntimeError), "dies" (the process ends: a worker killed for lack of memory), "ctrl_c" (KeyboardInterrupt)."""

    def align_faces(self, image, source=None):
        name = str(source)
        if "bad_alloc" in name:
            raise MemoryError("std::bad_alloc")
        if "detector" in name:
            raise RuntimeError("Error detected in file dlib/image_processing/scan_fhog_pyramid.h")
        if "dies" in name:
            os._exit(1)
        if "ctrl_c" in name:
            raise KeyboardInterrupt
        rgb = read_image(image, source=name)
        if "blank" in name:
            return AlignmentResult(chips=np.zeros((1, 16, 16, 3), np.uint8), boxes=np.full((1, 4), np.nan),
                                   detected_by=np.array([""]), flags=np.array(["no_face"]),
                                   errors=np.array([f"{name}: no face found"]))
        n = 2 if "two" in name else 1
        width = rgb.shape[1] // n
        chips = np.stack([np.asarray(Image.fromarray(rgb[:, k * width:(k + 1) * width]).resize((16, 16)))
                          for k in range(n)])
        return AlignmentResult(
            chips=chips, boxes=np.array([[k * width, 0, (k + 1) * width - 1, rgb.shape[0] - 1] for k in range(n)],
                                        dtype=np.float32),
            detected_by=np.full(n, "stub"), flags=np.full(n, "ok"), errors=np.full(n, ""))


class MeanPixel(RegressorMixin, BaseEstimator):
    """The "age" of a chip is its mean pixel value: each photo's rows can be told apart."""

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        return np.asarray(X, dtype=float).reshape(len(X), -1).mean(axis=1)


def stub_model():
    return Pipeline([("align", StubAligner()), ("model", MeanPixel().fit(None))])


def photo(path, value, size=(60, 80)):
    Image.fromarray(np.full((*size, 3), value, np.uint8)).save(path)
    return str(path)


@pytest.fixture
def batch(tmp_path):
    """Photos of distinct grey levels, one unreadable, two whose detection fails."""
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)
    return [photo(tmp_path / "a.png", 10), str(tmp_path / "broken.jpg"), photo(tmp_path / "bad_alloc.png", 20),
            photo(tmp_path / "two.png", 30), photo(tmp_path / "detector.png", 40), photo(tmp_path / "b.png", 50)]


def test_every_photo_keeps_its_row_whatever_fails(batch):
    table = predict_faces(stub_model(), batch, batch_size=2)
    assert [os.path.basename(p) for p in table["input"]] == ["a.png", "broken.jpg", "bad_alloc.png", "two.png",
                                                             "two.png", "detector.png", "b.png"]
    assert table["flag"].tolist() == ["ok", "unreadable", "error", "ok", "ok", "error", "ok"]
    assert table["error"][2] == "MemoryError: std::bad_alloc"
    assert table["error"][5].startswith("RuntimeError: Error detected") and "not a readable image" in table["error"][1]
    assert table["age"].tolist()[::3] == [10.0, 30.0, 50.0] and table["age"][4] == 30.0
    assert table["age"].isna().tolist() == [False, True, True, False, False, True, False]
    assert table["face"].tolist()[3:5] == [0, 1] and table.index.tolist() == list(range(7))


def test_a_photo_without_a_face_keeps_its_flagged_row(tmp_path):
    table = predict_faces(stub_model(), [photo(tmp_path / "blank.png", 10), photo(tmp_path / "a.png", 20)])
    assert table["flag"].tolist() == ["no_face", "ok"] and table["face"].isna().tolist() == [True, False]
    assert table["box"][0] == "" and table["error"][0].endswith("no face found") and table["age"][1] == 20.0


def test_ctrl_c_is_never_an_error_row(tmp_path):
    with pytest.raises(KeyboardInterrupt):
        predict_faces(stub_model(), [photo(tmp_path / "a.png", 10), photo(tmp_path / "ctrl_c.png", 20)])


def test_rows_come_before_the_last_photo_is_read(tmp_path):
    paths = [photo(tmp_path / f"{i}.png", 10 * i) for i in range(4)]
    events = []

    def inputs():
        for path in paths:
            events.append(f"read {os.path.basename(path)}")
            yield path

    for table in iter_predict_faces(stub_model(), inputs(), batch_size=1):
        events.append(f"rows {table.index.tolist()}")
    assert events == ["read 0.png", "rows [0]", "read 1.png", "rows [1]", "read 2.png", "rows [2]",
                      "read 3.png", "rows [3]"]


def test_tables_hold_whole_photos_indexed_by_input(batch):
    tables = list(iter_predict_faces(stub_model(), batch, batch_size=2))
    assert [t.index.tolist() for t in tables] == [[0, 1], [2, 3, 3], [4, 5]]  # two.png's faces stay together
    pd.testing.assert_frame_equal(pd.concat(tables, ignore_index=True), predict_faces(stub_model(), batch))


def test_two_processes_give_the_same_table(batch):
    pd.testing.assert_frame_equal(predict_faces(stub_model(), batch, n_jobs=2, batch_size=2),
                                  predict_faces(stub_model(), batch, batch_size=2))


@pytest.mark.slow  # about 20 s: the pool of worker processes starts three times
def test_a_photo_that_kills_its_worker_gets_an_error_row(batch, tmp_path):
    inputs = [*batch[:3], photo(tmp_path / "dies.png", 60), *batch[3:]]
    table = predict_faces(stub_model(), inputs, n_jobs=2)
    assert table["flag"].tolist() == ["ok", "unreadable", "error", "error", "ok", "ok", "error", "ok"]
    assert "worker process reading it died" in table["error"][3]
    assert table["age"].tolist()[::4] == [10.0, 30.0]


@pytest.mark.parametrize("n_jobs", [0, -2, 1.5, True])
def test_bad_n_jobs_is_refused(n_jobs):
    with pytest.raises(ValueError, match="n_jobs must be"):
        predict_faces(stub_model(), [], n_jobs=n_jobs)
