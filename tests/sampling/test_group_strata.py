"""Demographic-aware sampling: AgeBinResampler balances age bin × group strata."""

import numpy as np
import pytest
from imblearn.over_sampling import SMOTE
from imblearn.pipeline import Pipeline
from imblearn.under_sampling import RandomUnderSampler
from sklearn.base import BaseEstimator, RegressorMixin

from skage.metrics import age_bin_indices
from skage.sampling import AgeBinResampler, fit_with_groups

pytestmark = pytest.mark.filterwarnings("ignore:age bin.*no samples:UserWarning")


def _data(n=600, seed=0):
    rng = np.random.default_rng(seed)
    age = np.clip(rng.gamma(3.0, 10.0, n), 0, 100)
    race = rng.choice(["W", "B", "A"], n, p=[0.6, 0.3, 0.1]).astype(object)
    return np.arange(n, dtype=float).reshape(-1, 1), age, race


def _stratum_counts(y, groups):
    bins = age_bin_indices(y)
    return {(b, g): int(np.sum((bins == b) & (groups == g))) for b in np.unique(bins) for g in np.unique(groups)}


@pytest.mark.parametrize("strategy", ["full", "sqrt"])
def test_strata_are_balanced(strategy):
    X, y, race = _data()
    res = AgeBinResampler(sampling_strategy=strategy, random_state=0)
    X_res, y_res = res.fit_resample(X, y, groups=race)
    before = _stratum_counts(y, race.astype(str))
    race_res = race[res.sample_indices_]
    after = _stratum_counts(y_res, race_res.astype(str))
    anchor = max(before.values())
    for key, c in before.items():
        if c == 0:
            assert after[key] == 0  # nothing to resample from
        else:
            expected = anchor if strategy == "full" else round(np.sqrt(c * anchor))
            assert after[key] == expected, key
    assert set(res.groups_) == {"A", "B", "W"}
    np.testing.assert_array_equal(y_res, y[res.sample_indices_])  # original ages kept


def test_under_sampling_strata():
    X, y, race = _data(2000)
    res = AgeBinResampler(sampler=RandomUnderSampler(), random_state=0)
    _, y_res = res.fit_resample(X, y, groups=race)
    assert set(res.target_counts_.values()) == {min(res.stratum_counts_.values())}


def test_missing_labels_are_their_own_group():
    X, y, race = _data()
    race[:40] = None
    race[40:45] = np.nan
    res = AgeBinResampler(random_state=0)
    res.fit_resample(X, y, groups=race)
    assert "unknown" in res.groups_
    assert sum(c for (b, g), c in res.stratum_counts_.items() if g == "unknown") == 45


def test_pipeline_routes_groups_and_path_only_use_still_works():
    class Recorder(RegressorMixin, BaseEstimator):
        def fit(self, X, y):
            self.n_fit_ = len(y)
            return self

        def predict(self, X):
            return np.zeros(len(X))

    X, y, race = _data()
    paths = np.array([f"face_{i}.jpg" for i in range(len(y))], dtype=object)
    pipe = Pipeline([("balance", AgeBinResampler(random_state=0)), ("model", Recorder())])
    fit_with_groups(pipe, paths, y, race)
    with_groups = pipe.named_steps["model"].n_fit_
    assert with_groups == sum(pipe.named_steps["balance"].target_counts_.values())
    assert all(isinstance(k, tuple) for k in pipe.named_steps["balance"].target_counts_)
    pipe.fit(paths, y)  # no groups: age bins only, as before
    assert pipe.named_steps["balance"].groups_ is None
    assert pipe.named_steps["model"].n_fit_ == 7 * np.bincount(age_bin_indices(y)).max()
    assert all(isinstance(k, str) for k in pipe.named_steps["balance"].target_counts_)


def test_fit_with_groups_reaches_resamplers_inside_an_ensemble():
    from sklearn.ensemble import VotingRegressor
    from sklearn.linear_model import LinearRegression

    X, y, race = _data()
    member = Pipeline([("balance", AgeBinResampler(random_state=0)), ("model", LinearRegression())])
    vote = VotingRegressor([("a", member), ("b", member)])
    fit_with_groups(Pipeline([("model", vote)]), X, y, race)
    for fitted in vote.estimators_:
        assert all(isinstance(k, tuple) for k in fitted.named_steps["balance"].target_counts_)


def test_fit_with_groups_needs_a_resampler():
    from sklearn.linear_model import LinearRegression

    X, y, race = _data()
    with pytest.raises(ValueError, match="no AgeBinResampler"):
        fit_with_groups(Pipeline([("model", LinearRegression())]), X, y, race)


def test_dict_strategy_with_pairs():
    X, y, race = _data()
    res = AgeBinResampler(random_state=0)
    before = res.fit_resample(X, y, groups=race) and res.stratum_counts_
    key = ("61+", "A") if ("61+", "A") in before else next(iter(before))
    target = before[key] + 5
    res = AgeBinResampler(sampling_strategy={key: target}, random_state=0)
    _, y_res = res.fit_resample(X, y, groups=race)
    assert res.target_counts_[key] == target
    assert len(y_res) == len(y) + 5
    with pytest.raises(ValueError, match=r"\(age bin, group\) pairs"):
        AgeBinResampler(sampling_strategy={"61+": 10}).fit_resample(X, y, groups=race)
    with pytest.raises(ValueError, match="names group 'Z'"):
        AgeBinResampler(sampling_strategy={("61+", "Z"): 10}).fit_resample(X, y, groups=race)


def test_smote_with_strata_keeps_ages_inside_the_stratum_bin():
    rng = np.random.default_rng(0)
    X, y, race = _data(800)
    X = np.column_stack([y, rng.normal(size=len(y))])
    res = AgeBinResampler(sampler=SMOTE(k_neighbors=2), random_state=0)
    X_res, y_res = res.fit_resample(X, y, groups=race)
    assert res.is_synthetic_.any()
    counts = np.bincount(age_bin_indices(y_res), minlength=7)
    assert counts.sum() == sum(res.target_counts_.values())


def test_groups_length_mismatch():
    X, y, race = _data()
    with pytest.raises(ValueError, match="groups has 3 labels"):
        AgeBinResampler().fit_resample(X, y, groups=["a", "b", "c"])
