"""Age-bin balancing for continuous ages (imbalanced-learn samplers)."""

from ._resampler import AgeBinResampler, fit_with_groups
from ._no_face import DropNoFace, NoFaceWarning
from ._unreadable import DropUnreadable, UnreadableInputWarning
from ._weights import AgeBinWeightedRegressor, effective_number_weights, effective_number_weights_from_counts

__all__ = ["AgeBinResampler", "fit_with_groups", "AgeBinWeightedRegressor", "effective_number_weights",
           "effective_number_weights_from_counts", "DropUnreadable", "UnreadableInputWarning",
           "DropNoFace", "NoFaceWarning"]
