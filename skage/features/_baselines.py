"""The classic hand-crafted age estimators, as ready-made scikit-learn pipelines."""

from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR
from sklearn.tree import DecisionTreeRegressor

from ._hog import HOGFeatures
from ._lbp import LBPFeatures

# C and epsilon were chosen on a validation split of UTKFace's training part (ages in years,
# standardised features): C=30 beat 10 and 100 for both feature sets; epsilon=1 year ignores
# label noise below a year, which UTKFace's whole-year labels have anyway.
SVR_C = 30.0
SVR_EPSILON = 1.0

# The SVR parameters of every SVR maker, with the defaults above, and the last parameter and the result
# of every feature baseline: worded once, filled in at the end of the module.
_SVR_PARAMS = f"""C, epsilon : float, default={SVR_C}, {SVR_EPSILON}
        :class:`~sklearn.svm.SVR` parameters (ages in years)."""
_N_JOBS_RETURNS = """n_jobs : int, default=None
        Feature extraction processes.

    Returns
    -------
    pipeline : :class:`~sklearn.pipeline.Pipeline`
        Steps ``features``, ``scale``, ``regressor``."""


def _baseline(features, regressor):
    """The shape every baseline shares: features → standard scaling → regressor."""
    return Pipeline([("features", features), *make_scaled_svr(regressor=regressor).steps])


def make_scaled_svr(C=SVR_C, epsilon=SVR_EPSILON, regressor=None):
    """Standard scaling → RBF support vector regression, for feature vectors that are already computed.

    The regressor of ``make_age_pipeline(model="descriptor")`` and of every
    baseline here.

    Parameters
    ----------
    {svr_params}
    regressor : regressor, default=None
        Used instead of the SVR when given.

    Returns
    -------
    pipeline : :class:`~sklearn.pipeline.Pipeline`
        Steps ``scale``, ``regressor``.

    Examples
    --------
    >>> from skage.features import make_scaled_svr
    >>> make_scaled_svr(C=10).named_steps["regressor"]
    SVR(C=10, epsilon=1.0)
    """
    return Pipeline([("scale", StandardScaler()), ("regressor", _svr(C, epsilon) if regressor is None else regressor)])


def _svr(C, epsilon):
    return SVR(kernel="rbf", C=C, epsilon=epsilon, gamma="scale")


def _hog(image_size, pixels_per_cell, orientations, n_jobs):
    return HOGFeatures(image_size=image_size, pixels_per_cell=pixels_per_cell, orientations=orientations, n_jobs=n_jobs)


def make_lbp_svr(image_size=64, radius=(1, 2, 3), n_cells=8, C=SVR_C, epsilon=SVR_EPSILON, n_jobs=None):
    """LBP histograms → standard scaling → RBF support vector regression.

    Parameters
    ----------
    image_size : int, default=64
        Grey face side in pixels.
    radius : int or sequence of int, default=(1, 2, 3)
        LBP radii (8 neighbours each); see :class:`LBPFeatures`.
    n_cells : int, default=8
        LBP grid cells per side.
    {svr_params}
    {n_jobs_returns}

    Examples
    --------
    >>> from skage.features import make_lbp_svr
    >>> make_lbp_svr().named_steps["regressor"]
    SVR(C=30.0, epsilon=1.0)
    """
    return _baseline(LBPFeatures(image_size=image_size, radius=radius, n_cells=n_cells, n_jobs=n_jobs),
                     _svr(C, epsilon))


def make_hog_svr(image_size=64, pixels_per_cell=8, orientations=9, C=SVR_C, epsilon=SVR_EPSILON, n_jobs=None):
    """HOG descriptor → standard scaling → RBF support vector regression.

    Parameters
    ----------
    image_size : int, default=64
        Grey face side in pixels.
    pixels_per_cell : int, default=8
        HOG cell side (an 8 x 8 grid of cells at 64 px).
    orientations : int, default=9
        HOG orientation bins.
    {svr_params}
    {n_jobs_returns}

    Examples
    --------
    >>> from skage.features import make_hog_svr
    >>> make_hog_svr(image_size=32).named_steps["features"].image_size
    32
    """
    return _baseline(_hog(image_size, pixels_per_cell, orientations, n_jobs), _svr(C, epsilon))


def make_hog_tree(image_size=64, pixels_per_cell=8, orientations=9, max_depth=8, min_samples_leaf=10,
                  random_state=None, n_jobs=None):
    """HOG descriptor → standard scaling → decision tree regression.

    A single tree is a weak, interpretable baseline; depth and leaf size are
    capped so that it does not memorise the training faces.

    Parameters
    ----------
    image_size, pixels_per_cell, orientations
        As in :func:`make_hog_svr`.
    max_depth : int, default=8
    min_samples_leaf : int, default=10
        :class:`~sklearn.tree.DecisionTreeRegressor` parameters.
    random_state : int or None, default=None
        Tree seed (ties between equally good splits).
    {n_jobs_returns}

    Examples
    --------
    >>> from skage.features import make_hog_tree
    >>> make_hog_tree(random_state=0).named_steps["regressor"].max_depth
    8
    """
    tree = DecisionTreeRegressor(max_depth=max_depth, min_samples_leaf=min_samples_leaf, random_state=random_state)
    return _baseline(_hog(image_size, pixels_per_cell, orientations, n_jobs), tree)


for _maker in (make_scaled_svr, make_lbp_svr, make_hog_svr, make_hog_tree):
    _maker.__doc__ = _maker.__doc__.replace("{svr_params}", _SVR_PARAMS).replace("{n_jobs_returns}", _N_JOBS_RETURNS)
