"""Refinement of a model's age predictions: nearest training faces, and the pull toward the middle undone."""

from ._debias import AgeBiasCorrector
from ._knn import KNNAgeRefiner

__all__ = ["AgeBiasCorrector", "KNNAgeRefiner"]
