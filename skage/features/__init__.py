"""Face features: hand-crafted (LBP, HOG) with the classic baseline regressors, dlib's pretrained descriptors,
and dlib's CC0 age network (Cydral): its features, and its ages as a ready regressor."""

from .._dlib_networks import AGE_CHIP_PADDING, AGE_CHIP_SIZE, AGE_OUTPUT_WIDTHS, CHIP_SIZE, LAYER_WIDTHS
from ._age_network import CydralAgeFeatures, CydralAgeRegressor
from ._baselines import make_hog_svr, make_hog_tree, make_lbp_svr, make_scaled_svr
from ._descriptor import FaceDescriptor
from ._hog import HOGFeatures
from ._lbp import LBPFeatures

__all__ = ["AGE_CHIP_PADDING", "AGE_CHIP_SIZE", "AGE_OUTPUT_WIDTHS", "CydralAgeFeatures", "CydralAgeRegressor",
           "CHIP_SIZE", "LAYER_WIDTHS", "FaceDescriptor", "HOGFeatures", "LBPFeatures", "make_hog_svr", "make_hog_tree", "make_lbp_svr", "make_scaled_svr"]
