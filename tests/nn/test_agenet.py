"""AgeNet at tiny sizes: ResNet-18 at 32 px, batch 4, one epoch (one ResNet-50 step)."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from skorch.dataset import ValidSplit
from skorch.exceptions import DeviceWarning

from skage.nn import AgeNet



@pytest.fixture
def fast(tiny):
    """Where the optimizer is not the point: SGD steps are cheaper than AdamW's."""
    return dict(tiny, optimizer=torch.optim.SGD)


@pytest.fixture
def data(chips):
    return chips


@pytest.fixture
def fitted(fitted_agenet):
    return fitted_agenet


def test_fit_predict_shapes(fitted, data):
    X, _ = data
    ages = fitted.predict(X)
    proba = fitted.predict_proba(X)
    emb = fitted.transform(X)
    assert ages.shape == (8,) and proba.shape == (8, 101) and emb.shape == (8, 512)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    np.testing.assert_allclose(ages, proba @ np.arange(101), rtol=1e-4)  # expected age
    assert fitted.n_regions_ == 2 and fitted.bin_weights_.shape == (7,)
    assert len(fitted.history) == 1 and np.isfinite(fitted.history[-1, "train_loss"])
    assert fitted.device == "auto" and next(fitted.module_.parameters()).device.type in ("cpu", "cuda")


def test_one_row_per_input_in_order(fitted, data):
    X, _ = data
    ages = fitted.predict(X)
    np.testing.assert_allclose(fitted.predict(X[::-1]), ages[::-1], rtol=1e-5)
    np.testing.assert_allclose(fitted.predict(X[3:4]), ages[3:4], rtol=1e-5)


def test_memmap_input(fitted, data, tmp_path):
    X, _ = data
    mm = np.lib.format.open_memmap(tmp_path / "X.npy", mode="w+", dtype=np.uint8, shape=X.shape)
    mm[:] = X
    np.testing.assert_array_equal(fitted.predict(np.load(tmp_path / "X.npy", mmap_mode="r")), fitted.predict(X))


def test_repeatable_with_random_state(fitted, data, tiny):
    X, y = data
    state = torch.random.get_rng_state()
    again = AgeNet(**tiny).fit(X, y)
    assert torch.equal(torch.random.get_rng_state(), state)  # global RNG untouched
    np.testing.assert_array_equal(again.predict(X), fitted.predict(X))
    assert again.history[-1, "train_loss"] == fitted.history[-1, "train_loss"]


@pytest.mark.parametrize("params", [
    dict(attention=False, head="dex", lambda_cb=0.0, gamma_knn=0.0),
    dict(attention=True, head="regression", lambda_cb=0.5, gamma_knn=0.5, attention_layers=("layer3",)),
], ids=["cnn-only-dex-no-extra-terms", "attention-regression-all-terms"])
def test_attention_switch_heads_and_loss_terms(params, fast, make_chips):
    X, y = make_chips(n=4)
    net = AgeNet(**{**fast, **params}).fit(X, y)
    ages = net.predict(X)
    assert ages.shape == (4,) and np.isfinite(ages).all()
    assert net.criterion_.lambda_cb == params["lambda_cb"] and net.criterion_.gamma_knn == params["gamma_knn"]
    assert len(net.module_.attention) == (1 if params["attention"] else 0)
    if params["head"] == "regression":
        assert not hasattr(net, "predict_proba")
        with pytest.raises(AttributeError):
            net.predict_proba(X)
    else:
        assert net.predict_proba(X).shape == (4, 101)
    if not params["attention"]:  # the CNN-only model takes RGB chips and ignores mask channels
        np.testing.assert_array_equal(net.predict(np.ascontiguousarray(X[..., :3])), ages)
    assert net.transform(X).shape == (4, 512)


def test_resnet50_default_one_step(make_chips):
    X, y = make_chips(n=4)
    net = AgeNet(max_epochs=1, batch_size=4, verbose=0, random_state=0, optimizer=torch.optim.SGD).fit(X, y)
    assert net.backbone == "resnet50" and net.attention
    assert net.transform(X).shape == (4, 2048) and net.predict(X).shape == (4,)


def test_missing_masks_and_bad_input_errors(fitted, data, tiny):
    X, y = data
    with pytest.raises(ValueError, match="attention=True needs the face-region mask channels"):
        AgeNet(**tiny).fit(X[..., :3], y)
    with pytest.raises(ValueError, match="attention=True needs the face-region mask channels"):
        fitted.predict(X[..., :3])
    with pytest.raises(ValueError, match="fitted with 2"):
        fitted.predict(np.concatenate([X, X[..., :1]], axis=3))
    with pytest.raises(TypeError, match="uint8"):
        fitted.predict(X.astype(np.float32))
    with pytest.raises(ValueError, match="different lengths"):
        AgeNet(**tiny).fit(X, y[:-1])
    with pytest.raises(ValueError, match="NaN"):
        AgeNet(**tiny).fit(X, np.r_[y[:-1], np.nan])
    with pytest.raises(ValueError, match="amp"):
        AgeNet(**tiny, amp="fp16").fit(X, y)
    with pytest.raises(ValueError, match="early_stopping needs a validation set"):
        AgeNet(**tiny, early_stopping=2).fit(X, y)
    with pytest.raises(ValueError, match="lr_schedule"):  # checked when built without fit, too
        AgeNet(**tiny, lr_schedule="linear").initialize()
    with pytest.raises(ValueError, match="cb_beta"):
        AgeNet(**tiny, cb_beta=1.0).fit(X, y)


def test_weights_file_through_the_estimator(fitted, data, tmp_path, tiny):
    X, y = data
    path = tmp_path / "params.pt"
    torch.save(fitted.module_.state_dict(), path)
    loaded = AgeNet(**{**tiny, "max_epochs": 0, "weights": path}).fit(X, y)  # builds, no training step
    np.testing.assert_allclose(loaded.predict(X), fitted.predict(X), rtol=1e-5)


