"""Baseline and ablation comparisons on one seeded split (the benchmark table)."""

from ._run import DEFAULT_ROWS, ROW_TITLES, comparison_markdown, make_row_estimator, run_comparison, write_comparison
from ._split import SPLIT_METHODS, split_indices

__all__ = ["DEFAULT_ROWS", "ROW_TITLES", "SPLIT_METHODS", "comparison_markdown", "make_row_estimator",
           "run_comparison", "split_indices", "write_comparison"]
