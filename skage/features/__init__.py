"""Hand-crafted face features (LBP, HOG) and the classic baseline regressors built on them."""

from ._baselines import make_hog_svr, make_hog_tree, make_lbp_svr
from ._hog import HOGFeatures
from ._lbp import LBPFeatures

__all__ = ["HOGFeatures", "LBPFeatures", "make_hog_svr", "make_hog_tree", "make_lbp_svr"]
