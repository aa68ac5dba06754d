"""StackedAgeRegressor: members trained on cached activations, combined out of fold, saved as data."""

import numpy as np
import pytest

from skage.stacking import KIND_NAMES, StackedAgeRegressor, default_members, photo_kind
from skage.stacking._stacked import face_folds


def _tiny(**params):
    members = default_members(random_state=0)
    for _, member in members:
        member.set_params(max_epochs=1, batch_size=8)
    return StackedAgeRegressor(members=members, cv=2, random_state=0, **params)


def test_copies_stay_in_their_faces_fold():
    source = np.r_[np.arange(10), np.arange(10)]  # ten faces, then a copy of each
    held = list(face_folds(source, 5, seed=0))
    assert len(held) == 5
    assert np.array_equal(np.sum(held, axis=0), np.ones(20))  # every row held out once
    for mask in held:
        assert np.array_equal(mask[:10], mask[10:])


def test_photo_kind_tells_gray_soft_and_flat_chips():
    rng = np.random.default_rng(0)
    sharp = rng.integers(0, 256, (1, 150, 150, 3), dtype=np.uint8)
    gray = np.repeat(sharp[..., :1], 3, axis=-1)
    soft = np.repeat(np.repeat(sharp[:, ::6, ::6], 6, axis=1), 6, axis=2)[:, :150, :150]
    kind = photo_kind(np.concatenate([sharp, gray, soft]))
    assert kind.shape == (3, len(KIND_NAMES))
    assert kind[1, 0] == 0 < kind[0, 0]
    assert kind[2, 1] < kind[0, 1]


def test_fit_predict_save_load(tmp_path, age_network_wheel):
    from skage.pipeline import load_model, save_model

    rng = np.random.default_rng(0)
    chips = rng.integers(0, 256, (8, 150, 150, 3), dtype=np.uint8)
    y = rng.uniform(2, 80, 8)
    model = _tiny().fit(chips, y)
    assert model.oof_ages_.shape == (16, len(model.feature_names_))  # originals and one copy each
    assert np.isfinite(model.oof_ages_).all()
    test = chips[:3].copy()
    test[2] = 0  # a blank chip: no face found
    ages = model.predict(test)
    assert np.isfinite(ages[:2]).all() and np.isnan(ages[2])
    assert model.member_ages(chips[:2]).shape == (2, 3)
    path = save_model(model, tmp_path / "stacked.skage")
    np.testing.assert_allclose(load_model(path).predict(test), ages, rtol=1e-5)


def test_chips_of_another_size_are_refused_naming_the_aligner():
    with pytest.raises(ValueError, match="FaceAligner\\(geometry='dlib', landmarks=5\\)"):
        StackedAgeRegressor().fit(np.zeros((4, 64, 64, 3), np.uint8), np.arange(4.0))


def test_a_member_without_a_trunk_is_refused(age_network_wheel):
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    chips = rng.integers(0, 256, (4, 150, 150, 3), dtype=np.uint8)
    with pytest.raises(ValueError, match="needs a 'trunk' attribute"):
        StackedAgeRegressor(members=[("ridge", Ridge())], cv=2, degrade=None).fit(chips, np.arange(4.0) * 10)
