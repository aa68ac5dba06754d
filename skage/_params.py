"""Parameters checked where they are used: at predict and transform too, not only at fit.

A fitted model's parameters can change after ``fit`` (``set_params`` on a loaded model, e.g.
``model__blend=5`` or ``align__detector="nope"``), and scikit-learn checks the declared
``_parameter_constraints`` only at ``fit``. Checking them again before an estimator predicts or
transforms names the parameter, where the bad value would otherwise fail deep inside
(``KeyError: 'nope'``, "negative dimensions are not allowed") or give a wrong age silently.
"""

from sklearn import get_config
from sklearn.utils.validation import check_is_fitted


def check_params(estimator):
    """Validate ``estimator``'s parameters against its ``_parameter_constraints``.

    Skipped where scikit-learn's ``skip_parameter_validation`` is set (as
    ``_fit_context`` does for nested calls).
    """
    if not get_config()["skip_parameter_validation"]:
        estimator._validate_params()


def check_fitted(estimator, attributes=None):
    """``check_is_fitted(estimator, attributes)``, then :func:`check_params`."""
    check_is_fitted(estimator, attributes)
    check_params(estimator)
