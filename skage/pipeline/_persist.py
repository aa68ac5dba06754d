"""Saving and loading trained pipelines with a version stamp."""

import datetime as _dt
from pathlib import Path

import joblib

from .. import __version__

_FORMAT = "skage-model"


class ModelFileError(ValueError):
    """A model file is missing, not a skage model, or from an incompatible version."""


def _major_minor(version):
    return tuple(str(version).split(".")[:2])


def save_model(estimator, path, **info):
    """Save a fitted estimator with the skage version and free-form ``info``.

    Plain ``joblib.dump(pipeline, path)`` works too; this adds a stamp so that
    :func:`load_model` can refuse files from an incompatible release clearly.

    Examples
    --------
    >>> from sklearn.dummy import DummyRegressor
    >>> from skage.pipeline import load_model, save_model
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "m.joblib")
    >>> _ = save_model(DummyRegressor().fit([[0]], [30]), path, data="toy")
    >>> load_model(path).predict([[1]]).tolist()
    [30.0]
    """
    payload = {"format": _FORMAT, "skage_version": __version__,
               "saved": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
               "info": info, "estimator": estimator}
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(payload, path)
    return Path(path)


def load_model(path, return_info=False):
    """Load an estimator written by :func:`save_model` (or a plain joblib dump).

    Raises
    ------
    ModelFileError
        If the file is missing, unreadable, or was written by a skage release
        with another major.minor version.
    """
    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"model file not found: {path}")
    try:
        payload = joblib.load(path)
    except (ModuleNotFoundError, AttributeError, ImportError) as exc:
        raise ModelFileError(f"{path} was written by an incompatible version of skage or its dependencies "
                             f"({exc.__class__.__name__}: {exc}); retrain it with skage {__version__}") from None
    except Exception as exc:  # joblib/pickle raise many types for non-model files
        raise ModelFileError(f"{path} is not a readable model file ({exc.__class__.__name__}: {exc})") from None
    if isinstance(payload, dict) and payload.get("format") == _FORMAT:
        saved = payload.get("skage_version", "?")
        if _major_minor(saved) != _major_minor(__version__):
            raise ModelFileError(f"{path} was saved by skage {saved}, which is incompatible with skage "
                                 f"{__version__}; retrain it or install skage {saved}")
        estimator, info = payload["estimator"], {**payload.get("info", {}), "skage_version": saved,
                                                  "saved": payload.get("saved")}
    elif hasattr(payload, "predict"):
        estimator, info = payload, {}
    else:
        raise ModelFileError(f"{path} does not hold a skage model (found {type(payload).__name__})")
    return (estimator, info) if return_info else estimator
