"""Baseline and ablation comparisons on one seeded split (the benchmark table)."""

from ._run import (DEEP_ROWS, DEFAULT_ROWS, DESCRIPTOR_ROWS, REFINED_ROWS, ROW_TITLES, available_rows,
                   comparison_markdown, deep_row_params, make_row_estimator, refine_fitted, run_comparison,
                   write_comparison)
from ._presets import TRAINING_PRESETS, preset_pipeline_params
from ._split import SPLIT_METHODS, split_indices

__all__ = ["DEEP_ROWS", "DEFAULT_ROWS", "DESCRIPTOR_ROWS", "REFINED_ROWS", "ROW_TITLES", "SPLIT_METHODS",
           "TRAINING_PRESETS", "available_rows", "preset_pipeline_params", "comparison_markdown", "deep_row_params",
           "make_row_estimator", "refine_fitted", "run_comparison", "split_indices", "write_comparison"]
