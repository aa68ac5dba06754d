"""make_age_pipeline(model="descriptor") on real chips: unreadable inputs, GridSearchCV, pickling, options."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV, KFold

from skage.metrics import get_age_scorer
from skage.pipeline import make_age_pipeline
from skage.sampling import NoFaceWarning, UnreadableInputWarning


def _faceless(folder):
    """The #24 sweep's inputs without a face, as files: 1x1 and 10x10 images, a green square, noise."""
    from PIL import Image

    green = np.zeros((200, 200, 3), np.uint8)
    green[..., 1] = 200
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    images = {"1x1.png": np.full((1, 1, 3), 128, np.uint8), "10x10.png": np.full((10, 10, 3), 128, np.uint8),
              "green.png": green, "noise.png": noise}
    for name, image in images.items():
        Image.fromarray(image).save(folder / name)
    return [str(folder / name) for name in images]


@pytest.fixture(scope="module")
def faces(utkface_sample):
    return utkface_sample(40, seed=1)


@pytest.fixture(scope="module")
def fitted(faces, tmp_path_factory):
    X, y = faces
    folder = tmp_path_factory.mktemp("bad")
    (folder / "zero-byte.jpg").write_bytes(b"")
    bad = [str(folder / "missing.jpg"), str(folder / "zero-byte.jpg")]
    faceless = _faceless(folder)[2:]  # a green square and noise, aged 40 and 50
    X_train, y_train = np.r_[X[:30], bad, faceless], np.r_[y[:30], 20.0, 70.0, 40.0, 50.0]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pipe = make_age_pipeline(model="descriptor", random_state=0, memory=str(folder / "cache")).fit(X_train, y_train)
    return pipe, bad, [w for w in caught if issubclass(w.category, (UnreadableInputWarning, NoFaceWarning))]


def test_unreadable_training_files_are_named_and_left_out(fitted):
    pipe, bad, caught = fitted
    caught = [w for w in caught if issubclass(w.category, UnreadableInputWarning)]
    assert len(caught) == 1 and all(path in str(caught[0].message) for path in bad)
    assert "2 of 34 training inputs" in str(caught[0].message)
    assert pipe.named_steps["check"].unreadable_["source"].tolist() == bad
    assert [name for name, _ in pipe.steps] == ["check", "align", "faces", "equalize", "degrade", "describe", "scale",
                                                "balance", "model"]


def test_one_age_per_input_nan_for_unreadable(fitted, faces):
    pipe, bad, _ = fitted
    X, _ = faces
    pred = pipe.predict(np.r_[X[30:34], bad[:1], X[34:36], bad[1:]])
    assert pred.shape == (8,)
    assert np.isnan(pred[[4, 7]]).all() and np.isfinite(np.delete(pred, [4, 7])).all()
    assert ((pred[np.isfinite(pred)] > 0) & (pred[np.isfinite(pred)] < 100)).all()
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict(X[30:34]), pred[:4])


def test_images_without_a_face_get_nan_and_are_left_out_of_training(fitted, faces, tmp_path):
    from skage.pipeline import predict_faces

    pipe, _, caught = fitted
    caught = [w for w in caught if issubclass(w.category, NoFaceWarning)]
    # the green square and the noise were not trained on (the blank chips' NaN descriptors would break the SVR)
    assert len(caught) == 1 and "2 of 32 training images" in str(caught[0].message)
    assert "30, 31" in str(caught[0].message)
    assert pipe.named_steps["faces"].no_face_indices_.tolist() == [30, 31]
    X, _ = faces
    inputs = [X[36], *_faceless(tmp_path)]
    pred = pipe.predict(np.array(inputs, dtype=object))
    assert np.isfinite(pred[0]) and np.isnan(pred[1:]).all()  # main gave 43.9 / 48.0 / 45.1 / 55.2
    table = predict_faces(pipe, inputs)
    assert table["flag"].tolist() == ["ok", "too_small", "too_small", "no_face", "no_face"]
    assert np.isnan(table["age"][1:]).all() and table["error"][3].endswith("green.png: no face found")
    # today's guess on request, still flagged: a prediction-time switch, nothing refitted
    guess = pickle.loads(pickle.dumps(pipe)).set_params(align__on_failure="center")
    assert np.isfinite(guess.predict(np.array(inputs, dtype=object))).all()
    assert predict_faces(guess, inputs)["flag"].tolist() == table["flag"].tolist()


