"""Age-estimation and fairness metrics, with scikit-learn scorers."""

from ._bins import DEFAULT_AGE_BINS, age_bin_indices, age_bin_labels, check_ages, check_bins

__all__ = ["DEFAULT_AGE_BINS", "age_bin_indices", "age_bin_labels", "check_ages", "check_bins"]
