"""Reaching inside a fitted pipeline without knowing how its last step is wrapped."""


def fitted_model(estimator):
    """The innermost fitted model of a skage pipeline (e.g. its :class:`skage.nn.AgeNet`).

    Unwraps, in turn: the pipeline's last step; a meta-estimator's fitted
    ``estimator_`` (:class:`skage.refine.KNNAgeRefiner`,
    :class:`skage.intervals.ConformalAgeRegressor`, …); and a
    :class:`sklearn.frozen.FrozenEstimator` (the KNN rows of
    :func:`skage.compare.run_comparison` freeze another row's network).

    Parameters
    ----------
    estimator : fitted Pipeline or estimator

    Returns
    -------
    model : estimator
        The innermost model; ``estimator`` itself when nothing wraps it.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from skage.pipeline import fitted_model
    >>> from skage.refine import KNNAgeRefiner
    >>> refiner = KNNAgeRefiner(Ridge(), n_neighbors=2).fit(np.eye(4), [10.0, 20, 30, 40])
    >>> type(fitted_model(refiner)).__name__
    'Ridge'
    """
    from sklearn.frozen import FrozenEstimator

    model = estimator
    while True:
        if hasattr(model, "steps"):
            model = model.steps[-1][1]
        elif isinstance(model, FrozenEstimator):
            model = model.estimator
        elif hasattr(model, "estimator_"):
            model = model.estimator_
        else:
            return model
