"""Calibrated age intervals: conformal prediction on top of any fitted skage estimator."""

from ._conformal import UNKNOWN_GROUP, ConformalAgeRegressor

__all__ = ["ConformalAgeRegressor", "UNKNOWN_GROUP"]
