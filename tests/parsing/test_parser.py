"""FaceParser on real aligned chips, its fallbacks, caching and pipeline use."""

import pickle
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from skage.alignment import FaceAligner, HistogramEqualizer, template_landmarks
from skage.parsing import REGIONS, FaceParser, region_masks
from skage.viz import plot_face_regions, plot_region_grid

SIZE = 128
K = len(REGIONS)


@pytest.fixture(scope="module")
def paths(utkface_dir):
    files = sorted(utkface_dir.glob("*.jpg"))
    return [files[i] for i in np.linspace(0, len(files) - 1, 40).astype(int)]


@pytest.fixture(scope="module")
def aligned(paths):
    aligner = FaceAligner(output_size=SIZE).fit()
    return aligner.align(paths)


@pytest.fixture(scope="module")
def parsed(aligned):
    parser = FaceParser().fit(aligned.chips)
    return parser, parser.transform(aligned.chips)


def _centroid_y(mask):
    weights = mask.astype(np.float64)
    return (weights.sum(axis=1) * np.arange(len(mask))).sum() / weights.sum()


def test_regions_nonempty_and_in_anatomical_order(aligned, parsed):
    parser, out = parsed
    assert out.shape == (len(aligned), SIZE, SIZE, 3 + K) and out.dtype == np.uint8
    np.testing.assert_array_equal(out[..., :3], aligned.chips)
    flags = parser.parse(aligned.chips).flags
    assert not hasattr(parser, "last_result_")  # per-batch results are returned by parse, never stored
    ok = (flags == "detected") & ~aligned.failed
    assert ok.mean() > 0.9, f"landmarks found on only {ok.mean():.0%} of aligned chips"
    index = {name: k for k, name in enumerate(REGIONS)}
    for chip in out[ok]:
        masks = chip[..., 3:]
        # every region has a core above half strength (thin ones, like brows, stay under 255 after blurring)
        assert ((masks > 127).reshape(-1, K).sum(axis=0) >= 10).all()
        order = ("forehead", "brows", "eyes", "nose", "mouth", "jaw")
        y = {name: _centroid_y(masks[..., index[name]]) for name in order}
        assert y["forehead"] < y["brows"] < y["eyes"] < y["nose"] < y["mouth"] < y["jaw"], y
        # skin leaves the eyes and the mouth out
        for name in ("eyes", "mouth"):
            region = masks[..., index[name]]
            assert masks[..., index["skin"]][region >= 0.9 * region.max()].max() < 128
    # the eye masks sit on the aligner's eye targets
    eyes = out[ok][..., 3 + index["eyes"]].astype(np.float64).mean(axis=0)
    target_eyes = FaceAligner(output_size=SIZE).fit().target_eyes_
    for x, y in target_eyes:
        assert eyes[int(round(y)), int(round(x))] > 128


