"""Reaching inside a fitted pipeline, and its inputs, without knowing how its last step is wrapped."""


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
    return _innermost(estimator)[0]


def fitted_model_input(estimator, X):
    """``X`` as the innermost fitted model of a skage pipeline sees it at prediction.

    ``X`` goes through every step before each pipeline's last, as
    ``predict`` sends it (samplers such as the resampler act in ``fit``
    only), while the wrappers :func:`fitted_model` unwraps hand it on
    unchanged: e.g. the aligned, parsed chips an :class:`skage.nn.AgeNet`
    predicts from, for its attention maps
    (:func:`skage.viz.plot_attention_grid`).

    Parameters
    ----------
    estimator : fitted Pipeline or estimator
    X : inputs of ``estimator.predict``

    Returns
    -------
    X_model : inputs of ``fitted_model(estimator).predict``

    Examples
    --------
    >>> import numpy as np
    >>> from imblearn.pipeline import make_pipeline
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skage.pipeline import fitted_model_input
    >>> from skage.sampling import AgeBinResampler
    >>> X, y = np.arange(8.0).reshape(-1, 1), np.array([5.0, 9, 15, 25, 35, 45, 55, 65])
    >>> pipe = make_pipeline(StandardScaler(), AgeBinResampler(), Ridge()).fit(X, y)
    >>> fitted_model_input(pipe, X[:2]).round(2).tolist()
    [[-1.53], [-1.09]]
    """
    return _innermost(estimator, X)[1]


def _innermost(estimator, X=None):
    """The innermost fitted model and ``X`` as it sees it (``None`` stays ``None``)."""
    from sklearn.frozen import FrozenEstimator

    model = estimator
    while True:
        if hasattr(model, "steps"):
            if X is not None:
                X = _before_last_step(model, X)
            model = model.steps[-1][1]
        elif isinstance(model, FrozenEstimator):
            model = model.estimator
        elif hasattr(model, "estimator_"):
            model = model.estimator_
        else:
            return model, X


def _before_last_step(pipeline, X):
    # imbalanced-learn's own transform, which skips samplers; the slice must end in a step that
    # transforms (a trailing resampler has no transform), so it ends at the last one before the model
    transforms = [i for i, (_, step) in enumerate(pipeline.steps[:-1]) if hasattr(step, "transform")]
    return pipeline[:transforms[-1] + 1].transform(X) if transforms else X
