"""Refine age predictions with the ages of the nearest training faces."""

import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, RegressorMixin, clone
from sklearn.neighbors import NearestNeighbors
from sklearn.neighbors._base import _get_weights
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_array

from .._params import check_fitted
from ..metrics import check_ages


def _estimator_has(attr):
    def check(self):
        return self.estimator is not None and hasattr(self.estimator, attr)

    return check


class KNNAgeRefiner(MetaEstimatorMixin, RegressorMixin, BaseEstimator):
    """Blend a model's age with the distance-weighted age of its nearest training faces.

    After fitting ``estimator``, the training embeddings are indexed. At
    predict time the age is ``(1 - blend) * model + blend * knn``, where
    ``knn`` is the weighted mean age of the ``n_neighbors`` nearest training
    samples in embedding space, clipped at 0: a regressor such as an SVR
    extrapolates below 0 for some of the youngest faces, and no age is
    negative.

    Parameters
    ----------
    estimator : estimator with ``fit`` and ``predict``, default=None
        The age model (e.g. :class:`skage.nn.AgeNet`, or a scikit-learn
        regressor on face descriptors); cloned at fit. ``None`` makes a
        KNN-only regressor on the raw features: ``X`` must then be 2-d
        feature vectors (LBP/HOG features, CNN embeddings...) and ``blend``
        and ``uncertainty_threshold`` are ignored.
    n_neighbors : int, default=10
        Number of neighbours K. Clamped, with a warning, to the number of
        distinct training samples.
    blend : float in [0, 1], default=0.5
        Weight of the KNN age: 0 gives the model alone, 1 the KNN alone.
    metric : str, default="cosine"
        Distance between embeddings; a metric name both scikit-learn and
        pynndescent know (``"cosine"``, ``"euclidean"``, ``"manhattan"``...).
    uncertainty_threshold : float, default=None
        If set, refine only the samples whose predicted age distribution
        (``estimator.predict_proba``, probabilities over integer ages
        ``0..C-1``) has a standard deviation above this many years; the others
        keep the model's age. Needs an estimator with ``predict_proba``.
    algorithm : {"auto", "exact", "pynndescent"}, default="auto"
        Neighbour search: exact scikit-learn search, approximate
        :class:`pynndescent.NNDescent`, or ``"auto"``: exact up to
        ``exact_threshold`` training samples, pynndescent above. If
        pynndescent is missing or fails, exact search is used with a warning.
    exact_threshold : int, default=20000
        Largest training set searched exactly when ``algorithm="auto"``.
    weights : {"distance", "uniform"} or callable, default="distance"
        Neighbour weights, as in :class:`sklearn.neighbors.KNeighborsRegressor`:
        inverse distance (neighbours at distance 0 take all the weight),
        equal, or a function of the distance array.
    index_params : dict, default=None
        Extra keyword arguments for :class:`pynndescent.NNDescent` (e.g.
        ``n_neighbors``, ``diversify_prob``, ``pruning_degree_multiplier``);
        ``parallel_batch_queries=True`` is set unless given here.
    query_epsilon : float, default=0.2
        pynndescent's search breadth (``epsilon`` of ``NNDescent.query``):
        larger is slower and more exact. 0.2 reached recall@10 of 0.96 at
        2,800 queries/s on 100k x 2048 embeddings on 2 CPU cores
        (``benchmarks/results/knn_speed_cpu.md``).
    random_state : int or None, default=None
        Seed of the pynndescent index.
    embedding : {"auto", "transform", "input"}, default="auto"
        The space searched: ``"transform"``, the estimator's embeddings
        (``estimator.transform``, e.g. a CNN's penultimate layer);
        ``"input"``, the 2-d features ``X`` themselves (e.g. face
        descriptors under a regressor); ``"auto"``, ``"transform"`` when the
        estimator has a ``transform`` method, else ``"input"``.
    duplicates : {"merge", "count"}, default="merge"
        What an exact repeat of a training row (same embedding and same age)
        does in the neighbour vote. Repeats are always indexed once, so that
        one face never fills several of the K slots. ``"merge"``: the row
        counts once. ``"count"``: the row's neighbour weight is multiplied by
        its number of copies. With an over-sampler before the refiner this
        lets the balance reach the KNN stage: after
        :func:`skage.sampling.fit_with_groups` (an
        :class:`~skage.sampling.AgeBinResampler` balancing age bin × group
        strata, e.g. age bin × race), a face of a stratum over-sampled r-fold
        weighs about r times as much, i.e. each neighbour is weighted by the
        inverse frequency of its age bin × group stratum (without groups,
        of its age bin). Groups are used at fit time only; prediction needs
        the face alone. Without an over-sampler (no repeats) both options
        give the same ages. Jittered image copies (the resampler's copies of
        images for a deep model) have distinct embeddings: they are indexed
        apart and this option does not apply to them.

    Attributes
    ----------
    estimator_ : estimator or None
        The fitted clone of ``estimator``.
    algorithm_ : {"exact", "pynndescent"}
        The search actually used.
    index_ : NearestNeighbors or NNDescent
        The neighbour index over the distinct training embeddings.
    train_ages_ : ndarray of shape (n_indexed,)
        Ages of the indexed training samples (the order of ``kneighbors``).
    n_neighbors_ : int
        Number of neighbours used after clamping.
    n_duplicates_ : int
        Training rows dropped before indexing because they repeat another row
        exactly (same embedding and same age).
    sample_counts_ : ndarray of shape (n_indexed,)
        Number of training rows each indexed sample stands for (1 plus its
        exact repeats); neighbour weights are multiplied by it when
        ``duplicates="count"``.

    Notes
    -----
    Training rows that repeat exactly (same embedding and age, e.g. from
    :class:`skage.sampling.AgeBinResampler` over-sampling of features) are
    indexed once, so one sample cannot fill several of the K neighbour slots;
    ``duplicates`` says whether they still weigh by their number of copies.
    Jittered image copies give different embeddings and are not merged.

    Prediction calls the estimator's ``predict`` and ``transform`` (and
    ``predict_proba`` when gating); with gating, embeddings are computed only
    for the samples that are refined.

    With ``embedding="input"``, a row of ``X`` with a NaN or infinite value
    (e.g. the NaN descriptor of an unreadable image) is predicted as NaN and
    the other rows as usual; in ``fit`` such rows raise a ``ValueError``.

    Both search back ends pickle; pynndescent's search functions are restored
    from numba's on-disk cache when the index is loaded.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.refine import KNNAgeRefiner
    >>> X = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.9, 1.1]])
    >>> y = np.array([10.0, 60.0, 30.0, 34.0])
    >>> knn = KNNAgeRefiner(n_neighbors=2, metric="euclidean", weights="uniform").fit(X, y)
    >>> knn.predict([[1.0, 1.05]]).round(1).tolist()
    [32.0]

    With ``duplicates="count"`` a repeated training row weighs by its copies
    (here the face aged 30 appears three times):

    >>> X3, y3 = np.vstack([X, X[[2, 2]]]), np.append(y, [30.0, 30.0])
    >>> knn = KNNAgeRefiner(n_neighbors=2, metric="euclidean", weights="uniform", duplicates="count")
    >>> knn.fit(X3, y3).predict([[1.0, 1.05]]).round(1).tolist()  # (3 * 30 + 34) / 4
    [31.0]
    >>> knn.sample_counts_.tolist()
    [1, 1, 3, 1]
    """

    _parameter_constraints = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "blend": [Interval(Real, 0, 1, closed="both")],
        "metric": [str],
        "uncertainty_threshold": [Real, None],
        "algorithm": [StrOptions({"auto", "exact", "pynndescent"})],
        "exact_threshold": [Interval(Integral, 0, None, closed="left")],
        "weights": [StrOptions({"distance", "uniform"}), callable],
        "index_params": [dict, None],
        "query_epsilon": [Interval(Real, 0, None, closed="left")],
        "random_state": ["random_state"],
        "embedding": [StrOptions({"auto", "transform", "input"})],
        "duplicates": [StrOptions({"merge", "count"})],
    }

    def __init__(self, estimator=None, n_neighbors=10, blend=0.5, metric="cosine", uncertainty_threshold=None,
                 algorithm="auto", exact_threshold=20000, weights="distance", index_params=None,
                 query_epsilon=0.2, random_state=None, embedding="auto", duplicates="merge"):
        self.estimator = estimator
        self.n_neighbors = n_neighbors
        self.blend = blend
        self.metric = metric
        self.uncertainty_threshold = uncertainty_threshold
        self.algorithm = algorithm
        self.exact_threshold = exact_threshold
        self.weights = weights
        self.index_params = index_params
        self.query_epsilon = query_epsilon
        self.random_state = random_state
        self.embedding = embedding
        self.duplicates = duplicates

    def fit(self, X, y, **fit_params):
        """Fit the estimator, then index its training embeddings.

        Parameters
        ----------
        X : array-like
            Whatever ``estimator`` takes (images, paths...), or 2-d features
            when ``estimator`` is None.
        y : array-like of shape (n_samples,)
            Ages in years.
        **fit_params : dict
            Passed to ``estimator.fit``.

        Returns
        -------
        self : KNNAgeRefiner
        """
        self._check_params()  # the messages users know; then the declared constraints for the rest
        self._validate_params()
        y = check_ages(y)
        if self.estimator is None:
            embeddings = check_array(X, dtype=[np.float32, np.float64])
            self.estimator_, self.embedding_ = None, "input"
            self.n_features_in_ = embeddings.shape[1]
        else:
            self.embedding_ = self._embedding_space()
            if self.uncertainty_threshold is not None and not hasattr(self.estimator, "predict_proba"):
                raise TypeError(f"uncertainty_threshold needs an estimator with predict_proba; "
                                f"{type(self.estimator).__name__} has none")
            if self.embedding_ == "input":
                check_array(X, dtype=[np.float32, np.float64])  # NaN rows fail here, before a long fit
            self.estimator_ = clone(self.estimator).fit(X, y, **fit_params)
            embeddings = X if self.embedding_ == "input" else self.estimator_.transform(X)
            embeddings = check_array(embeddings, dtype=[np.float32, np.float64])
            if self.embedding_ == "input":
                self.n_features_in_ = embeddings.shape[1]
            elif hasattr(self.estimator_, "n_features_in_"):
                self.n_features_in_ = self.estimator_.n_features_in_
        if len(embeddings) != len(y):
            raise ValueError(f"X has {len(embeddings)} samples but y has {len(y)} ages")

        keep, self.sample_counts_ = _distinct_rows(embeddings, y)
        self.n_duplicates_ = int(len(y) - len(keep))
        embeddings, self.train_ages_ = embeddings[keep], y[keep]
        self.n_neighbors_ = min(self.n_neighbors, len(keep))
        if self.n_neighbors_ < self.n_neighbors:
            warnings.warn(f"n_neighbors={self.n_neighbors} is more than the {len(keep)} distinct training "
                          f"samples; using {self.n_neighbors_}", UserWarning)
        self._build_index(embeddings)
        return self

    def _embedding_space(self):
        methods = ("fit", "predict", "transform") if self.embedding == "transform" else ("fit", "predict")
        for method in methods:
            if not hasattr(self.estimator, method):
                raise TypeError(f"estimator {type(self.estimator).__name__} has no {method}(); "
                                f"KNNAgeRefiner with embedding={self.embedding!r} needs {', '.join(methods)}")
        if self.embedding == "auto":
            return "transform" if hasattr(self.estimator, "transform") else "input"
        return self.embedding

    def _check_params(self):
        # Two messages users have met since before the declared constraints (which cover the rest).
        if not isinstance(self.blend, Real) or not 0 <= self.blend <= 1:
            raise ValueError(f"blend must be a number in [0, 1], got {self.blend!r}")
        if self.embedding not in ("auto", "transform", "input"):
            raise ValueError(f"embedding must be 'auto', 'transform' or 'input', got {self.embedding!r}")

    def _build_index(self, embeddings):
        use_nnd = self.algorithm == "pynndescent" or (
            self.algorithm == "auto" and len(embeddings) > self.exact_threshold)
        if use_nnd:
            try:
                from pynndescent import NNDescent

                # Predictions come in batches, so spread each batch over the cores.
                params = {"random_state": self.random_state, "parallel_batch_queries": True,
                          **(self.index_params or {})}
                self.index_ = NNDescent(embeddings, metric=self.metric, **params)
                self.index_.prepare()
                self.algorithm_ = "pynndescent"
                return
            except Exception as exc:  # missing package, unknown metric, numba failure...
                warnings.warn(f"pynndescent index failed ({type(exc).__name__}: {exc}); "
                              "falling back to exact neighbour search", UserWarning)
        self.index_ = NearestNeighbors(n_neighbors=self.n_neighbors_, metric=self.metric).fit(embeddings)
        self.algorithm_ = "exact"

    def kneighbors(self, X, n_neighbors=None):
        """Distances and indices of the nearest indexed training samples.

        Parameters
        ----------
        X : array-like
            Inputs of the estimator, or features when ``estimator`` is None.
        n_neighbors : int, default=None
            Defaults to ``n_neighbors_``.

        Returns
        -------
        distances, indices : ndarray of shape (n_samples, n_neighbors)
            Indices point into ``train_ages_``; nearest first.
        """
        check_fitted(self, "index_")
        return self._kneighbors(self._embed(X), n_neighbors or self.n_neighbors_)

    def _searches_input(self):
        return self.estimator_ is None or self.embedding_ == "input"

    def _embed(self, X):
        emb = X if self._searches_input() else self.estimator_.transform(X)
        emb = check_array(emb, dtype=[np.float32, np.float64])
        if self._searches_input() and emb.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {emb.shape[1]} features, but KNNAgeRefiner was fitted with "
                             f"{self.n_features_in_}")
        return emb

    def _kneighbors(self, emb, k):
        if self.algorithm_ == "pynndescent":
            ind, dist = self.index_.query(emb.astype(np.float32, copy=False), k=k, epsilon=self.query_epsilon)
            return dist.astype(np.float64), ind
        return self.index_.kneighbors(emb, n_neighbors=k)

    def _knn_ages(self, emb):
        dist, ind = self._kneighbors(emb, self.n_neighbors_)
        # KNeighborsRegressor's own weighting (a neighbour at distance 0 takes all the weight)
        w = _get_weights(dist, self.weights)
        w = np.ones_like(dist) if w is None else np.asarray(w, dtype=float)
        if self.duplicates == "count":
            w = w * self.sample_counts_[ind]
        return np.sum(w * self.train_ages_[ind], axis=1) / np.sum(w, axis=1)

    def predict(self, X, return_mask=False):
        """Predict ages.

        Parameters
        ----------
        X : array-like
        return_mask : bool, default=False
            Also return which samples were refined with the KNN age.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
        refined_mask : ndarray of bool, shape (n_samples,)
            Only with ``return_mask=True``: True where the KNN age was blended
            in (all True without ``uncertainty_threshold``).
        """
        check_fitted(self, "index_")
        if self._searches_input():
            features = check_array(X, dtype=[np.float32, np.float64], ensure_all_finite=False)
            usable = np.isfinite(features).all(axis=1)
            if not usable.all():  # e.g. the NaN descriptor of an unreadable image: NaN age, others as usual
                pred, mask = np.full(len(features), np.nan), np.zeros(len(features), dtype=bool)
                if usable.any():
                    pred[usable], mask[usable] = self.predict(features[usable], return_mask=True)
                return (pred, mask) if return_mask else pred
        if self.estimator_ is None:
            pred = self._knn_ages(self._embed(X))
            mask = np.ones(len(pred), dtype=bool)
        elif hasattr(self.estimator_, "predict_outputs"):
            # One forward pass for ages, distribution and embeddings (e.g. AgeNet).
            out = self.estimator_.predict_outputs(X)
            pred = np.asarray(out.ages, dtype=float).reshape(-1).copy()
            mask = np.ones(len(pred), dtype=bool)
            if self.uncertainty_threshold is not None and out.proba is not None:
                mask = _distribution_std(out.proba) > self.uncertainty_threshold
            if mask.any() and self.blend > 0:
                emb = check_array(out.embeddings, dtype=[np.float32, np.float64])[mask]
                pred[mask] = (1 - self.blend) * pred[mask] + self.blend * self._knn_ages(emb)
        else:
            pred = np.asarray(self.estimator_.predict(X), dtype=float).reshape(-1)
            if self.uncertainty_threshold is None:
                mask = np.ones(len(pred), dtype=bool)
            else:
                mask = self.predict_std(X) > self.uncertainty_threshold
            if mask.any() and self.blend > 0:
                emb = self._embed(_safe_indexing(X, mask) if not mask.all() else X)
                pred[mask] = (1 - self.blend) * pred[mask] + self.blend * self._knn_ages(emb)
        pred = np.maximum(pred, 0.0)  # NaN (no face) stays NaN
        return (pred, mask) if return_mask else pred

    @available_if(_estimator_has("predict_proba"))
    def predict_std(self, X):
        """Standard deviation (years) of the estimator's predicted age distribution.

        Column ``c`` of ``estimator.predict_proba`` is the probability of age
        ``c``. This is the spread compared with ``uncertainty_threshold``.
        """
        return _distribution_std(self.predict_proba(X))

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """The estimator's age distribution (passthrough)."""
        check_fitted(self, "index_")
        return np.asarray(self.estimator_.predict_proba(X), dtype=float)

    @available_if(_estimator_has("transform"))
    def transform(self, X):
        """The estimator's embeddings (passthrough)."""
        check_fitted(self, "index_")
        return self.estimator_.transform(X)

    @available_if(_estimator_has("transform"))
    def fit_transform(self, X, y, **fit_params):
        """Fit, then return the estimator's embeddings of ``X``."""
        return self.fit(X, y, **fit_params).transform(X)


    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.positive_only = True  # ages
        if self.estimator is not None:
            from copy import deepcopy

            from sklearn.utils import get_tags

            tags.input_tags = deepcopy(get_tags(self.estimator).input_tags)  # X is what the estimator takes
            tags.input_tags.sparse = False  # the neighbour search takes dense rows
            if hasattr(self.estimator, "transform"):
                from sklearn.utils import TransformerTags

                tags.transformer_tags = TransformerTags()  # transform passes the estimator's embeddings on
        return tags


def _distribution_std(proba):
    """Spread in years of distributions over ages 0..C-1, one per row."""
    proba = np.asarray(proba, dtype=float)
    ages = np.arange(proba.shape[1], dtype=float)
    proba = proba / proba.sum(axis=1, keepdims=True)
    mean = proba @ ages
    return np.sqrt(np.maximum(proba @ ages ** 2 - mean ** 2, 0.0))


def _distinct_rows(embeddings, y):
    """Sorted indices of the first occurrence of each distinct (embedding, age) row, and its number of copies."""
    rows = np.ascontiguousarray(embeddings)
    as_bytes = rows.view(np.dtype((np.void, rows.dtype.itemsize * rows.shape[1]))).ravel()
    _, group = np.unique(as_bytes, return_inverse=True)
    _, first, counts = np.unique(np.column_stack([group.reshape(-1), y]), axis=0, return_index=True,
                                 return_counts=True)
    order = np.argsort(first)
    return first[order], counts[order]


