"""KNNAgeRefiner(duplicates="count"): over-sampled repeats weigh in the neighbour vote.

With AgeBinResampler balancing age bin × group strata (fit_with_groups), this weights each
neighbour by the inverse frequency of its stratum; groups are used at fit time only.
"""

import numpy as np
import pytest
from imblearn.pipeline import Pipeline
from sklearn.linear_model import Ridge

from skage.refine import KNNAgeRefiner
from skage.sampling import AgeBinResampler, fit_with_groups

pytestmark = pytest.mark.filterwarnings("ignore:age bin.*have no samples:UserWarning")


def test_a_repeated_row_weighs_by_its_copies():
    X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.9, 1.1]])
    y = np.array([10.0, 60.0, 30.0, 34.0])
    X3, y3 = np.vstack([X, X[[2, 2]]]), np.append(y, [30.0, 30.0])  # the face aged 30, three times
    query = [[1.0, 1.05]]  # its two nearest faces: aged 30 and 34
    merge = KNNAgeRefiner(n_neighbors=2, metric="euclidean", weights="uniform").fit(X3, y3)
    count = KNNAgeRefiner(n_neighbors=2, metric="euclidean", weights="uniform", duplicates="count").fit(X3, y3)
    assert merge.predict(query)[0] == pytest.approx(32.0)
    assert count.predict(query)[0] == pytest.approx((3 * 30 + 34) / 4)
    assert count.sample_counts_.tolist() == [1, 1, 3, 1] == merge.sample_counts_.tolist()
    assert count.n_duplicates_ == 2
    # the repeated face still fills one of the K slots only
    _, ind = count.kneighbors(query)
    assert sorted(count.train_ages_[ind[0]].tolist()) == [30.0, 34.0]


def test_counts_multiply_distance_weights():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 4))
    y = rng.uniform(5, 80, size=30)
    copies = rng.integers(1, 4, size=30)
    Xr, yr = np.repeat(X, copies, axis=0), np.repeat(y, copies)
    knn = KNNAgeRefiner(n_neighbors=5, metric="euclidean", duplicates="count").fit(Xr, yr)
    query = rng.normal(size=(6, 4))
    dist, ind = knn.kneighbors(query)
    w = knn.sample_counts_[ind] / dist
    np.testing.assert_allclose(knn.predict(query), (w * knn.train_ages_[ind]).sum(1) / w.sum(1))
    np.testing.assert_array_equal(np.sort(knn.sample_counts_), np.sort(copies))


def test_without_repeats_count_and_merge_agree():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(50, 3)), rng.uniform(1, 90, size=50)
    kw = dict(estimator=Ridge(), n_neighbors=7, blend=0.5, embedding="input")
    a = KNNAgeRefiner(**kw).fit(X, y).predict(X[:10])
    b = KNNAgeRefiner(**kw, duplicates="count").fit(X, y).predict(X[:10])
    np.testing.assert_array_equal(a, b)


def _strata_faces():
    """Two groups on the same feature region: 'a' faces aged 8-10 are common, 'b' faces aged 60 rare.

    A query in that region has mostly 'a' children among its neighbours; balancing age bin × group
    repeats the rare 'b' elders, and counting the repeats moves the KNN age towards them.
    """
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, size=(40, 2)), rng.normal(0, 0.2, size=(4, 2)),  # shared region
                   rng.normal(8, 1, size=(40, 2)), rng.normal(8, 1, size=(40, 2))])  # other strata, far away
    y = np.concatenate([rng.uniform(8, 10, 40), np.full(4, 60.0), rng.uniform(8, 10, 40), np.full(40, 60.0)])
    groups = np.array(["a"] * 40 + ["b"] * 4 + ["b"] * 40 + ["a"] * 40, dtype=object)
    return X, y, groups


def _pipe(duplicates):
    knn = KNNAgeRefiner(n_neighbors=20, metric="euclidean", weights="uniform", duplicates=duplicates)
    return Pipeline([("balance", AgeBinResampler(random_state=0)), ("model", knn)])


def test_group_balance_reaches_the_neighbour_vote():
    X, y, groups = _strata_faces()
    query = np.zeros((1, 2))
    merge = fit_with_groups(_pipe("merge"), X, y, groups)
    count = fit_with_groups(_pipe("count"), X, y, groups)
    balance = count.named_steps["balance"]
    model = count.named_steps["model"]
    # the counts are the resampler's repeats of each distinct face
    copies = np.bincount(balance.sample_indices_, minlength=len(y))
    np.testing.assert_array_equal(np.sort(model.sample_counts_), np.sort(copies))
    # 'b' elders of the shared region: 4 faces over-sampled to the largest stratum (40)
    assert balance.target_counts_[("51-60", "b")] == 40 and balance.stratum_counts_[("51-60", "b")] == 4
    knn_merge, knn_count = merge.predict(query)[0], count.predict(query)[0]
    neighbours = merge.named_steps["model"].train_ages_[merge.named_steps["model"].kneighbors(query)[1][0]]
    assert np.sum(neighbours == 60) == 4  # the query's 20 neighbours: 16 children, the 4 elders
    assert knn_merge == pytest.approx(neighbours.mean()) and knn_merge < 25  # plain vote
    # counted vote: each elder stands for its ~10 copies (40 over 4 faces), each child for 1
    ind = model.kneighbors(query)[1][0]
    assert model.sample_counts_[ind].sum() == 16 + 40
    assert knn_count == pytest.approx(np.average(model.train_ages_[ind], weights=model.sample_counts_[ind]))
    assert knn_count > 40


def test_without_groups_the_resampler_balances_bins_only_and_predict_needs_no_groups():
    X, y, groups = _strata_faces()
    pipe = _pipe("count").fit(X, y)  # no groups: age bins 0-10 and 51-60 have 80 and 44 faces
    balance, model = pipe.named_steps["balance"], pipe.named_steps["model"]
    assert balance.groups_ is None and balance.target_counts_ == {"0-10": 80, "51-60": 80}
    assert model.sample_counts_.sum() == 160 and model.sample_counts_.max() <= 1 + 80  # bin balance only
    pred = pipe.predict(np.zeros((3, 2)))  # prediction takes faces only
    assert pred.shape == (3,) and np.isfinite(pred).all()


def test_missing_group_labels_form_the_unknown_group_and_keep_their_faces():
    X, y, groups = _strata_faces()
    groups = groups.copy()
    groups[:5] = None
    pipe = fit_with_groups(_pipe("count"), X, y, groups)
    balance, model = pipe.named_steps["balance"], pipe.named_steps["model"]
    assert "unknown" in balance.groups_ and balance.stratum_counts_[("0-10", "unknown")] == 5
    assert len(model.train_ages_) == len(y)  # every face indexed, none dropped
    assert np.isfinite(pipe.predict(X[:5])).all()


@pytest.mark.parametrize("bad", ["weight", None, 1])
def test_duplicates_is_validated(bad):
    X, y = np.eye(3), np.array([10.0, 20.0, 30.0])
    with pytest.raises(ValueError, match="duplicates"):
        KNNAgeRefiner(n_neighbors=2, duplicates=bad).fit(X, y)
