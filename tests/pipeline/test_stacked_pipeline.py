"""make_stacked_pipeline, the default model: steps, options, and what make_age_pipeline() builds."""

import pytest

from skage.pipeline import make_age_pipeline, make_stacked_pipeline
from skage.stacking import StackedAgeRegressor


def test_steps_and_options_reach_the_members():
    pipe = make_stacked_pipeline(max_epochs=2, cv=3, distill=0.5, random_state=0)
    assert [name for name, _ in pipe.steps] == ["check", "align", "faces", "equalize", "model"]
    align, model = pipe.named_steps["align"], pipe.named_steps["model"]
    assert (align.geometry, align.landmarks, align.output_size) == ("dlib", 5, 150)
    assert isinstance(model, StackedAgeRegressor) and model.cv == 3
    members = dict(model.members)
    assert [m.max_epochs for m in members.values()] == [2, 2]
    assert (members["age_network"].distill, members["face_network"].distill) == (0.5, 0.0)


def test_the_default_model_is_the_stacked_one():
    default = make_age_pipeline()
    assert isinstance(default.named_steps["model"], StackedAgeRegressor)
    assert [name for name, _ in make_age_pipeline(model="resnet").steps][-1] == "model"
    with pytest.raises(ValueError, match="does not take image_size"):
        make_age_pipeline(image_size=224)


@pytest.mark.parametrize("kwargs, name", [({"cv": 1}, "cv"), ({"degrade": 0}, "degrade"),
                                          ({"max_epochs": 0}, "max_epochs"), ({"distill": -1}, "distill")])
def test_bad_options_name_the_parameter(kwargs, name):
    with pytest.raises(ValueError, match=f"'{name}' parameter"):
        make_stacked_pipeline(**kwargs)
