"""One builder per model family over a shared chip front-end, ``make_age_pipeline(model=...)`` to pick one,
saving/loading pipelines, and a pretrained one (``load_model("pretrained")``)."""

from ._age_network import make_age_network_pipeline
from ._descriptor import make_descriptor_pipeline
from ._ensemble import make_ensemble_pipeline
from ._age_pipeline import AgePipeline
from ._factory import MODELS, make_age_pipeline
from ._parts import fitted_model, fitted_model_input
from ._persist import ModelFileError, load_model, save_model
from ._predict import iter_predict_faces, predict_faces
from ._pretrained import PRETRAINED, pretrained_model
from ._resnet import make_resnet_pipeline
from ._stacked import make_stacked_pipeline
from ._two_networks import make_two_networks_pipeline

__all__ = ["AgePipeline", "MODELS", "PRETRAINED", "ModelFileError", "fitted_model", "fitted_model_input", "load_model",
           "make_age_network_pipeline", "make_age_pipeline", "make_descriptor_pipeline", "make_ensemble_pipeline",
           "make_resnet_pipeline", "make_stacked_pipeline", "make_two_networks_pipeline", "iter_predict_faces", "predict_faces", "pretrained_model", "save_model"]
