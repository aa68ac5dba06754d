"""Ages above the DEX head's last class are reported, never capped in silence."""

import warnings

import numpy as np
import pytest

from skage.nn import AgeNet


def test_ages_above_max_age_warn_with_the_fix(make_chips, tiny):
    X, y = make_chips(n=8)
    y[:2] = [105.0, 116.0]
    with pytest.warns(UserWarning, match=r"2 training age\(s\) above max_age=100 \(up to 116\).*max_age=116"):
        AgeNet(**dict(tiny, max_epochs=1, train_split=None)).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        net = AgeNet(**dict(tiny, max_epochs=1, train_split=None, max_age=116)).fit(X, y)
    assert net.predict_proba(X).shape[1] == 117
