"""Display names for the UTKFace group codes stored in its file names."""

import numpy as np
import pandas as pd

from ..metrics import group_label

#: UTKFace gender codes (``age_gender_race_date.jpg``).
GENDER_NAMES = {0: "male", 1: "female"}

#: UTKFace race codes.
RACE_NAMES = {0: "White", 1: "Black", 2: "Asian", 3: "Indian", 4: "Others"}

#: ``names=`` mapping for :func:`plot_group_mae` on UTKFace groups.
UTKFACE_GROUP_NAMES = {"gender": GENDER_NAMES, "race": RACE_NAMES}


def _lookup(value, mapping):
    """The display name of one code; integer-valued floats and digit strings match int keys."""
    if value in mapping:
        return mapping[value]
    if isinstance(value, (float, np.floating)) and float(value).is_integer() and int(value) in mapping:
        return mapping[int(value)]
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and int(value) in mapping:
        return mapping[int(value)]
    if str(value) in mapping:
        return mapping[str(value)]
    # Codes the mapping does not know stay visible under their own label rather than being dropped.
    return group_label(value)


def map_group_names(labels, mapping):
    """Replace group codes by display names; missing labels (None, NaN) stay missing.

    Without a mapping (``None``) the labels only become strings.

    Examples
    --------
    >>> map_group_names([0, 1.0, "1", None], GENDER_NAMES).tolist()
    ['male', 'female', 'female', None]
    """
    labels = np.asarray(labels, dtype=object).reshape(-1)
    mapping = {} if mapping is None else mapping
    return np.array([None if pd.isna(v) else _lookup(v, mapping) for v in labels], dtype=object)
