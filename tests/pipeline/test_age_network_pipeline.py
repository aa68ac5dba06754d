"""make_age_network_pipeline: dlib's CC0 age network fine-tuned, distilled from itself, on degraded copies too."""

import numpy as np
import pytest

from skage.nn import AgeNet
from skage.pipeline import load_model, make_age_network_pipeline, make_age_pipeline, save_model


def test_steps_and_recipe():
    pipe = make_age_network_pipeline(max_epochs=3, random_state=0, net_params={"lr": 3e-4})
    assert [name for name, _ in pipe.steps] == ["check", "align", "faces", "equalize", "degrade", "model"]
    align, net = pipe.named_steps["align"], pipe.named_steps["model"]
    assert (align.geometry, align.landmarks, align.output_size, align.margin) == ("dlib", 5, 64, 0.2)
    assert isinstance(net, AgeNet)
    assert (net.backbone, net.attention, net.distill, net.max_epochs, net.lr) == ("cydral_age", False, 3.0, 3, 3e-4)
    assert make_age_network_pipeline(degrade=None).named_steps["degrade"] == "passthrough"
    same = make_age_pipeline(model="age_network", max_epochs=3, random_state=0, net_params={"lr": 3e-4})
    assert same.get_params(deep=False).keys() == pipe.get_params(deep=False).keys()
    assert same.named_steps["model"].get_params(deep=False) == net.get_params(deep=False)
    with pytest.raises(ValueError, match="does not take image_size"):
        make_age_pipeline(model="age_network", image_size=224)


@pytest.mark.parametrize("kwargs, name", [({"distill": -1}, "distill"), ({"degrade": 0}, "degrade"),
                                          ({"no_face": "skip"}, "no_face"), ({"max_epochs": 0}, "max_epochs")])
def test_bad_options_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        make_age_network_pipeline(**kwargs)


def test_bias_correction_wraps_degrade_and_the_network():
    from skage.refine import AgeBiasCorrector

    pipe = make_age_network_pipeline(bias_correction=0.5, max_epochs=2, random_state=0)
    corrector = pipe.named_steps["model"]
    assert [name for name, _ in pipe.steps] == ["check", "align", "faces", "equalize", "model"]
    assert isinstance(corrector, AgeBiasCorrector) and corrector.strength == 0.5
    # the copies are made inside, so the held-out fifth is real faces
    assert [name for name, _ in corrector.estimator.steps] == ["degrade", "model"]
    assert pipe.get_params()["model__estimator__model__max_epochs"] == 2


def test_degrade_refuses_true():
    # scikit-learn's Interval(Real) takes True as 1 copy (False fails as 0); the descriptor builder refuses it too
    with pytest.raises(ValueError, match="degrade must be a number or None, got True"):
        make_age_network_pipeline(degrade=True)


def test_fit_predict_save_on_real_chips(utkface_sample, tmp_path, age_network_wheel):
    X, y = utkface_sample(10, seed=3)
    pipe = make_age_network_pipeline(max_epochs=1, batch_size=8, device="cpu", random_state=0, verbose=0,
                                     detector="hog")
    pipe.fit(X[:8], y[:8])
    net = pipe.named_steps["model"]
    assert len(net.history) == 1 and "_teacher" not in vars(net)
    pred = pipe.predict(np.r_[X[8:], ["missing.jpg"]])
    assert pred.shape == (3,) and np.isfinite(pred[:2]).all() and np.isnan(pred[2])
    path = save_model(pipe, tmp_path / "tuned.skage")
    np.testing.assert_allclose(load_model(path).predict(X[8:]), pred[:2], rtol=1e-4)
