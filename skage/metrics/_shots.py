"""Deep-imbalanced-regression (DIR) style many/medium/few-shot MAE."""

import numpy as np

from ._bins import check_ages
from ._report import _check_pair


def shot_mae(y_true, y_pred, y_train, many=100, few=20):
    """MAE split by how often each (integer) test age occurs in training.

    Following the DIR benchmarks (Yang et al., 2021): an age is *many-shot*
    when it has more than ``many`` training images, *few-shot* below ``few``,
    *medium-shot* otherwise.

    Returns
    -------
    result : dict
        ``{"many": mae, "medium": mae, "few": mae}`` plus ``"n_many"``,
        ``"n_medium"``, ``"n_few"`` test counts; a split without test samples
        has MAE NaN.

    Examples
    --------
    >>> from skage.metrics import shot_mae
    >>> r = shot_mae([1, 50], [2, 53], y_train=[1] * 150 + [50] * 5)
    >>> r["many"], r["few"], r["n_medium"]
    (1.0, 3.0, 0)
    """
    y_true, y_pred = _check_pair(y_true, y_pred)
    y_train = check_ages(y_train, name="y_train")
    if few > many:
        raise ValueError(f"few ({few}) must not exceed many ({many})")
    ages, counts = np.unique(np.round(y_train).astype(int), return_counts=True)
    lookup = dict(zip(ages.tolist(), counts.tolist()))
    n_train = np.array([lookup.get(a, 0) for a in np.round(y_true).astype(int)])
    err = np.abs(y_true - y_pred)
    masks = {"many": n_train > many, "few": n_train < few}
    masks["medium"] = ~(masks["many"] | masks["few"])
    result = {}
    for name in ("many", "medium", "few"):
        m = masks[name]
        result[name] = float(err[m].mean()) if m.any() else float("nan")
        result[f"n_{name}"] = int(m.sum())
    return result
