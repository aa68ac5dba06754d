"""Degraded training copies: what each degradation does, and the sampler that adds them during fit only."""

import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from sklearn.neighbors import KNeighborsRegressor
from sklearn.preprocessing import FunctionTransformer

from skage.augment import DEGRADATIONS, DegradedCopies, degrade_chip


def _chips(n=6, side=48, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    # smooth colour gradients plus texture: blur, resizing and JPEG all have something to change
    yy, xx = np.mgrid[:side, :side] / side
    base = np.stack([200 * xx, 160 * yy, 120 * (1 - xx)], axis=-1)
    chips = base[None] + rng.normal(0, 20, (n, side, side, 3))
    chips = np.clip(chips, 0, 255).astype(np.uint8)
    if channels > 3:
        masks = rng.integers(0, 2, (n, side, side, channels - 3), dtype=np.uint8) * 255
        chips = np.concatenate([chips, masks], axis=-1)
    return chips


def _only(name):
    return {other: 0.0 for other in DEGRADATIONS} | {name: 1.0}


@pytest.mark.parametrize("name", sorted(DEGRADATIONS))
def test_each_degradation_changes_the_rgb_and_keeps_shape_dtype_and_masks(name):
    chip = _chips(1, channels=5)[0]
    out = degrade_chip(chip, np.random.default_rng(1), _only(name))
    assert out.shape == chip.shape and out.dtype == np.uint8
    assert np.abs(out[..., :3].astype(int) - chip[..., :3]).mean() > 1.0, name
    np.testing.assert_array_equal(out[..., 3:], chip[..., 3:])


def test_grayscale_copies_have_equal_channels_and_keep_brightness():
    chip = _chips(1)[0]
    gray = degrade_chip(chip, np.random.default_rng(0), _only("grayscale"))
    assert (gray[..., 0] == gray[..., 1]).all() and (gray[..., 1] == gray[..., 2]).all()
    assert abs(gray.mean() - (chip @ [0.299, 0.587, 0.114]).mean()) < 1.0


def test_low_contrast_narrows_the_spread_and_blur_removes_detail():
    chip = _chips(1)[0].astype(float)
    flat = degrade_chip(chip.astype(np.uint8), np.random.default_rng(0), _only("low_contrast")).astype(float)
    assert flat.std() < 0.9 * chip.std()
    soft = degrade_chip(chip.astype(np.uint8), np.random.default_rng(0), _only("blur")).astype(float)
    assert np.abs(np.diff(soft, axis=1)).mean() < 0.8 * np.abs(np.diff(chip, axis=1)).mean()


def test_a_copy_is_never_the_unchanged_chip_and_is_seeded():
    chip = _chips(1)[0]
    rare = {name: 0.01 for name in DEGRADATIONS}  # mostly nothing drawn: one is applied anyway
    for seed in range(20):
        assert not np.array_equal(degrade_chip(chip, np.random.default_rng(seed), rare), chip)
    np.testing.assert_array_equal(degrade_chip(chip, np.random.default_rng(3)), degrade_chip(chip, np.random.default_rng(3)))


@pytest.mark.parametrize("bad, match", [({"sepia": 0.5}, "unknown degradation.*sepia"),
                                        ({"blur": 1.5}, "in \\[0, 1\\].*blur"),
                                        ({name: 0.0 for name in DEGRADATIONS}, "at least one")])
def test_bad_probabilities_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        degrade_chip(_chips(1)[0], np.random.default_rng(0), bad)
    with pytest.raises(ValueError, match=match):
        DegradedCopies(probabilities=bad).fit_resample(_chips(2), [1.0, 2.0])


@pytest.mark.parametrize("n_copies, expected", [(1, 12), (2, 18), (0.5, 9), (1.5, 15)])
def test_copies_follow_the_originals_with_their_ages(n_copies, expected):
    chips, ages = _chips(6), np.arange(6, dtype=float) * 10
    sampler = DegradedCopies(n_copies=n_copies, random_state=0)
    X, y = sampler.fit_resample(chips, ages)
    assert X.shape == (expected, *chips.shape[1:]) and y.shape == (expected,)
    np.testing.assert_array_equal(X[:6], chips)  # the originals, untouched, first
    np.testing.assert_array_equal(y, ages[sampler.sample_indices_])
    assert sampler.degraded_.sum() == expected - 6 and not sampler.degraded_[:6].any()
    X2, _ = DegradedCopies(n_copies=n_copies, random_state=0).fit_resample(chips, ages)
    np.testing.assert_array_equal(X, X2)


def test_inputs_that_are_not_chips_are_refused_naming_the_shape():
    with pytest.raises(ValueError, match="uint8 chips of shape.*got shape \\(3, 4\\)"):
        DegradedCopies().fit_resample(np.zeros((3, 4)), [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="3 chips but y has 2"):
        DegradedCopies().fit_resample(_chips(3), [1.0, 2.0])
    with pytest.raises(ValueError, match="n_copies"):
        DegradedCopies(n_copies=-1).fit_resample(_chips(3), [1.0, 2.0, 3.0])


def test_in_a_pipeline_copies_are_added_during_fit_only():
    flat = FunctionTransformer(lambda X: X.reshape(len(X), -1).astype(float))
    pipe = Pipeline([("degrade", DegradedCopies(random_state=0)), ("flat", flat),
                     ("model", KNeighborsRegressor(n_neighbors=1))])
    chips, ages = _chips(6), np.arange(6, dtype=float)
    pipe.fit(chips, ages)
    assert pipe.named_steps["model"].n_samples_fit_ == 12
    np.testing.assert_array_equal(pipe.predict(chips), ages)  # prediction sees the photos as they are


def test_the_sampler_is_saved_as_data(tmp_path):
    from skage.pipeline import load_model, save_model

    chips, ages = _chips(6), np.arange(6, dtype=float)
    sampler = DegradedCopies(n_copies=0.5, probabilities={"grayscale": 1.0}, random_state=0)
    X, y = sampler.fit_resample(chips, ages)
    loaded = load_model(save_model(sampler, tmp_path / "m.skage"))
    assert loaded.get_params() == sampler.get_params()
    np.testing.assert_array_equal(loaded.sample_indices_, sampler.sample_indices_)
    np.testing.assert_array_equal(loaded.fit_resample(chips, ages)[0], X)
