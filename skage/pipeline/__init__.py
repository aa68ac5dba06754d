"""The whole age-estimation pipeline in one call, saving/loading it, and a pretrained one (``load_model("pretrained")``)."""

from ._age_network import make_age_network_pipeline
from ._factory import MODELS, AgePipeline, make_age_pipeline
from ._parts import fitted_model
from ._persist import ModelFileError, load_model, save_model
from ._predict import predict_faces
from ._pretrained import PRETRAINED, pretrained_model

__all__ = ["AgePipeline", "MODELS", "PRETRAINED", "ModelFileError", "fitted_model", "load_model",
           "make_age_network_pipeline", "make_age_pipeline", "predict_faces", "pretrained_model", "save_model"]
