import pickle
import sys

import numpy as np
from sklearn.utils import Bunch
import pytest
from scipy.stats import norm
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.decomposition import PCA
from sklearn.linear_model import Ridge
from sklearn.neighbors import KNeighborsRegressor, NearestNeighbors

from skage.refine import KNNAgeRefiner


class PCARidgeAge(RegressorMixin, BaseEstimator):
    """Tiny age model: PCA embedding + ridge; a Gaussian age distribution whose
    spread grows with |x0| so that some samples are 'uncertain'."""

    def __init__(self, n_components=4):
        self.n_components = n_components

    def fit(self, X, y):
        self.pca_ = PCA(self.n_components, random_state=0).fit(X)
        self.ridge_ = Ridge(alpha=1.0).fit(self.pca_.transform(X), y)
        return self

    def transform(self, X):
        return self.pca_.transform(X)

    def predict(self, X):
        return self.ridge_.predict(self.pca_.transform(X))

    def predict_proba(self, X):
        mean = np.clip(self.predict(X), 0, 100)[:, None]
        std = 1.0 + 4.0 * np.abs(np.asarray(X)[:, :1])
        p = norm.pdf(np.arange(101)[None, :], mean, std)
        return p / p.sum(axis=1, keepdims=True)


class NoTransform(RegressorMixin, BaseEstimator):
    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 12))
    y = np.clip(40 + 12 * X[:, 1] + 5 * X[:, 2] ** 2 + rng.normal(scale=4, size=300), 1, 95)
    return X[:240], y[:240], X[240:]


@pytest.mark.parametrize("weights", ["distance", "uniform"])
@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
def test_blend_one_equals_knn_regression_on_embeddings(data, weights, metric):
    X, y, Xq = data
    ref = KNNAgeRefiner(PCARidgeAge(), n_neighbors=7, blend=1.0, metric=metric, weights=weights).fit(X, y)
    emb = ref.estimator_.transform
    knn = KNeighborsRegressor(7, weights=weights, metric=metric).fit(emb(X), y)
    np.testing.assert_allclose(ref.predict(Xq), knn.predict(emb(Xq)), rtol=1e-12)
    assert ref.algorithm_ == "exact"


def test_estimator_none_is_knn_only_baseline(data):
    X, y, Xq = data
    ref = KNNAgeRefiner(n_neighbors=5, blend=0.3).fit(X, y)  # blend ignored without a model
    knn = KNeighborsRegressor(5, weights="distance", metric="cosine").fit(X, y)
    np.testing.assert_allclose(ref.predict(Xq), knn.predict(Xq), rtol=1e-12)
    # A query equal to a training row takes that row's age (distance 0), as in scikit-learn.
    np.testing.assert_allclose(ref.predict(X[:3]), y[:3])
    with pytest.raises(ValueError, match="X has 3 features, but KNNAgeRefiner was fitted with 12"):
        ref.predict(Xq[:, :3])


def test_blend_zero_is_the_model_and_half_is_the_mean(data):
    X, y, Xq = data
    model = PCARidgeAge().fit(X, y)
    zero = KNNAgeRefiner(PCARidgeAge(), blend=0.0).fit(X, y)
    np.testing.assert_allclose(zero.predict(Xq), model.predict(Xq))
    one = KNNAgeRefiner(PCARidgeAge(), blend=1.0).fit(X, y).predict(Xq)
    half = KNNAgeRefiner(PCARidgeAge(), blend=0.5).fit(X, y).predict(Xq)
    np.testing.assert_allclose(half, 0.5 * model.predict(Xq) + 0.5 * one)


def test_uncertainty_gating_refines_only_uncertain_samples(data):
    X, y, Xq = data
    model = PCARidgeAge().fit(X, y)
    always = KNNAgeRefiner(PCARidgeAge(), blend=0.6).fit(X, y).predict(Xq)
    ref = KNNAgeRefiner(PCARidgeAge(), blend=0.6, uncertainty_threshold=5.0).fit(X, y)
    pred, mask = ref.predict(Xq, return_mask=True)
    std = ref.predict_std(Xq)
    np.testing.assert_array_equal(mask, std > 5.0)
    assert 0 < mask.sum() < len(mask)
    np.testing.assert_allclose(pred[~mask], model.predict(Xq)[~mask])
    np.testing.assert_allclose(pred[mask], always[mask])
    # The Gaussian spread is known here: std ~= 1 + 4|x0| (where not truncated at 0 or 100).
    np.testing.assert_allclose(std, 1 + 4 * np.abs(Xq[:, 0]), rtol=0.05)
    np.testing.assert_array_equal(ref.predict(Xq), pred)


