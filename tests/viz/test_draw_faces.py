"""draw_faces: a photo with its faces boxed and aged, downsized, EXIF rotation as predict_faces saw it."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from skage.io import ImageReadError, read_image
from skage.viz import draw_faces

GRAY = 90


def rows(*boxes, **columns):
    return pd.DataFrame({"face": range(len(boxes)), "box": list(boxes), "age": [31.4] * len(boxes),
                         "flag": ["ok"] * len(boxes), **columns})


def changed(picture, x, y, photo_value=GRAY):
    return np.abs(np.asarray(picture, dtype=int)[y, x] - photo_value).sum() > 100


def test_a_large_photo_is_downsized_and_its_boxes_follow(tmp_path):
    path = tmp_path / "big.jpg"
    Image.fromarray(np.full((2000, 3000, 3), GRAY, np.uint8)).save(path)
    out = tmp_path / "drawn.jpg"
    picture = draw_faces(path, rows("600,400,1200,1000", "1800,300,2400,900"), out, max_side=1000)
    assert picture.size == (1000, 667) and Image.open(out).size == (1000, 667)
    assert changed(picture, 200, 233) and changed(picture, 600, 200)  # left edges, at a third of the scale
    assert not changed(picture, 300, 233)  # inside the first box: the face is left as it is


def test_boxes_land_where_they_are_on_the_exif_rotated_photo(tmp_path):
    path = tmp_path / "phone.jpg"
    raw = Image.fromarray(np.full((200, 400, 3), GRAY, np.uint8))  # stored landscape, shown portrait
    exif = Image.Exif()
    exif[0x0112] = 6
    raw.save(path, exif=exif)
    assert read_image(path).shape == (400, 200, 3)  # what predict_faces finds the boxes in
    picture = draw_faces(path, rows("40,250,160,370"))
    assert picture.size == (200, 400)
    assert changed(picture, 40, 310) and changed(picture, 159, 310) and not changed(picture, 100, 310)


def test_a_photo_without_a_face_says_so_and_unreadable_ones_raise(tmp_path):
    photo = np.full((200, 300, 3), GRAY, np.uint8)
    blank = pd.DataFrame({"face": [pd.NA], "box": [""], "age": [np.nan], "flag": ["no_face"]})
    picture = draw_faces(photo, blank)
    assert changed(picture, 2, 2) and not changed(picture, 290, 190)  # the note, top left
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 40)
    with pytest.raises(ImageReadError, match="broken.jpg"):
        draw_faces(tmp_path / "broken.jpg", blank)


def test_an_interval_widens_the_label():
    photo = np.full((300, 400, 3), GRAY, np.uint8)
    plain = np.asarray(draw_faces(photo, rows("100,150,220,270")), dtype=int)
    ranged = np.asarray(draw_faces(photo, rows("100,150,220,270", age_low=[26.0], age_high=[37.0])), dtype=int)
    label_width = [int((np.abs(p[140, :] - GRAY).sum(axis=1) > 100).sum()) for p in (plain, ranged)]
    assert label_width[1] > label_width[0] > 0
