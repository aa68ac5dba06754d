"""FaceParser: landmark-based soft region masks appended to aligned chips."""

import os
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np
from joblib import Parallel
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions

from PIL import Image

from skage._parallel import chunked_results
from skage._params import check_fitted
from skage._stateless import ChipsFitMixin
from skage.alignment._aligner import DEFAULT_MARGIN, fit_landmarks
from skage.alignment._cache import ArrayCache, input_fingerprint
from skage.alignment._geometry import apply_transform
from skage.alignment._models import get_detector, get_shape_predictor
from skage.alignment._template import MEAN_HOG_BOX, frame_to_chip, template_landmarks

from ._regions import REGIONS, region_masks

#: Per-chip landmark source, in :attr:`ParsingResult.flags`.
PARSE_FLAGS = ("detected", "given", "template")

# Size the chip is scaled to for the face check: the expected detection box in pixels.
_DETECT_BOX_PX = 100
# A detection this close to where alignment put the face counts as that face.
_MIN_IOU = 0.5


@dataclass
class ParsingResult:
    """Region masks and the landmarks they were drawn from, one row per chip.

    Attributes
    ----------
    masks : ndarray of shape (N, S, S, K), uint8
        Soft masks, channel order :data:`REGIONS`.
    landmarks : ndarray of shape (N, 68, 2), float32
        Landmarks used, in chip pixel coordinates.
    flags : ndarray of shape (N,), str
        ``"detected"`` (fitted on the chip), ``"given"`` (passed to
        :meth:`FaceParser.parse`) or ``"template"`` (no plausible landmarks:
        the mean face was used).
    scores : ndarray of shape (N,), float32
        HOG detector score of the face found on the chip where alignment
        put it (NaN when none was found or none was looked for).

    Examples
    --------
    >>> import numpy as np
    >>> from skage.alignment import template_landmarks
    >>> from skage.parsing import FaceParser
    >>> chips = np.zeros((2, 64, 64, 3), np.uint8)
    >>> known = np.stack([template_landmarks(68, 64, 0.1), np.full((68, 2), np.nan)])
    >>> result = FaceParser(landmarks="template").fit(chips).parse(chips, landmarks=known)
    >>> result.masks.shape, result.flags.tolist(), result.fallback.tolist()
    ((2, 64, 64, 9), ['given', 'template'], [False, True])
    """

    masks: np.ndarray = None
    landmarks: np.ndarray = None
    flags: np.ndarray = None
    scores: np.ndarray = None

    @property
    def fallback(self):
        """Boolean mask of the chips parsed with the template."""
        return self.flags == "template"

    def __len__(self):
        return len(self.flags)


def _iou(a, b):
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _chip_landmarks(chip, given, config):
    """``(landmarks, flag, score)`` for one chip."""
    size, margin, geometry, mode, threshold = config
    if given is not None and np.all(np.isfinite(given)):
        return given, "given", np.nan
    template = template_landmarks(68, size, margin, geometry)
    if mode == "template":
        return template, "template", np.nan
    # The aligner put the face where the template's detection box is. Rescale the
    # chip so that box is ~100 px (HOG finds faces from 80 px) and accept only a
    # detection that sits there: dlib's landmark fit has no confidence of its own
    # and returns a face shape even on noise.
    expected = apply_transform(frame_to_chip(size, margin, geometry), MEAN_HOG_BOX.reshape(2, 2)).ravel()
    scale = _DETECT_BOX_PX / (expected[2] - expected[0])
    work = chip
    if abs(scale - 1) > 0.05:
        side = max(1, int(round(size * scale)))
        work = np.asarray(Image.fromarray(chip).resize((side, side), Image.Resampling.BILINEAR))
        scale = side / size
    rects, scores, _ = get_detector("hog").run(work, 0, threshold)
    best, best_score, best_iou = None, np.nan, 0.0
    for rect, score in zip(rects, scores):
        box = (np.array([rect.left(), rect.top(), rect.right(), rect.bottom()]) + 0.5) / scale - 0.5
        overlap = _iou(box, expected)
        if overlap > best_iou:
            best, best_score, best_iou = box, float(score), overlap
    if best is None or best_iou < _MIN_IOU:
        return template, "template", best_score
    if scale < 1:  # landmarks at the higher of the two resolutions
        return fit_landmarks(chip, best, 68), "detected", best_score
    work_box = (best + 0.5) * scale - 0.5
    return (fit_landmarks(work, work_box, 68) + 0.5) / scale - 0.5, "detected", best_score


