"""Training chips made to look like users' photos: gray, faded, soft, small, noisy, compressed."""

from ._copies import DegradedCopies
from ._degrade import DEGRADATIONS, degrade_chip

__all__ = ["DEGRADATIONS", "DegradedCopies", "degrade_chip"]
