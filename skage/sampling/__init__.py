"""Age-bin balancing for continuous ages (imbalanced-learn samplers)."""

from ._resampler import AgeBinResampler, fit_with_groups
from ._no_face import DropNoFace, NoFaceWarning
from ._unreadable import DropUnreadable, UnreadableInputWarning
from ._weights import AgeBinWeightedRegressor

__all__ = ["AgeBinResampler", "fit_with_groups", "AgeBinWeightedRegressor", "DropUnreadable", "UnreadableInputWarning",
           "DropNoFace", "NoFaceWarning"]
