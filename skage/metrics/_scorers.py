"""scikit-learn scorers for the age metrics (higher is better, as sklearn expects)."""

from sklearn.metrics import make_scorer, mean_absolute_error

from ._report import acc_at_k, bias_score, cmae_score

mae_scorer = make_scorer(mean_absolute_error, greater_is_better=False)
cmae_scorer = make_scorer(cmae_score, greater_is_better=False)
bias_scorer = make_scorer(bias_score, greater_is_better=False)
acc5_scorer = make_scorer(acc_at_k, k=5)

#: Scorer names accepted by :func:`get_age_scorer`; ``neg_`` ones are negated errors.
AGE_SCORERS = {
    "neg_mae": mae_scorer,
    "neg_cmae": cmae_scorer,
    "neg_bias": bias_scorer,
    "acc_at_5": acc5_scorer,
}


def get_age_scorer(name, **kwargs):
    """A scorer by name, for ``GridSearchCV(scoring=...)``.

    Parameters
    ----------
    name : {"neg_mae", "neg_cmae", "neg_bias", "acc_at_5", "acc_at_k"}
    **kwargs
        Passed to the metric, e.g. ``bins=`` for CMAE/bias or ``k=`` for acc_at_k.

    Examples
    --------
    >>> from skage.metrics import get_age_scorer
    >>> scorer = get_age_scorer("neg_cmae", bins=(0, 20, 40))
    """
    metrics = {"neg_mae": (mean_absolute_error, False), "neg_cmae": (cmae_score, False),
               "neg_bias": (bias_score, False), "acc_at_5": (acc_at_k, True), "acc_at_k": (acc_at_k, True)}
    if name not in metrics:
        raise ValueError(f"unknown age scorer {name!r}; choose from {sorted(metrics)}")
    if not kwargs and name in AGE_SCORERS:
        return AGE_SCORERS[name]
    func, greater = metrics[name]
    return make_scorer(func, greater_is_better=greater, **kwargs)
