"""Calibrated age intervals: conformal prediction on top of any fitted skage estimator."""

from ..metrics import UNKNOWN_GROUP  # the group of faces without a label, which are calibrated too
from ._conformal import ConformalAgeRegressor

__all__ = ["ConformalAgeRegressor", "UNKNOWN_GROUP"]
