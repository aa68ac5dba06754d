"""FaceAligner on real UTKFace chips and on every kind of bad input."""

import pickle

import numpy as np
import pytest
from joblib import Memory
from PIL import Image
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from skage.alignment import FaceAligner, FaceNotFoundError, blank_chips, target_eyes
from skage.alignment import _aligner
from skage.alignment._aligner import fit_landmarks
from skage.alignment._geometry import eye_centres
from skage.alignment._template import box_from_landmarks
from skage.io import ImageReadError

SIZE = 160


def _spread(folder, n):
    """``n`` files spread evenly over the folder (names start with the age).

    Over the chips of the old dev set where ``crop_part1_dev.txt`` lists them, so that these tests keep
    the faces they were written for (the folder grew from 6,419 to 15,452 chips on 2026-12-02).
    """
    paths = sorted(folder.glob("*.jpg"))
    listed = folder.parent / "crop_part1_dev.txt"
    if listed.exists():
        names = set(listed.read_text().split())
        paths = [p for p in paths if p.name in names]
    return [paths[i] for i in np.linspace(0, len(paths) - 1, n).astype(int)]


@pytest.fixture(scope="module")
def aligned(utkface_dir):
    paths = _spread(utkface_dir, 300)
    # serial: on 2 shared cores, starting joblib workers (each loads the 95 MB
    # landmark model) costs more than it saves for 300 chips; see test_parallel_*
    aligner = FaceAligner(output_size=SIZE).fit()
    return paths, aligner, aligner.align(paths)


@pytest.fixture(scope="module")
def chip_paths(utkface_dir):
    return _spread(utkface_dir, 6)


def test_detection_rate_on_utkface(aligned, record_property):
    paths, aligner, result = aligned
    rate = float(np.mean(result.flags == "ok"))
    record_property("utkface_detection_rate", rate)
    print(f"\nUTKFace detection rate: {rate:.3f} on {len(paths)} chips (HOG, upsample=0)")
    assert rate > 0.95
    assert result.chips.shape == (len(paths), SIZE, SIZE, 3) and result.chips.dtype == np.uint8
    assert result.landmarks.shape == (len(paths), 68, 2)
    assert list(result.sources) == [str(p) for p in paths]
    # failures are kept, flagged, explained and have no landmarks
    failed = result.failed
    assert set(result.flags[failed]) <= {"no_face"}
    assert np.isnan(result.landmarks[failed]).all() and np.isfinite(result.landmarks[~failed]).all()
    assert all(str(p) in e for p, e in zip(np.array(paths)[failed], result.errors[failed]))
    assert result.without_chips().chips is None and len(result) == len(paths)
    assert not hasattr(aligner, "last_result_")  # per-batch results are returned, never stored


def test_eye_centres_land_on_targets(aligned):
    _, aligner, result = aligned
    ok = np.flatnonzero(~result.failed)
    targets = target_eyes(SIZE, 0.1)  # margin=None is 0.1 for the eyes geometry
    np.testing.assert_allclose(aligner.target_eyes_, targets)
    # the reported landmarks put the eyes exactly on target (that is how the warp is built) ...
    reported = eye_centres(result.landmarks[ok])
    np.testing.assert_allclose(reported, np.broadcast_to(targets, reported.shape), atol=1e-3)
    # ... and landmarks fitted afresh on the chips' pixels find them there too
    errors = []
    for i in ok[::3]:
        fresh = fit_landmarks(result.chips[i], box_from_landmarks(result.landmarks[i]), 68)
        errors.append(np.linalg.norm(eye_centres(fresh) - targets, axis=1).max())
    errors = np.array(errors)
    inter_ocular = targets[1, 0] - targets[0, 0]
    median, p95 = np.median(errors), np.percentile(errors, 95)
    print(f"\neye error px: median {median:.2f}, 95% {p95:.2f} (inter-ocular {inter_ocular:.0f} px)")
    assert median < 1.5 and p95 < 3.0
    assert abs(targets[0, 1] - targets[1, 1]) < 1e-9  # eyes level


def test_detector_none_and_five_points_on_crops(chip_paths):
    crops = FaceAligner(detector="none", output_size=SIZE).fit().align(chip_paths)
    hog = FaceAligner(output_size=SIZE).fit().align(chip_paths)
    both = ~crops.failed & ~hog.failed
    assert crops.flags.tolist() == ["ok"] * len(chip_paths)
    # no detector, same face: landmark fits agree within a few pixels
    assert np.abs(crops.landmarks[both] - hog.landmarks[both]).mean() < 3.0
    five = FaceAligner(landmarks=5, output_size=SIZE).fit()
    result = five.align(chip_paths)
    assert result.landmarks.shape == (len(chip_paths), 5, 2)
    eye_y = eye_centres(result.landmarks[~result.failed])[:, :, 1]
    np.testing.assert_allclose(eye_y, five.target_eyes_[0, 1], atol=1e-3)