def test_one_image_array_is_refused_with_the_shape_expected(fitted):
    from skage.pipeline import predict_faces

    pipe = fitted[0]
    for image in (np.zeros((200, 200, 3), np.uint8), np.zeros((200, 200), np.uint8)):
        for predict in (pipe.predict, lambda X: predict_faces(pipe, X)):
            with pytest.raises(ValueError, match=r"shape \(200, 200(, 3)?\) of one image.*pass \[image\]"):
                predict(image)
    assert pipe.predict(np.zeros((200, 200, 3), np.uint8)[None]).shape == (1,)  # as the message says


def test_no_inputs_give_no_ages(fitted, tmp_path):
    from skage.pipeline import load_model, save_model

    pipe = fitted[0]
    for X in ([], np.empty(0, dtype=object), np.empty((0, 150, 150, 3), np.uint8)):
        assert pipe.predict(X).shape == (0,)
    assert load_model(save_model(pipe, tmp_path / "m.skage")).predict([]).shape == (0,)
    with pytest.raises(NotFittedError):
        make_age_pipeline(model="descriptor").predict([])


def test_switches_keep_parameter_names(fitted):
    full = fitted[0]
    bare = make_age_pipeline(model="descriptor", balance=False, knn=False, bin_weights=True)
    assert bare.named_steps["balance"] == "passthrough" and bare.named_steps["model"].blend == 0.0
    assert full.named_steps["model"].blend > 0
    for pipe in (full, bare):
        assert "model__estimator__" in next(k for k in pipe.get_params() if k.startswith("model__estimator__"))
    assert bare.named_steps["model"].estimator.beta == 0.999  # AgeBinWeightedRegressor around the SVR
    assert full.named_steps["align"].geometry == "dlib" and full.named_steps["align"].landmarks == 5
    assert full.get_params()["describe__layers"] == ("layer3", "layer4")


def test_grid_search_reuses_cached_descriptors(faces, tmp_path):
    X, y = faces
    pipe = make_age_pipeline(model="descriptor", random_state=0, memory=str(tmp_path))
    grid = {"model__estimator__C": [10.0, 30.0], "model__blend": [0.0, 0.5]}
    search = GridSearchCV(pipe, grid, scoring=get_age_scorer("neg_cmae"), cv=KFold(2, shuffle=True, random_state=0),
                          error_score="raise").fit(X[:24], y[:24])
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()
    # 8 fits, 8 scorings and the refit see 3 distinct batches (each half of X, and all of it): 3 computed
    assert len(list(tmp_path.rglob("_describe/*/output.pkl"))) == 3


@pytest.mark.parametrize("option", [{"image_size": 224}, {"net_params": {"lr": 0.1}}, {"align": False},
                                    {"max_epochs": 3}])
def test_options_of_other_models_are_refused_by_name(option):
    (name,) = option
    with pytest.raises(ValueError, match=f"model='descriptor' does not take {name}; see make_descriptor_pipeline"):
        make_age_pipeline(model="descriptor", **option)


def test_unknown_model_and_descriptor_only_options():
    with pytest.raises(ValueError, match="'model' parameter of make_age_pipeline must be a str among"):
        make_age_pipeline(model="vit")
    with pytest.raises(ValueError, match="model='resnet' does not take bin_weights, regressor"):
        make_age_pipeline(model="resnet", bin_weights=True, regressor=None)