def test_passthroughs_and_missing_methods(data):
    X, y, Xq = data
    ref = KNNAgeRefiner(PCARidgeAge()).fit(X, y)
    np.testing.assert_allclose(ref.transform(Xq), ref.estimator_.transform(Xq))
    np.testing.assert_allclose(ref.predict_proba(Xq).sum(axis=1), 1.0)
    assert not hasattr(KNNAgeRefiner(), "predict_proba")
    with pytest.raises(TypeError, match="NoTransform has no transform"):
        KNNAgeRefiner(NoTransform(), embedding="transform").fit(X, y)
    with pytest.raises(ValueError, match="embedding must be"):
        KNNAgeRefiner(NoTransform(), embedding="pixels").fit(X, y)
    with pytest.raises(ValueError, match="blend must be a number in \\[0, 1\\]"):
        KNNAgeRefiner(blend=1.5).fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        KNNAgeRefiner().fit(X[:2], [3.0, np.nan])


def test_exact_duplicates_count_once(data):
    X, y, Xq = data
    doubled = KNNAgeRefiner(n_neighbors=5).fit(np.r_[X, X[:50], X[:50]], np.r_[y, y[:50], y[:50]])
    single = KNNAgeRefiner(n_neighbors=5).fit(X, y)
    assert doubled.n_duplicates_ == 100 and single.n_duplicates_ == 0
    np.testing.assert_allclose(doubled.predict(Xq), single.predict(Xq))
    # Same embedding, different age: two samples, both kept.
    both = KNNAgeRefiner(n_neighbors=2, weights="uniform").fit(np.r_[X[:1], X[:1]], [20.0, 30.0])
    assert both.n_duplicates_ == 0 and both.predict(X[:1])[0] == pytest.approx(25.0)


def test_too_few_samples_clamps_k_with_warning():
    with pytest.warns(UserWarning, match="using 3"):
        ref = KNNAgeRefiner(n_neighbors=10, metric="euclidean", weights="uniform").fit(
            [[0.0], [1.0], [2.0]], [10.0, 20.0, 30.0])
    assert ref.predict([[1.0]])[0] == pytest.approx(20.0)


def test_missing_pynndescent_falls_back_to_exact(data, monkeypatch):
    X, y, Xq = data
    monkeypatch.setitem(sys.modules, "pynndescent", None)  # import now raises ImportError
    with pytest.warns(UserWarning, match="falling back to exact"):
        ref = KNNAgeRefiner(n_neighbors=5, algorithm="auto", exact_threshold=100).fit(X, y)
    assert ref.algorithm_ == "exact"
    np.testing.assert_allclose(ref.predict(Xq), KNNAgeRefiner(n_neighbors=5).fit(X, y).predict(Xq))


def test_clone_params_pickle_exact(data):
    X, y, Xq = data
    ref = KNNAgeRefiner(PCARidgeAge(n_components=3), n_neighbors=4, blend=0.7)
    assert clone(ref).get_params()["estimator__n_components"] == 3
    ref.set_params(estimator__n_components=5).fit(X, y)
    assert ref.estimator_.pca_.n_components_ == 5
    again = pickle.loads(pickle.dumps(ref))
    np.testing.assert_array_equal(again.predict(Xq), ref.predict(Xq))


