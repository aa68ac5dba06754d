"""make_age_pipeline(model="ensemble") on real chips: shared alignment, the vote, unreadable inputs, saving."""

import numpy as np
import pytest
from sklearn.ensemble import VotingRegressor

from skage.pipeline import load_model, make_age_pipeline, predict_faces, save_model
from skage.pipeline._chips import steps_after

TINY = dict(max_epochs=1, batch_size=8, device="cpu", random_state=0, verbose=0, n_jobs=1)


@pytest.fixture(scope="module")
def faces(utkface_sample):
    return utkface_sample(36, seed=2)


@pytest.fixture(scope="module")
def fitted(faces):
    X, y = faces
    return make_age_pipeline(model="ensemble", **TINY).fit(X[:30], y[:30])


def test_both_members_share_one_alignment_to_dlib_chips():
    pipe = make_age_pipeline(model="ensemble", **TINY)
    assert [name for name, _ in pipe.steps] == ["check", "align", "faces", "equalize", "model"]
    vote = pipe.named_steps["model"]
    assert isinstance(vote, VotingRegressor) and [name for name, _ in vote.estimators] == ["deep", "descriptor"]
    align = pipe.named_steps["align"]
    assert (align.geometry, align.landmarks, align.output_size) == ("dlib", 5, 150)
    # The members are the two single-model pipelines after their (identical) alignment.
    for name, alone in [("deep", make_age_pipeline(model="resnet", **TINY, net_params={"backbone": "dlib_resnet"})),
                        ("descriptor", make_age_pipeline(model="descriptor", device="cpu", random_state=0,
                                                         n_jobs=1))]:
        assert alone.named_steps["align"].get_params() == align.get_params()
        member = vote.named_estimators[name]
        assert [n for n, _ in member.steps] == [n for n, _ in steps_after(alone, "equalize")]
    params = pipe.get_params()
    assert params["model__deep__model__estimator__backbone"] == "dlib_resnet"
    assert params["model__deep__model__estimator__freeze_stages"] == 3  # the backbone's fine-tuning default
    assert params["model__deep__model__estimator__test_time_flip"]  # like the descriptor's flip
    assert params["model__descriptor__describe__flip"]
    assert params["model__descriptor__describe__layers"] == ("layer3", "layer4")


def test_net_params_override_the_backbone_recipe_and_other_backbones_are_refused():
    pipe = make_age_pipeline(model="ensemble", **TINY, net_params={"freeze_stages": 1, "lr": 1e-4,
                                                                    "test_time_flip": False})
    assert pipe.get_params()["model__deep__model__estimator__freeze_stages"] == 1
    assert not pipe.get_params()["model__deep__model__estimator__test_time_flip"]
    assert pipe.get_params()["model__deep__model__estimator__lr"] == 1e-4
    with pytest.raises(ValueError, match="net_params\\['backbone'\\] must be 'dlib_resnet'"):
        make_age_pipeline(model="ensemble", net_params={"backbone": "resnet18"})
    with pytest.raises(ValueError, match="model='ensemble' does not take image_size"):
        make_age_pipeline(model="ensemble", image_size=224)


def test_ensemble_averages_its_members_one_age_per_input(fitted, faces):
    X, _ = faces
    pred = fitted.predict(X[30:])
    members = fitted[-1].transform(fitted[:-1].transform(X[30:]))
    assert pred.shape == (6,) and members.shape == (6, 2) and np.isfinite(pred).all()
    np.testing.assert_allclose(pred, members.mean(axis=1))
    assert not np.allclose(members[:, 0], members[:, 1])  # two models, not one counted twice
    with_missing = fitted.predict(np.r_[X[30:32], ["no/such/photo.jpg"]])
    # AgeNet predicts under bf16 autocast: another batch moves an age by ~0.01 year, not more
    assert np.isnan(with_missing[2]) and np.allclose(with_missing[:2], pred[:2], rtol=0, atol=0.05)


def test_saved_ensemble_predicts_the_same_and_predict_faces_keeps_every_row(fitted, faces, tmp_path):
    X, _ = faces
    path = save_model(fitted, tmp_path / "ensemble.skage")
    restored = load_model(path)
    np.testing.assert_allclose(restored.predict(X[30:]), fitted.predict(X[30:]), rtol=1e-5)
    table = predict_faces(restored, [*X[30:33], str(tmp_path / "missing.jpg")])
    assert len(table) == 4 and table["flag"].iloc[3] == "unreadable" and np.isfinite(table["age"].iloc[:3]).all()


def test_bias_correction_wraps_the_vote_of_real_faces():
    from skage.refine import AgeBiasCorrector

    pipe = make_age_pipeline(model="ensemble", bias_correction=0.5, **TINY)
    assert [name for name, _ in pipe.steps] == ["check", "align", "faces", "equalize", "model"]
    corrector = pipe.named_steps["model"]
    # the members resample inside the vote, so the corrector's held-out faces are real faces
    assert isinstance(corrector, AgeBiasCorrector) and isinstance(corrector.estimator, VotingRegressor)
    assert pipe.get_params()["model__estimator__deep__model__estimator__backbone"] == "dlib_resnet"
    assert corrector.random_state == 0
