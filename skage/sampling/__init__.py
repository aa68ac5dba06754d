"""Age-bin balancing for continuous ages (imbalanced-learn samplers)."""

from ._resampler import AgeBinResampler
from ._unreadable import DropUnreadable, UnreadableInputWarning
from ._weights import AgeBinWeightedRegressor

__all__ = ["AgeBinResampler", "AgeBinWeightedRegressor", "DropUnreadable", "UnreadableInputWarning"]