@pytest.mark.slow
def test_pynndescent_agrees_with_exact_and_pickles():
    """The one test that builds a pynndescent index: it pays numba's compile (about a minute)."""
    rng = np.random.default_rng(0)
    centers = rng.normal(scale=3, size=(20, 8))
    X = (centers[rng.integers(20, size=1500)] + rng.normal(size=(1500, 8))) @ rng.normal(size=(8, 32))
    y = rng.uniform(0, 90, len(X))
    Xq = X[:100] + rng.normal(scale=0.5, size=(100, 32))
    ann = KNNAgeRefiner(n_neighbors=10, algorithm="pynndescent", random_state=0,
                        index_params={"n_neighbors": 15}).fit(X, y)
    assert ann.algorithm_ == "pynndescent"
    _, ind = ann.kneighbors(Xq)
    truth = NearestNeighbors(n_neighbors=10, metric="cosine").fit(X).kneighbors(Xq, return_distance=False)
    recall = np.mean([len(np.intersect1d(a, b)) / 10 for a, b in zip(ind, truth)])
    assert recall >= 0.9
    exact = KNNAgeRefiner(n_neighbors=10, algorithm="exact").fit(X, y).predict(Xq)
    assert np.median(np.abs(ann.predict(Xq) - exact)) < 1.0
    again = pickle.loads(pickle.dumps(ann))
    np.testing.assert_allclose(again.predict(Xq), ann.predict(Xq))


class OnePass(PCARidgeAge):
    """Offers predict_outputs like AgeNet; counts how often the model is run."""

    calls = 0

    def predict_outputs(self, X):
        type(self).calls += 1
        return Bunch(ages=self.predict(X), proba=self.predict_proba(X), embeddings=self.transform(X))


@pytest.mark.parametrize("threshold", [None, 5.0])
def test_single_pass_outputs_give_the_same_refined_ages(data, threshold):
    X, y, Xq = data
    plain = KNNAgeRefiner(PCARidgeAge(), blend=0.6, uncertainty_threshold=threshold).fit(X, y)
    fast = KNNAgeRefiner(OnePass(), blend=0.6, uncertainty_threshold=threshold).fit(X, y)
    OnePass.calls = 0
    np.testing.assert_allclose(fast.predict(Xq), plain.predict(Xq))
    assert OnePass.calls == 1


def test_input_embedding_searches_the_features(data):
    """A regressor without transform (e.g. SVR on face descriptors): neighbours are searched in X itself."""
    X, y, Xq = data
    ref = KNNAgeRefiner(NoTransform(), blend=1.0, metric="euclidean").fit(X, y)
    knn_only = KNNAgeRefiner(metric="euclidean").fit(X, y)
    assert ref.embedding_ == "input" and ref.n_features_in_ == X.shape[1]
    np.testing.assert_allclose(ref.predict(Xq), knn_only.predict(Xq))
    half = KNNAgeRefiner(NoTransform(), blend=0.25, metric="euclidean").fit(X, y)
    np.testing.assert_allclose(half.predict(Xq), 0.25 * knn_only.predict(Xq))  # the model predicts 0


def test_rows_without_features_get_nan(data):
    """NaN feature rows (an unreadable image's descriptor) give NaN ages; the other rows are untouched."""
    X, y, Xq = data
    ref = KNNAgeRefiner(NoTransform(), blend=0.5).fit(X, y)
    query = Xq[:5].copy()
    query[[1, 3], 2] = np.nan
    pred, mask = ref.predict(query, return_mask=True)
    assert np.isnan(pred[[1, 3]]).all() and not mask[[1, 3]].any()
    np.testing.assert_allclose(pred[[0, 2, 4]], ref.predict(Xq[[0, 2, 4]]))
    assert np.isnan(ref.predict(query[[1]])).all()
    with pytest.raises(ValueError, match="NaN"):
        KNNAgeRefiner(NoTransform()).fit(np.r_[X[:10], query[[1]]], y[:11])


def test_ages_below_zero_stop_at_zero(data):
    """A linear regressor extrapolates below 0 for faces beyond the youngest: no negative age comes out."""
    X, y, Xq = data
    query = Xq.copy()
    query[:10, 1] = -6.0  # the feature that lowers the age, far beyond the training range
    model = Ridge().fit(X, y).predict(query)
    assert (model < 0).sum() >= 5
    alone = KNNAgeRefiner(Ridge(), blend=0.0).fit(X, y).predict(query)
    np.testing.assert_allclose(alone, np.maximum(model, 0.0))
    blended = KNNAgeRefiner(Ridge(), blend=0.2).fit(X, y).predict(query)
    assert blended.min() == 0.0 and (blended[10:] > 0).all()