def test_predict_faces_detects_once_and_keeps_every_row(fitted, faces, tmp_path, monkeypatch):
    from PIL import Image

    from skage.alignment import _aligner
    from skage.pipeline import predict_faces

    pipe, bad, _ = fitted
    X, _ = faces
    a, b = (np.asarray(Image.open(p).convert("RGB")) for p in X[36:38])
    canvas = np.full((300, 520, 3), 127, np.uint8)
    canvas[50:250, 40:240], canvas[50:250, 280:480] = a, b
    calls = []
    detect_all = _aligner.detect_all
    monkeypatch.setattr(_aligner, "detect_all", lambda *args: calls.append(1) or detect_all(*args))
    table = predict_faces(pipe, [X[36], bad[0], canvas, np.full((100, 100, 3), 90, np.uint8)])
    assert len(calls) == 3  # one detection per readable photo, none again inside the model
    assert table["input"].tolist() == [X[36], bad[0], "array[2]", "array[2]", "array[3]"]
    assert table["flag"].tolist() == ["ok", "unreadable", "ok", "ok", "no_face"]
    assert table["face"].tolist()[2:4] == [0, 1] and table["box"][2] != ""
    ages = table["age"].to_numpy()
    assert np.isnan(ages[[1, 4]]).all() and np.isfinite(ages[:4:2]).all() and np.isfinite(ages[3])
    assert ages[0] == pytest.approx(pipe.predict([X[36]])[0], abs=1e-6)
    assert "no face found" in table["error"][4] and table["detected_by"][0] == "hog"


def test_bias_correction_wraps_the_model_and_saves(faces, tmp_path):
    from skage.pipeline import load_model, save_model
    from skage.refine import AgeBiasCorrector, KNNAgeRefiner

    X, y = faces
    pipe = make_age_pipeline(model="descriptor", bias_correction=0.5, random_state=0)
    assert [name for name, _ in pipe.steps] == ["check", "align", "faces", "equalize", "model"]
    corrector = pipe.named_steps["model"]
    assert isinstance(corrector, AgeBiasCorrector) and (corrector.strength, corrector.cv) == (0.5, 0.2)
    # the resampler is inside: the held-out faces are real faces, not its copies of training faces
    assert [name for name, _ in corrector.estimator.steps] == ["degrade", "describe", "scale", "balance", "model"]
    assert isinstance(corrector.estimator.named_steps["model"], KNNAgeRefiner)
    pipe.set_params(model__estimator__model__n_neighbors=5).fit(X[:36], y[:36])
    assert len(corrector.cv_ages_) == 8  # a fifth of the 36 faces, rounded up
    pred = pipe.predict(X[36:])
    uncorrected = corrector.estimator_.predict(pipe[:-1].transform(X[36:]))
    np.testing.assert_allclose(pred, corrector.correct(uncorrected))
    restored = load_model(save_model(pipe, tmp_path / "corrected.skage"))
    np.testing.assert_allclose(restored.predict(X[36:]), pred)


@pytest.mark.parametrize("strength", [0, 1.5, True, "half"])
def test_bias_correction_must_be_a_strength(strength):
    with pytest.raises(ValueError, match="bias_correction"):
        make_age_pipeline(model="descriptor", bias_correction=strength)


def test_a_sliced_pipeline_predicts_from_features(utkface_sample):
    """AgePipeline's empty-input rule must not read a feature matrix as one image (pipe[k:] on features)."""
    from skage.pipeline import AgePipeline

    X, y = utkface_sample(20, seed=4)
    pipe = make_age_pipeline(model="descriptor", n_jobs=1, random_state=0).fit(X[:16], y[:16])
    scale = [name for name, _ in pipe.steps].index("scale")
    features = pipe[:scale].transform(X[16:])
    back = pipe[scale:]
    assert isinstance(back, AgePipeline)
    np.testing.assert_allclose(back.predict(features), pipe.predict(X[16:]))
    assert back.predict(features[:0]).shape == (0,)