def test_cnn_detector(chip_paths):
    result = FaceAligner(detector="cnn", output_size=64).fit().align(chip_paths[:1])
    assert result.flags.tolist() == ["ok"] and result.n_faces[0] == 1
    assert np.isfinite(result.scores[0])


@pytest.fixture(scope="module")
def odd_inputs(tmp_path_factory, utkface_dir):
    """Every awkward input, made at run time from real chips (nothing saved in the repo)."""
    folder = tmp_path_factory.mktemp("odd")
    a, b = (np.asarray(Image.open(p).convert("RGB")) for p in _spread(utkface_dir, 3)[1:])
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0 this is not a jpeg")
    Image.fromarray(a).convert("L").save(folder / "gray.png")
    rgba = np.dstack([a, np.full(a.shape[:2], 200, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(folder / "rgba.png")
    Image.fromarray(a).resize((16, 16)).save(folder / "tiny.png")
    smooth = np.linspace(0, 255, 200, dtype=np.uint8)
    Image.fromarray(np.dstack([np.tile(smooth, (200, 1))] * 3)).save(folder / "no_face.png")
    # two real faces: a larger one on the right
    canvas = np.full((260, 480, 3), 127, np.uint8)
    canvas[70:230, 10:170] = np.asarray(Image.fromarray(b).resize((160, 160)))
    canvas[20:260, 220:460] = np.asarray(Image.fromarray(a).resize((240, 240)))
    Image.fromarray(canvas).save(folder / "two_faces.png")
    names = ["corrupt.jpg", "gray.png", "rgba.png", "tiny.png", "no_face.png", "two_faces.png", "missing.jpg"]
    return {n.split(".")[0]: folder / n for n in names}


def test_awkward_inputs_give_documented_flags(odd_inputs):
    order = ["corrupt", "gray", "rgba", "tiny", "no_face", "two_faces", "missing"]
    paths = [odd_inputs[k] for k in order]
    result = FaceAligner(output_size=64).fit().align(paths)
    assert result.flags.tolist() == ["unreadable", "ok", "ok", "too_small", "no_face", "ok", "unreadable"]
    assert result.chips.shape == (7, 64, 64, 3)
    assert not result.chips[0].any() and not result.chips[6].any()  # unreadable: black chip
    assert not result.chips[3].any() and not result.chips[4].any()  # no usable face: black chip, no age
    assert "corrupt.jpg" in result.errors[0] and "file not found" in result.errors[6]
    assert result.errors[1] == "" and result.n_faces[5] == 2
    frame = result.to_frame()
    assert frame["flag"].tolist() == result.flags.tolist() and frame["source"][0] == str(paths[0])


def test_images_without_a_face_get_blank_chips_unless_a_centre_crop_is_asked_for():
    # #24: a 1x1 and a 10x10 image, a green square and noise used to get centre crops, and ages 44-55
    rng = np.random.default_rng(0)
    green = np.zeros((200, 200, 3), np.uint8)
    green[..., 1] = 200
    images = [np.full((1, 1, 3), 128, np.uint8), np.full((10, 10, 3), 128, np.uint8), green,
              rng.integers(0, 256, (200, 200, 3), dtype=np.uint8)]
    blank = FaceAligner(output_size=64).fit().align(images)
    assert blank.flags.tolist() == ["too_small", "too_small", "no_face", "no_face"]
    assert blank_chips(blank.chips).all() and np.isnan(blank.transforms).all()
    assert blank.errors[2] == "array[2]: no face found"
    faces = FaceAligner(output_size=64).fit().align_faces(green, source="green.png")
    assert faces.flags.tolist() == ["no_face"] and blank_chips(faces.chips).all()
    assert "green.png: no face found" == faces.errors[0]
    centre = FaceAligner(output_size=64, on_failure="center").fit().align(images)
    assert centre.flags.tolist() == blank.flags.tolist() and not blank_chips(centre.chips).any()
    assert centre.errors[2].endswith("centre crop used")


def test_two_faces_largest_or_most_confident(odd_inputs):
    path = [odd_inputs["two_faces"]]
    largest = FaceAligner(output_size=64, select="largest").fit().align(path)
    assert largest.n_faces[0] == 2
    left, _, right, _ = largest.boxes[0]
    assert (left + right) / 2 > 240  # the larger face sits on the right half
    confident = FaceAligner(output_size=64, select="confident", detection_threshold=-0.5).fit().align(path)
    from skage.alignment._models import get_detector

    image = np.asarray(Image.open(path[0]).convert("L"))  # HOG searches the luma copy
    _, scores, _ = get_detector("hog").run(image, 0, -0.5)
    assert confident.scores[0] == pytest.approx(max(scores), rel=1e-5)


@pytest.mark.parametrize(
    "name, error",
    [
        ("corrupt", ImageReadError), ("missing", ImageReadError),
        ("tiny", FaceNotFoundError), ("no_face", FaceNotFoundError),
    ],
)
def test_on_failure_raise_names_the_file(odd_inputs, name, error):
    aligner = FaceAligner(output_size=64, on_failure="raise").fit()
    with pytest.raises(error, match=odd_inputs[name].name):
        aligner.transform([odd_inputs[name]])


def test_arrays_keep_order_and_count():
    rng = np.random.default_rng(1)
    X = [rng.integers(0, 255, (50, 60, 3), dtype=np.uint8), np.zeros((8, 8)), np.zeros((5, 5, 2))]
    result = FaceAligner(output_size=32).fit().align(X)
    assert result.flags.tolist() == ["no_face", "too_small", "unreadable"]
    assert result.sources.tolist() == ["array[0]", "array[1]", "array[2]"]
    assert "array[2]" in result.errors[2]


@pytest.mark.parametrize(
    "params",
    [{"detector": "mtcnn"}, {"landmarks": 12}, {"output_size": 0}, {"select": "first"}, {"on_failure": "skip"},
     {"upsample": -1}, {"memory": "/tmp/x", "cache_dir": "/tmp/y"}],
)
def test_bad_parameters_are_named(params):
    with pytest.raises(ValueError, match=next(iter(params)) if "memory" not in params else "memory"):
        FaceAligner(**params).fit()


def test_pipeline_clone_params_pickle(chip_paths):
    pipe = Pipeline([("align", FaceAligner(output_size=48))])
    params = pipe.get_params()
    assert params["align__output_size"] == 48 and params["align__select"] == "largest"
    pipe.set_params(align__output_size=40, align__margin=0.2)
    chips = pipe.fit_transform(chip_paths[:2])
    assert chips.shape == (2, 40, 40, 3)
    cloned = clone(pipe)
    assert cloned.get_params()["align__margin"] == 0.2 and not hasattr(cloned[0], "target_eyes_")
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.transform(chip_paths[:2]), chips)


@pytest.mark.parametrize("as_memory", [lambda d: Memory(d, verbose=0), lambda d: d], ids=["Memory", "path"])
def test_memory_cache_skips_realignment(chip_paths, tmp_path, monkeypatch, as_memory):
    aligner = FaceAligner(output_size=32, memory=as_memory(tmp_path)).fit()
    first = aligner.transform(chip_paths[:2])

    def boom(*args, **kwargs):
        raise AssertionError("aligned again despite the cache")

    monkeypatch.setattr(_aligner, "_align_chunk", boom)
    np.testing.assert_array_equal(aligner.transform(chip_paths[:2]), first)
    assert aligner.align(chip_paths[:2]).flags.tolist() == ["ok", "ok"]


def test_cache_dir_returns_memmap_and_is_keyed(chip_paths, tmp_path, monkeypatch):
    aligner = FaceAligner(output_size=32, cache_dir=tmp_path).fit()
    first = aligner.transform(chip_paths[:3])
    assert isinstance(first, np.memmap) and not first.flags.writeable
    assert len(list(tmp_path.glob("*.npy"))) == 1 and not list(tmp_path.glob("*.tmp*"))
    real_chunk = _aligner._align_chunk
    monkeypatch.setattr(_aligner, "_align_chunk", lambda *a: pytest.fail("cache miss"))
    again = FaceAligner(output_size=32, cache_dir=tmp_path).fit()
    np.testing.assert_array_equal(again.transform(chip_paths[:3]), first)
    np.testing.assert_array_equal(again.align(chip_paths[:3]).landmarks, aligner.align(chip_paths[:3]).landmarks)
    monkeypatch.setattr(_aligner, "_align_chunk", real_chunk)
    # another parameter or another input set is another entry
    FaceAligner(output_size=32, margin=0.3, cache_dir=tmp_path).fit().transform(chip_paths[:3])
    FaceAligner(output_size=32, cache_dir=tmp_path).fit().transform(chip_paths[:2])
    assert len(list(tmp_path.glob("*.npy"))) == 3


def test_parallel_matches_serial_in_order(aligned):
    paths, _, serial = aligned
    subset = paths[:40] + ["/nonexistent/face.jpg"]  # two worker chunks, one unreadable input at the end
    parallel = FaceAligner(output_size=SIZE, n_jobs=2).fit().align(subset)
    np.testing.assert_array_equal(parallel.chips[:40], serial.chips[:40])
    np.testing.assert_array_equal(parallel.flags[:40], serial.flags[:40])
    assert parallel.sources[-1] == "/nonexistent/face.jpg" and parallel.flags[-1] == "unreadable"
    # errors are raised in the parent, so they arrive intact from the workers
    with pytest.raises(ImageReadError, match="/nonexistent/face.jpg"):
        FaceAligner(output_size=SIZE, n_jobs=2, on_failure="raise").fit().transform(subset)


def test_threads_align_as_one_does(aligned):
    # dlib's detectors keep scratch buffers in the object: two threads sharing one crashed the process
    # (a segmentation fault) under joblib's threading backend; each thread now loads its own
    import joblib

    paths, _, serial = aligned
    subset = paths[:128]  # four chunks: both threads detect at once for most of the run
    with joblib.parallel_config(backend="threading"):
        threaded = FaceAligner(output_size=SIZE, n_jobs=2).fit().align(subset)
    np.testing.assert_array_equal(threaded.chips, serial.chips[:128])
    np.testing.assert_array_equal(threaded.landmarks, serial.landmarks[:128])


def test_each_thread_has_its_own_detectors():
    from concurrent.futures import ThreadPoolExecutor

    from skage.alignment._models import get_detector, get_shape_predictor

    with ThreadPoolExecutor(2) as pool:
        hogs = list(pool.map(lambda _: (get_detector("hog"), get_detector("hog")), range(2)))
    assert get_detector("hog") is get_detector("hog")  # cached within a thread
    assert all(a is b for a, b in hogs) and len({id(a) for a, _ in hogs} | {id(get_detector("hog"))}) >= 2
    with ThreadPoolExecutor(1) as pool:  # the landmark model only reads its 100 MB: one copy for all threads
        assert pool.submit(get_shape_predictor, 68).result() is get_shape_predictor(68)


def test_hog_searches_the_luma_copy(aligned):
    from skage.alignment import detect_faces
    from skage.io import read_image

    paths, _, _ = aligned
    image = read_image(paths[0])
    gray = np.asarray(Image.fromarray(image).convert("L"))
    colour_boxes, colour_scores = detect_faces(image, detector="hog")
    gray_boxes, gray_scores = detect_faces(np.stack([gray] * 3, axis=-1), detector="hog")
    assert len(colour_boxes) == 1
    np.testing.assert_array_equal(colour_boxes, gray_boxes)
    np.testing.assert_allclose(colour_scores, gray_scores)


def _rotated_face(path, degrees=50):
    """A chip padded with its edges and rotated: HOG (frontal, upright) misses it, YuNet and the CNN do not."""
    from skage.io import read_image

    image = read_image(path)
    padded = np.pad(image, ((60, 60), (60, 60), (0, 0)), mode="edge")
    return np.asarray(Image.fromarray(padded).rotate(degrees))


def test_auto_cascade_reaches_yunet_only_for_hogs_misses(chip_paths):
    face = _rotated_face(chip_paths[1])
    hog = FaceAligner(detector="hog", output_size=64).fit().align([face, chip_paths[0]])
    auto = FaceAligner(output_size=64).fit().align([face, chip_paths[0]])
    yunet = FaceAligner(detector="yunet", output_size=64).fit().align([face])
    assert hog.flags.tolist() == ["no_face", "ok"] and hog.detected_by.tolist() == ["", "hog"]
    assert auto.flags.tolist() == ["ok", "ok"] and auto.detected_by.tolist() == ["yunet", "hog"]
    assert auto.to_frame()["detected_by"].tolist() == ["yunet", "hog"]
    assert yunet.flags.tolist() == ["ok"] and yunet.detected_by.tolist() == ["yunet"]
    cnn = FaceAligner(detector="cnn", output_size=64).fit().align([face])
    assert cnn.flags.tolist() == ["ok"] and cnn.detected_by.tolist() == ["cnn"]
    np.testing.assert_array_equal(auto.chips[1], hog.chips[1])  # a face HOG finds costs no more passes


def test_dlib_geometry_is_dlibs_own_face_chip(chip_paths):
    import dlib

    from skage.alignment import model_path
    from skage.io import read_image

    aligner = FaceAligner(geometry="dlib", landmarks=5, output_size=150).fit()
    result = aligner.align(chip_paths)
    assert aligner.target_eyes_ is None and (result.flags == "ok").all()
    detector, predictor = dlib.get_frontal_face_detector(), dlib.shape_predictor(model_path("landmarks5"))
    for path, chip, landmarks in zip(chip_paths, result.chips, result.landmarks):
        image = read_image(path)
        shape = predictor(image, detector(image, 0)[0])
        np.testing.assert_array_equal(chip, dlib.get_face_chip(image, shape, size=150, padding=0.25))
        # the recorded transform maps the landmarks into the chip where dlib put them
        template = dlib.get_face_chip_details(shape, 150, 0.25)
        assert template.rows == 150 and np.isfinite(landmarks).all()
        assert (landmarks > 0).all() and (landmarks < 150).all()


def test_a_tiny_file_is_named_in_its_message_not_array_0(tmp_path):
    path = tmp_path / "one_pixel.png"
    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(path)
    result = FaceAligner(output_size=64).fit().align_faces(str(path))
    assert result.flags.tolist() == ["too_small"]
    assert result.errors[0].startswith(f"{path}: ") and "array[" not in result.errors[0]


def test_a_12_mp_photo_is_searched_and_cut_from_reduced_decodes(chip_paths, tmp_path, monkeypatch):
    """Two 400-px faces on a 4000 x 3000 JPEG: found on a bounded copy, boxed in the photo's own pixels,
    and the photo is never decoded whole (the old cascade searched, and upsampled, all 12 MP)."""
    from skage.io import _read, read_image

    rng = np.random.default_rng(0)
    texture = Image.fromarray(rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)).resize((4000, 3000))
    places = [(600, 900), (2600, 1200)]
    for (x, y), path in zip(places, chip_paths[:2]):
        texture.paste(Image.fromarray(read_image(path)).resize((400, 400)), (x, y))
    texture.save(tmp_path / "group.jpg", quality=90)
    shrinks = []
    read_file = _read._read_file
    monkeypatch.setattr(_read, "_read_file", lambda path, shrink=1.0: shrinks.append(shrink) or read_file(path, shrink))
    result = FaceAligner(landmarks=5, geometry="dlib", output_size=64, margin=0.2).fit().align_faces(
        tmp_path / "group.jpg")
    assert result.flags.tolist() == ["ok", "ok"] and set(result.detected_by) == {"yunet"}
    assert min(shrinks) >= 2  # DCT-scaled decodes only
    for (x, y) in places:  # each face's box lies inside the 400-px chip pasted there, in full-size pixels
        inside = [(x - 20 <= b[0] and b[2] <= x + 420 and y - 20 <= b[1] and b[3] <= y + 420) for b in result.boxes]
        assert sum(inside) == 1
    assert ((result.boxes[:, 2] - result.boxes[:, 0]) > 150).all()


def test_yunet_model_file_is_checked_by_hash(monkeypatch):
    from skage.alignment import _models

    _models.get_detector.cache_clear()
    monkeypatch.setattr(_models, "YUNET_SHA256", "0" * 64)
    try:
        with pytest.raises(ValueError, match="face_detection_yunet_2023mar_int8bq.onnx has SHA-256 49f000ec"):
            _models.get_detector("yunet")
    finally:
        _models.get_detector.cache_clear()


def test_a_photo_over_the_pixel_cap_is_an_unreadable_row_not_a_crash(tmp_path, monkeypatch):
    from skage.io import _read

    Image.fromarray(np.full((200, 200, 3), 255, np.uint8)).save(tmp_path / "huge.png")
    monkeypatch.setattr(_read, "MAX_PIXELS", 10_000)  # as a 10000 x 10000 PNG is over the real 64 MP cap
    result = FaceAligner(output_size=32).fit().align([tmp_path / "huge.png", np.zeros((40, 40, 3), np.uint8)])
    assert result.flags.tolist() == ["unreadable", "no_face"]
    assert "huge.png: image too large: 200x200 pixels declared" in result.errors[0]
    with pytest.raises(ImageReadError, match="huge.png: image too large"):
        FaceAligner(output_size=32).fit().align_faces(tmp_path / "huge.png")