def test_pickle_round_trip_predicts_identically(fitted, data):
    X, _ = data
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(X), fitted.predict(X))
    np.testing.assert_array_equal(restored.transform(X), fitted.transform(X))
    assert restored.device == "auto"


@pytest.mark.skipif(torch.cuda.is_available(), reason="simulates a CUDA-trained net loaded without CUDA")
def test_cuda_pickle_loads_on_cpu(fitted, data):
    X, _ = data
    state = fitted.__getstate__()
    state["device"] = "cuda"
    clone_ = AgeNet.__new__(AgeNet)
    with pytest.warns(DeviceWarning):
        clone_.__setstate__(state)
    assert torch.device(clone_.device).type == "cpu"
    np.testing.assert_array_equal(clone_.predict(X), fitted.predict(X))


def test_clone_get_params_set_params(fitted, tiny):
    params = fitted.get_params(deep=False)
    for name in ("attention", "head", "lambda_cb", "gamma_knn", "label_sigma", "random_state", "device"):
        assert name in params
    twin = clone(fitted)
    assert not twin.initialized_ and twin.get_params()["lambda_cb"] == fitted.lambda_cb
    copy = pickle.loads(pickle.dumps(fitted))
    copy.set_params(lambda_cb=0.25, criterion__knn_k=2)
    assert copy.criterion_.lambda_cb == 0.25 and copy.criterion_.knn_k == 2
    copy.set_params(attention_layers=("layer3",))
    assert list(copy.module_.attention) == ["layer3"]
    copy.set_params(iterator_valid__batch_size=3)  # loader settings can change after fit
    assert copy.predict(np.zeros((5, 32, 32, 5), dtype=np.uint8)).shape == (5,)
    with pytest.raises(ValueError, match="directly on AgeNet"):
        AgeNet(**tiny, attention=False, criterion__lambda_cb=1.0).initialize()


def test_grid_search_over_lambda(data, fast):
    X, y = data
    search = GridSearchCV(AgeNet(**fast), {"lambda_cb": [0.0, 1.0]}, cv=2,
                          scoring="neg_mean_absolute_error", refit=False, error_score="raise")
    search.fit(X, y)
    assert [p["lambda_cb"] for p in search.cv_results_["params"]] == [0.0, 1.0]
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_early_stopping_and_checkpoint(data, tmp_path, fast):
    X, y = data
    net = AgeNet(**{**fast, "attention": False, "max_epochs": 2},
                 train_split=ValidSplit(2), early_stopping=1, checkpoint=tmp_path / "ckpt")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net.fit(X[..., :3], y)
    names = [name for name, _ in net.callbacks_]
    assert {"lr_scheduler", "early_stopping", "checkpoint"} <= set(names)
    assert names.index("checkpoint") < names.index("print_log")
    assert 1 <= len(net.history) <= 2 and "valid_loss" in net.history[-1]
    assert (tmp_path / "ckpt" / "params.pt").is_file()


def test_compiled_net_pickles(make_chips, fast):
    # The "eager" backend runs dynamo's capture without code generation: the compile path, quickly.
    X, y = make_chips(n=4)
    net = AgeNet(**fast, compile=True, compile__backend="eager").fit(X, y)
    assert hasattr(net.module_, "_orig_mod")
    restored = pickle.loads(pickle.dumps(net))
    assert hasattr(restored.module_, "_orig_mod")
    np.testing.assert_array_equal(restored.predict(X), net.predict(X))


def test_predict_outputs_is_one_pass_of_predict_proba_and_transform(fitted_agenet, chips):
    X, _ = chips
    out = fitted_agenet.predict_outputs(X)
    np.testing.assert_allclose(out.ages, fitted_agenet.predict(X), rtol=1e-6)
    np.testing.assert_allclose(out.proba, fitted_agenet.predict_proba(X), rtol=1e-6)
    np.testing.assert_allclose(out.embeddings, fitted_agenet.transform(X), rtol=1e-6)


def test_distill_keeps_the_network_near_where_it_started():
    """``distill``: a frozen copy of the starting network pulls the training one back, and is gone after fit."""
    import copy

    from skage.nn import AgeResNet, to_model_input

    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(24, 64, 64, 3), dtype=np.uint8)
    y = rng.uniform(1, 80, size=24)
    torch.manual_seed(0)
    # a backbone without batch norm (dlib-style affine layers), so that the comparison in eval mode sees
    # only what training changed, not running statistics; random weights need no wheel
    first = AgeResNet(attention=False, backbone="cydral_age", weights="random").eval()
    kwargs = dict(attention=False, max_epochs=3, batch_size=8, lr=1e-2, verbose=0, random_state=0, device="cpu",
                  amp=False, augment=False)
    inputs = to_model_input(torch.from_numpy(X), "cpu")

    def divergence(net):
        with torch.no_grad():
            p = torch.log_softmax(first(inputs)[0], 1)
            q = torch.log_softmax(net.module_.eval()(inputs)[0], 1)
        return float((p.exp() * (p - q)).sum(1).mean())

    free = AgeNet(module=copy.deepcopy(first), **kwargs, distill=0.0).fit(X, y)
    held = AgeNet(module=copy.deepcopy(first), **kwargs, distill=10.0).fit(X, y)
    assert divergence(held) < 0.5 * divergence(free)
    assert "_teacher" not in vars(held)  # fit-time only: never pickled nor saved
    with pytest.raises(ValueError, match="head='dex'"):
        AgeNet(**kwargs, backbone="resnet18", head="regression", distill=1.0).fit(X, y)
