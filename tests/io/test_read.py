import numpy as np
import pytest
from PIL import Image

from skage.io import ImageReadError, read_image, read_images


def test_paths_of_every_common_mode_become_uint8_rgb(tmp_path):
    rgb = (np.arange(12 * 10 * 3) % 256).astype(np.uint8).reshape(12, 10, 3)
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(rgb[:, :, 0]).save(tmp_path / "gray.png")
    Image.fromarray(np.dstack([rgb, np.full((12, 10), 128, np.uint8)])).save(tmp_path / "rgba.png")
    Image.fromarray(np.full((12, 10), 65535, np.uint16)).save(tmp_path / "deep.png")
    Image.fromarray(rgb).convert("P").save(tmp_path / "palette.gif")
    for name in ["rgb.png", "gray.png", "rgba.png", "deep.png", "palette.gif"]:
        out = read_image(tmp_path / name)
        assert out.dtype == np.uint8 and out.shape == (12, 10, 3), name
    np.testing.assert_array_equal(read_image(tmp_path / "rgb.png"), rgb)
    np.testing.assert_array_equal(read_image(tmp_path / "rgba.png"), rgb)
    assert read_image(tmp_path / "deep.png").min() == 255  # 16-bit white stays white


def test_exif_rotation_is_applied(tmp_path):
    img = Image.fromarray(np.zeros((10, 20, 3), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise on display
    img.save(tmp_path / "rot.jpg", exif=exif)
    assert read_image(tmp_path / "rot.jpg").shape == (20, 10, 3)


def test_arrays_of_other_depths():
    assert read_image(np.ones((3, 4), np.float32)).max() == 255
    assert read_image(np.full((3, 4, 1), 7, np.uint8)).shape == (3, 4, 3)
    assert read_image(np.full((3, 4, 4), 9, np.uint8))[0, 0].tolist() == [9, 9, 9]


def test_corrupt_missing_and_non_image_files_name_the_file(tmp_path):
    (tmp_path / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    (tmp_path / "notes.txt").write_text("hello")
    for name in ["broken.jpg", "notes.txt", "missing.png"]:
        with pytest.raises(ImageReadError, match=name):
            read_image(tmp_path / name)
    with pytest.raises(ImageReadError, match="shape"):
        read_image(np.zeros((3, 4, 5), np.uint8))


def test_batch_keeps_one_slot_per_input_in_order(tmp_path):
    Image.fromarray(np.full((5, 5, 3), 1, np.uint8)).save(tmp_path / "a.png")
    (tmp_path / "b.png").write_text("nope")
    X = [str(tmp_path / "a.png"), str(tmp_path / "b.png"), np.full((6, 6), 3, np.uint8)]
    out = read_images(X, errors="return")
    assert len(out) == 3
    assert isinstance(out[1], ImageReadError) and "b.png" in str(out[1])
    assert out[2].shape == (6, 6, 3)
    with pytest.raises(ImageReadError, match="b.png"):
        read_images(X)
    batch = read_images(np.zeros((20, 8, 8, 3), np.uint8), n_jobs=2)
    assert len(batch) == 20


def test_numpy_string_arrays_of_paths_are_accepted(tmp_path):
    Image.fromarray(np.full((5, 5, 3), 1, np.uint8)).save(tmp_path / "a.png")
    assert read_images(np.array([str(tmp_path / "a.png")]))[0].shape == (5, 5, 3)


def test_read_error_pickles_with_its_file_name():
    import pickle

    err = pickle.loads(pickle.dumps(ImageReadError("x.jpg", "broken")))
    assert err.source == "x.jpg" and "x.jpg" in str(err)


def test_oversized_image_is_a_read_error_naming_the_file(tmp_path, monkeypatch):
    """PIL refuses images far above MAX_IMAGE_PIXELS (decompression bombs): one error, not a crash."""
    path = tmp_path / "huge.png"
    Image.fromarray(np.zeros((100, 100, 3), np.uint8)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 10,000 px is then more than twice the limit
    with pytest.raises(ImageReadError, match="huge.png: image too large"):
        read_image(path)


def test_an_image_array_is_not_read_as_a_batch():
    from skage.io import as_image_list

    for image in (np.zeros((20, 30, 3)), np.zeros((20, 30, 4)), np.zeros((20, 30, 1)), np.zeros((20, 30))):
        with pytest.raises(ValueError, match=r"of one image.*pass \[image\] or image\[None\]"):
            as_image_list(image)
        assert len(as_image_list([image])) == len(as_image_list(image[None])) == 1
    assert len(as_image_list(np.zeros((5, 20, 30)))) == 5  # a batch of gray images
    assert len(as_image_list(np.zeros((2, 20, 30, 7)))) == 2  # chips with mask channels
    assert as_image_list([]) == as_image_list(np.empty(0)) == as_image_list(np.empty((0, 8, 8, 3))) == []


def test_a_fifo_is_not_a_regular_file_and_is_never_opened(tmp_path):
    import os
    import threading

    fifo = tmp_path / "photo.jpg"
    os.mkfifo(fifo)
    result = {}

    def read():
        try:
            read_image(fifo)
        except ImageReadError as exc:
            result["error"] = exc

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(10)
    if reader.is_alive():  # blocked opening the FIFO: a writer end releases it
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        reader.join(10)
        pytest.fail("read_image blocked on a FIFO")
    assert result["error"].source == str(fifo) and result["error"].reason == "not a regular file"


@pytest.mark.parametrize("X", [None, 5])
def test_no_images_at_all_is_a_type_error_naming_x(X):
    from skage.io import as_image_list

    with pytest.raises(TypeError, match=f"X must be a sequence of images or paths .*got {type(X).__name__}"):
        as_image_list(X)


def _blank_png(path, side):
    """A valid 1-bit PNG of ``side`` x ``side`` white pixels, written row by row (a few KB on disk)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    squeeze = zlib.compressobj(9)
    row = b"\x00" + b"\xff" * ((side + 7) // 8)
    data = b"".join(squeeze.compress(row) for _ in range(side)) + squeeze.flush()
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b""))


def test_png_over_the_pixel_cap_is_refused_from_its_header(tmp_path):
    import time

    from skage.io._read import LazyImage

    path = tmp_path / "blank.png"
    _blank_png(path, 10_000)  # 100 MP declared: the old reader spent minutes and 12 GB on it, or crashed
    start = time.perf_counter()
    with pytest.raises(ImageReadError, match=r"blank\.png: image too large: 10000x10000"):
        read_image(path)
    with pytest.raises(ImageReadError, match="image too large"):
        LazyImage(path).read()
    assert time.perf_counter() - start < 2  # refused before a pixel is decoded


def test_a_jpeg_over_the_pixel_cap_is_decoded_reduced(tmp_path, monkeypatch):
    from skage.io import _read

    Image.fromarray(np.full((300, 400, 3), 200, np.uint8)).save(tmp_path / "big.jpg")
    monkeypatch.setattr(_read, "MAX_PIXELS", 40_000)
    assert read_image(tmp_path / "big.jpg").shape == (150, 200, 3)  # DCT-scaled by 1/2 to fit 40,000 px
    Image.fromarray(np.full((300, 400, 3), 200, np.uint8)).save(tmp_path / "big.png")
    with pytest.raises(ImageReadError, match="big.png: image too large: 400x300"):
        read_image(tmp_path / "big.png")


def test_lazy_image_reads_the_size_from_the_header_and_decodes_reduced(tmp_path):
    from skage.io._read import LazyImage

    img = Image.fromarray((np.arange(1200 * 1600 * 3) % 251).astype(np.uint8).reshape(1200, 1600, 3))
    exif = Image.Exif()
    exif[0x0112] = 6  # shown rotated by 90 degrees
    img.save(tmp_path / "photo.jpg", exif=exif)
    lazy = LazyImage(tmp_path / "photo.jpg")
    assert lazy.size == (1200, 1600)
    assert lazy.fit(100).shape == (100, 75, 3)
    assert lazy.read(4).shape == (400, 300, 3)  # JPEG DCT scaling by 1/4: never decoded whole
    assert lazy.read().shape == (1600, 1200, 3)
    with pytest.raises(ImageReadError, match="missing.jpg: file not found"):
        LazyImage(tmp_path / "missing.jpg")
