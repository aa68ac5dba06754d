"""Age-bin balancing for continuous ages (imbalanced-learn samplers)."""

from ._resampler import AgeBinResampler

__all__ = ["AgeBinResampler"]
