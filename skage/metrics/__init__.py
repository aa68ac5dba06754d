"""Age-estimation and fairness metrics, with scikit-learn scorers."""

from ._audit import FairnessAudit, fairness_audit
from ._bins import DEFAULT_AGE_BINS, age_bin_counts, age_bin_indices, age_bin_labels, check_ages, check_bins
from ._groups import UNKNOWN_GROUP, group_label, group_labels
from ._report import AgeReport, acc_at_k, age_report, bias_score, cmae_score, group_mae, per_bin_mae
from ._scorers import AGE_SCORERS, acc5_scorer, bias_scorer, cmae_scorer, get_age_scorer, mae_scorer
from ._shots import shot_mae

__all__ = [
    "DEFAULT_AGE_BINS", "age_bin_counts", "age_bin_indices", "age_bin_labels", "check_ages", "check_bins",
    "UNKNOWN_GROUP", "group_label", "group_labels",
    "AgeReport", "age_report", "acc_at_k", "bias_score", "cmae_score", "group_mae", "per_bin_mae",
    "shot_mae",
    "FairnessAudit", "fairness_audit",
    "AGE_SCORERS", "get_age_scorer", "mae_scorer", "cmae_scorer", "bias_scorer", "acc5_scorer",
]
