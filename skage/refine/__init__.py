"""Nearest-neighbour refinement of age predictions (and a KNN-only baseline)."""

from ._knn import KNNAgeRefiner

__all__ = ["KNNAgeRefiner"]