def _parse_chunk(chips, given, config, blur):
    out = []
    for i, chip in enumerate(chips):
        landmarks, flag, score = _chip_landmarks(np.ascontiguousarray(chip[..., :3]), given[i], config)
        out.append((region_masks(landmarks, chip.shape[0], blur), landmarks, flag, score))
    return out


class FaceParser(ChipsFitMixin, TransformerMixin, BaseEstimator):
    """Append soft face-region masks to aligned chips.

    For each chip, dlib's 68 landmarks are fitted *on the chip* and turned
    into one soft mask per region of :data:`REGIONS` (forehead extrapolated
    above the brows by facial proportions; brows; eyes; under-eyes; nose;
    cheeks; mouth; jaw and chin; whole-face skin without eyes, brows and
    mouth). The masks are appended as extra channels, so images and masks
    stay paired through any later step that indexes, resamples or caches
    samples.

    Why the chip and not the aligner's landmarks: a ``Pipeline`` passes only
    the chips from step to step, and chips may come from a cache or another
    tool. Because chips are aligned, the face is where the template puts it:
    the chip is scaled so that face is ~100 px, dlib's HOG detector runs
    once (a few ms; no upsampling needed) and only a detection overlapping
    the expected face box (IoU >= 0.5) is accepted; the landmarks are fitted
    in that box. This check matters because dlib's landmark fit has no
    confidence: it returns a face shape even on noise. When the aligner's
    landmarks are at hand, :meth:`parse` accepts them and skips all this.

    A chip without that face (a centre-cropped failure of the aligner, a
    blank chip, a face the HOG detector misses) gets the mean-face template
    placed by ``margin``, flagged ``"template"`` in what :meth:`parse`
    returns; no chip is lost.

    Parameters
    ----------
    landmarks : {"detect", "template"}, default="detect"
        Fit landmarks on each chip, or always use the mean-face template
        (fast; right only on average).
    margin : float, default=None
        The ``margin`` the chips were aligned with
        (:class:`skage.alignment.FaceAligner`); tells where the face should
        be and places the template. ``None``: the aligner's default for
        ``geometry`` (0.1 for ``"eyes"``, 0.25 for ``"dlib"``).
    geometry : {"eyes", "dlib"}, default="eyes"
        The chip geometry the chips were aligned with (``FaceAligner``'s
        ``geometry``): eyes at fixed points, or dlib's own face chip.
    detection_threshold : float, default=-0.5
        Offset to the HOG detector's threshold for the face check on each
        chip (lower accepts more). At -0.5 all 297 aligned UTKFace chips
        we checked passed, while 0 of 50 chips shifted by a third, 3 of 50
        upside-down chips and 0 of 10 noise images did.
    blur : float, default=0.05
        Mask edge softness (Gaussian sigma as a fraction of the inter-ocular
        distance); 0 for hard masks.
    n_jobs : int, default=None
        Worker processes over chips (joblib).
    cache_dir : str or path-like, default=None
        Directory of memory-mapped caches of the output, keyed by the input
        chips (by file when they are a cached ``np.memmap``, else by
        content) and the parameters; :meth:`transform` then returns a
        read-only ``np.memmap``.

    Attributes
    ----------
    regions_ : tuple of str
        Names of the appended channels, in order (:data:`REGIONS`).
    n_channels_in_ : int
        Channels of the chips seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.parsing import FaceParser
    >>> chips = np.zeros((2, 64, 64, 3), np.uint8)
    >>> parser = FaceParser(landmarks="template").fit(chips)
    >>> parser.transform(chips).shape
    (2, 64, 64, 12)
    """

    _parameter_constraints = {
        "landmarks": [StrOptions({"detect", "template"})],
        "margin": [Interval(Real, -0.25, 2, closed="right"), None],
        "geometry": [StrOptions(set(DEFAULT_MARGIN))],
        "detection_threshold": [Real],
        "blur": [Interval(Real, 0, None, closed="left")],
        "n_jobs": [Integral, None],
        "cache_dir": [None, str, os.PathLike],
    }

    # The masks are drawn in the chip's square geometry.
    _square_chips = True
    _chips_origin = ", aligned, e.g. by FaceAligner"

    def __init__(
        self, landmarks="detect", margin=None, geometry="eyes", detection_threshold=-0.5, blur=0.05, n_jobs=None,
        cache_dir=None
    ):
        self.landmarks = landmarks
        self.margin = margin
        self.geometry = geometry
        self.detection_threshold = detection_threshold
        self.blur = blur
        self.n_jobs = n_jobs
        self.cache_dir = cache_dir

    def _check_setup(self):
        if self.landmarks == "detect":
            get_shape_predictor(68)  # fail here, not in a worker, if the model is missing

    def _margin(self):
        return float(DEFAULT_MARGIN[self.geometry] if self.margin is None else self.margin)

    def _fit_setup(self):
        self._check_setup()
        self.regions_ = REGIONS

    def parse(self, X, landmarks=None):
        """Masks and landmarks for each chip.

        Parameters
        ----------
        X : ndarray of shape (N, S, S, C), uint8
        landmarks : ndarray of shape (N, 68, 2), default=None
            Known landmarks in chip coordinates, e.g.
            ``FaceAligner(...).align(paths).landmarks``; rows with NaN are
            fitted as usual.

        Returns
        -------
        result : ParsingResult
        """
        check_fitted(self, "regions_")
        self._check_setup()
        X = self._check_chips(X)
        if landmarks is not None:
            landmarks = np.asarray(landmarks, dtype=np.float64)
            if landmarks.shape != (len(X), 68, 2):
                raise ValueError(f"landmarks must have shape ({len(X)}, 68, 2), got {landmarks.shape}")
        masks = np.empty(X.shape[:3] + (len(REGIONS),), np.uint8)
        return self._parse_into(X, landmarks, masks)

    def _parse_into(self, X, landmarks, masks):
        n, size = len(X), X.shape[1]
        config = (size, self._margin(), self.geometry, self.landmarks, float(self.detection_threshold))
        given = [None] * n if landmarks is None else list(landmarks)
        lms = np.empty((n, 68, 2), np.float32)
        flags = np.empty(n, dtype="<U8")
        scores = np.empty(n, np.float32)
        blur = float(self.blur)

        def chunk_args(start, stop):  # the RGB of these chips only: masks and other rows stay here
            return np.asarray(X[start:stop, ..., :3]), given[start:stop], config, blur

        with Parallel(n_jobs=self.n_jobs) as parallel:
            for start, rows in chunked_results(parallel, _parse_chunk, n, chunk_args):
                for i, (mask, lm, flag, score) in enumerate(rows, start):
                    masks[i] = mask
                    lms[i], flags[i], scores[i] = lm, flag, score
        return ParsingResult(masks, lms, flags, scores)

    def transform(self, X):
        """The chips with the region masks appended.

        Parameters
        ----------
        X : ndarray of shape (N, S, S, C), uint8

        Returns
        -------
        X_masks : ndarray of shape (N, S, S, C + len(REGIONS)), uint8
            Masks scaled 0..255 in :data:`REGIONS` order; a read-only
            ``np.memmap`` when ``cache_dir`` is set.
        """
        check_fitted(self, "regions_")
        self._check_setup()
        X = self._check_fitted_chips(X)
        shape = X.shape[:3] + (X.shape[3] + len(REGIONS),)
        channels = X.shape[3]

        def fill(out):
            for start in range(0, len(X), 1024):  # copy in blocks: X may be a memmap larger than RAM
                out[start : start + 1024, ..., :channels] = X[start : start + 1024]
            result = self._parse_into(X, None, out[..., channels:])
            return {"landmarks": result.landmarks, "flags": result.flags, "scores": result.scores}

        if self.cache_dir is None:
            out = np.empty(shape, np.uint8)
            fill(out)
        else:
            cache = ArrayCache(self.cache_dir)
            params = (self.landmarks, self._margin(), self.geometry, float(self.detection_threshold), float(self.blur))
            key = cache.key("parsed", input_fingerprint(X), params)
            out, _ = cache.load(key) or cache.write(key, shape, np.uint8, fill)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags
