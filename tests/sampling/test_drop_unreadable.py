"""DropUnreadable, the first step of every skage pipeline: unreadable inputs out, training ages checked."""

import warnings

import numpy as np
import pytest
from PIL import Image

from skage.pipeline import MODELS, make_age_pipeline
from skage.sampling import DropUnreadable, UnreadableInputWarning


@pytest.fixture
def files(tmp_path):
    """Two small PNG faces (flat grey squares) and a missing file between them."""
    paths = []
    for i, name in enumerate(["a.png", "b.png"]):
        Image.fromarray(np.full((24, 24, 3), 60 + 40 * i, np.uint8)).save(tmp_path / name)
        paths.append(str(tmp_path / name))
    return np.array([paths[0], str(tmp_path / "missing.jpg"), paths[1]], dtype=object)


def test_fit_transform_without_labels_drops_unreadable_files(files):
    pipe = make_age_pipeline(model="resnet", align=False, image_size=16, device="cpu", n_jobs=1)
    with pytest.warns(UnreadableInputWarning, match="1 of 3 training inputs.*missing.jpg"):
        chips = pipe[:4].fit_transform(files)  # check, align (here a plain loader), faces, equalize
    assert chips.shape == (2, 16, 16, 3)
    X_kept, y_kept = DropUnreadable().fit_resample(files[[0, 2]])
    assert y_kept is None and list(X_kept) == list(files[[0, 2]])


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("bias_correction", [None, 0.5])
def test_every_pipeline_checks_its_training_ages_first(model, bias_correction):
    from skage.pipeline._factory import builder_options

    if bias_correction is not None and "bias_correction" not in builder_options(model):  # not its option
        with pytest.raises(ValueError, match="does not take bias_correction"):
            make_age_pipeline(model=model, bias_correction=bias_correction)
        return
    if model == "two_networks":
        pytest.importorskip("onnx")  # its age network comes with the pretrained extra
    options = {} if bias_correction is None else {"bias_correction": bias_correction}
    pipe = make_age_pipeline(model=model, **options)
    assert isinstance(pipe.steps[0][1], DropUnreadable)


def test_ages_above_the_oldest_human_age_warn_at_fit():
    X = [np.zeros((8, 8, 3), np.uint8)] * 3
    with pytest.warns(UserWarning, match=r"1 training age\(s\) above 122.*highest 200, first at index 2"):
        DropUnreadable().fit_resample(X, [30.0, 122.0, 200.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        DropUnreadable().fit_resample(X, [30.0, 116.0, 122.0])  # UTKFace's oldest is 116
    with pytest.raises(ValueError, match="negative"):
        DropUnreadable().fit_resample(X, [30.0, -1.0, 40.0])
