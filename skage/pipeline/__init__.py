"""The whole age-estimation pipeline in one call, and saving/loading it."""

from ._factory import MODELS, make_age_pipeline
from ._parts import fitted_model
from ._persist import ModelFileError, load_model, save_model
from ._predict import predict_faces

__all__ = ["MODELS", "ModelFileError", "fitted_model", "load_model", "make_age_pipeline", "predict_faces",
           "save_model"]
