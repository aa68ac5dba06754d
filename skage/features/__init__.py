"""Face features: hand-crafted (LBP, HOG) with the classic baseline regressors, and dlib's pretrained descriptors."""

from ._baselines import make_hog_svr, make_hog_tree, make_lbp_svr, make_scaled_svr
from ._descriptor import CHIP_SIZE, LAYER_WIDTHS, FaceDescriptor
from ._hog import HOGFeatures
from ._lbp import LBPFeatures

__all__ = ["CHIP_SIZE", "LAYER_WIDTHS", "FaceDescriptor", "HOGFeatures", "LBPFeatures", "make_hog_svr", "make_hog_tree", "make_lbp_svr", "make_scaled_svr"]