def test_faceless_chips_fall_back_to_template(aligned):
    rng = np.random.default_rng(0)
    chips = np.stack([np.zeros((SIZE, SIZE, 3), np.uint8), rng.integers(0, 255, (SIZE, SIZE, 3), dtype=np.uint8),
                      np.ascontiguousarray(np.roll(aligned.chips[0], SIZE // 3, axis=1))])
    parser = FaceParser().fit(chips)
    out = parser.transform(chips)
    assert parser.parse(chips).flags.tolist() == ["template"] * 3
    expected = region_masks(template_landmarks(68, SIZE, 0.1), SIZE)
    for row in out:
        np.testing.assert_array_equal(row[..., 3:], expected)


def test_given_landmarks_skip_the_fit(aligned):
    parser = FaceParser().fit(aligned.chips)
    result = parser.parse(aligned.chips, landmarks=aligned.landmarks)
    assert (result.flags[~aligned.failed] == "given").all()
    # failed alignments have NaN landmarks, so those chips go through the usual check
    assert set(result.flags[aligned.failed]) <= {"template", "detected"}
    i = int(np.flatnonzero(~aligned.failed)[0])
    np.testing.assert_array_equal(result.masks[i], region_masks(aligned.landmarks[i], SIZE))
    with pytest.raises(ValueError, match="landmarks must have shape"):
        parser.parse(aligned.chips, landmarks=aligned.landmarks[:2])


def test_pipeline_clone_params_pickle(paths):
    pipe = Pipeline([("align", FaceAligner(output_size=64)), ("clahe", HistogramEqualizer()), ("parse", FaceParser())])
    pipe.set_params(parse__blur=0.1, align__margin=0.2, parse__margin=0.2)
    out = pipe.fit_transform(paths[:4])
    assert out.shape == (4, 64, 64, 3 + K)
    assert (pipe[-1].parse(pipe[:-1].transform(paths[:4])).flags == "detected").sum() >= 3
    cloned = clone(pipe)
    assert cloned.get_params()["parse__blur"] == 0.1 and not hasattr(cloned[-1], "regions_")
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.transform(paths[:4]), out)


def test_input_and_parameter_errors(aligned):
    with pytest.raises(ValueError, match="uint8 chips"):
        FaceParser().fit(aligned.chips.astype(np.float32))
    with pytest.raises(ValueError, match="landmarks"):
        FaceParser(landmarks="mediapipe").fit(aligned.chips)
    parser = FaceParser(landmarks="template").fit(aligned.chips)
    with pytest.raises(ValueError, match="fitted on 3 channels"):
        parser.transform(np.zeros((1, SIZE, SIZE, 4), np.uint8))
    with pytest.raises(ValueError, match="68 landmarks"):
        region_masks(np.zeros((5, 2)), SIZE)


def test_cache_dir_keys_memmapped_chips_by_file(aligned, tmp_path):
    chip_cache, parse_cache = tmp_path / "chips", tmp_path / "parsed"
    chips = FaceAligner(output_size=SIZE, cache_dir=chip_cache).fit().transform(
        list(aligned.sources[:3])
    )
    parser = FaceParser(cache_dir=parse_cache).fit(chips)
    first = parser.transform(chips)
    assert isinstance(first, np.memmap) and first.shape == (3, SIZE, SIZE, 3 + K)
    again = FaceParser(cache_dir=parse_cache).fit(chips)
    second = again.transform(chips)
    assert second.filename == first.filename
    np.testing.assert_array_equal(again.transform(chips), second)


def test_plots_write_pngs(parsed, tmp_path):
    _, out = parsed
    single = plot_face_regions(out[0], path=tmp_path / "one.png")
    grid = plot_region_grid(out[:6], path=tmp_path / "grid.png", ncols=3, titles=list("abcdef"))
    for name in ("one.png", "grid.png"):
        with Image.open(tmp_path / name) as img:
            assert img.format == "PNG" and min(img.size) > 100
    assert single is not None and grid is not None
    with pytest.raises(ValueError, match="pass masks"):
        plot_face_regions(out[0][..., :3])


def test_import_does_not_load_torch():
    code = "import sys, skage.parsing; assert 'torch' not in sys.modules, 'torch imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_dlib_geometry_finds_the_face_where_dlib_chips_put_it(utkface_dir):
    paths = sorted(utkface_dir.glob("*.jpg"))[:12]
    aligned = FaceAligner(geometry="dlib", landmarks=5, output_size=150, detector="hog").fit(paths).align(paths)
    ok = aligned.flags == "ok"
    # the template sits where dlib's chip puts the 5 landmarks, to a few pixels
    error = np.linalg.norm(aligned.landmarks[ok] - template_landmarks(5, 150, 0.25, "dlib"), axis=2)
    assert ok.sum() >= 10 and np.median(error) < 3
    result = FaceParser(geometry="dlib").fit(aligned.chips).parse(aligned.chips)
    assert (result.flags[ok] == "detected").mean() >= 0.9


def test_unknown_geometry_is_refused():
    with pytest.raises(ValueError, match="geometry"):
        FaceParser(geometry="ears").fit(np.zeros((1, 32, 32, 3), np.uint8))
