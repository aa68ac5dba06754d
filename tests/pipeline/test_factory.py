"""make_age_pipeline at tiny sizes on real chips: every switch, GridSearchCV, pickling."""

import pickle

import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, KFold

from skage.metrics import get_age_scorer
from skage.parsing import REGIONS
from skage.pipeline import make_age_pipeline

TINY = dict(image_size=32, max_epochs=1, batch_size=8, device="cpu", random_state=0, verbose=0, n_jobs=1,
            net_params={"backbone": "resnet18"})


@pytest.fixture(scope="module")
def faces(utkface_sample):
    return utkface_sample(36, seed=0)


def test_switches_build_the_ablation_rows():
    full = make_age_pipeline(model="resnet", **TINY)
    assert isinstance(full, Pipeline)
    assert [type(s).__name__ if s != "passthrough" else s for _, s in full.steps] == [
        "DropUnreadable", "FaceAligner", "DropNoFace", "passthrough", "FaceParser", "AgeBinResampler", "KNNAgeRefiner"]
    bare = make_age_pipeline(model="resnet", **TINY, align=False, attention=False, balance=False, knn=False,
                             equalize=True)
    assert [type(s).__name__ if s != "passthrough" else s for _, s in bare.steps] == [
        "DropUnreadable", "ImageLoader", "DropNoFace", "HistogramEqualizer", "passthrough", "passthrough", "AgeNet"]
    assert bare.named_steps["model"].attention is False
    assert full.get_params()["model__estimator__backbone"] == "resnet18"


def test_full_pipeline_fits_and_returns_one_age_per_input(faces):
    X, y = faces
    pipe = make_age_pipeline(model="resnet", **TINY).fit(X[:28], y[:28])
    # The resampler grew the training set, but prediction sees every input once, in order.
    assert pipe.named_steps["balance"].sample_indices_.shape[0] > 28
    pred = pipe.predict(X[28:])
    assert pred.shape == (8,) and np.isfinite(pred).all()
    with_missing = pipe.predict(np.r_[X[28:30], ["no/such/photo.jpg"]])
    assert np.isnan(with_missing[2]) and np.allclose(with_missing[:2], pred[:2])  # no age for an unreadable file
    assert pipe.named_steps["model"].estimator_.n_regions_ == len(REGIONS)  # the parser's masks reached the net
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict(X[28:]), pred)
    clone(pipe).set_params(model__blend=0.2, model__estimator__lambda_cb=0.0)


def test_grid_search_over_lambda_and_blend_with_cmae(faces, tmp_path):
    X, y = faces
    pipe = make_age_pipeline(model="resnet", **{**TINY, "memory": str(tmp_path)})
    grid = {"model__estimator__lambda_cb": [0.0, 1.0], "model__blend": [0.0, 1.0], "model__n_neighbors": [3]}
    search = GridSearchCV(pipe, grid, scoring=get_age_scorer("neg_cmae"), cv=KFold(2, shuffle=True, random_state=0),
                          error_score="raise").fit(X, y)
    scores = search.cv_results_["mean_test_score"]
    assert len(scores) == 4 and np.isfinite(scores).all() and (scores < 0).all()
    assert search.best_estimator_.predict(X[:3]).shape == (3,)


def test_the_network_weighs_its_loss_by_the_ages_before_resampling(faces):
    from skage.nn import effective_number_weights_from_counts

    X, y = faces
    pipe = make_age_pipeline(model="resnet", **{**TINY, "max_epochs": 0}, knn=False).fit(X[:28], y[:28])
    counts, net = pipe.named_steps["balance"].bin_counts_, pipe.named_steps["model"]
    # Behind the resampler every bin is equally frequent: weights counted there would all be 1.
    assert len(set(counts[counts > 0])) > 1 and net.cb_counts is None  # handed at fit, parameters untouched
    expected = effective_number_weights_from_counts(counts, beta=net.cb_beta)
    seen = counts > 0
    np.testing.assert_allclose(net.bin_weights_[seen] / expected[seen], net.bin_weights_[seen][0] / expected[seen][0])
    assert net.bin_weights_[seen].max() / net.bin_weights_[seen].min() > 1.5


def test_builders_take_only_their_own_options():
    from skage.pipeline import (make_descriptor_pipeline, make_ensemble_pipeline, make_resnet_pipeline,
                                make_two_networks_pipeline)
    from skage.pipeline._factory import builder_options

    for builder in (make_resnet_pipeline, make_descriptor_pipeline, make_ensemble_pipeline,
                    make_two_networks_pipeline):
        with pytest.raises(TypeError):
            builder(no_such_option=1)
    assert "net_params" in builder_options("resnet") and "regressor" not in builder_options("resnet")
    assert "regressor" in builder_options("descriptor") and "max_epochs" not in builder_options("descriptor")
    assert "bias_correction" not in builder_options("two_networks")
    with pytest.raises(ValueError, match="model='resnet' does not take degrade"):
        make_age_pipeline(model="resnet", degrade=1.0)
    with pytest.raises(ValueError, match="'max_epochs' parameter of make_age_pipeline must be an int"):
        make_age_pipeline(max_epochs=-1)
    pipe = make_resnet_pipeline(**TINY)
    assert pipe.get_params(deep=False).keys() == make_age_pipeline(model="resnet", **TINY).get_params(deep=False).keys()


def test_dlib_backbone_gets_dlib_face_chips():
    pipe = make_age_pipeline(model="resnet", device="cpu", net_params={"backbone": "dlib_resnet"})
    align, parse = pipe.named_steps["align"], pipe.named_steps["parse"]
    assert (align.geometry, align.landmarks, align.output_size) == ("dlib", 5, 150)
    assert parse.geometry == "dlib"
    resnet = make_age_pipeline(model="resnet", device="cpu")
    assert (resnet.named_steps["align"].geometry, resnet.named_steps["align"].output_size) == ("eyes", 224)
    assert resnet.named_steps["parse"].geometry == "eyes"
