"""Group labels (gender, race...) as every group-aware part of skage names them."""

import numpy as np
import pandas as pd

#: Label of samples whose group is missing (None, NaN): a group of its own wherever groups are kept.
UNKNOWN_GROUP = "unknown"


def group_label(value):
    """The name of one group label: a string, :data:`UNKNOWN_GROUP` when missing.

    Codes read through pandas become floats (``1.0``) when a column has gaps;
    they are named as the integers they are.

    Examples
    --------
    >>> from skage.metrics import group_label
    >>> group_label(1.0), group_label("f"), group_label(None)
    ('1', 'f', 'unknown')
    """
    if value is None or (np.ndim(value) == 0 and pd.isna(value)):
        return UNKNOWN_GROUP
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def group_labels(labels):
    """:func:`group_label` of each label, as a 1-d object array.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.metrics import group_labels
    >>> group_labels([1.0, "f", None, np.nan]).tolist()
    ['1', 'f', 'unknown', 'unknown']
    """
    return np.array([group_label(v) for v in np.asarray(labels, dtype=object).reshape(-1)], dtype=object)
