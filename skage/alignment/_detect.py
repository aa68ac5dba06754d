"""Face detection on bounded working copies of a photo, boxes given in the photo's own pixels.

A detector's cost grows with the pixels it searches, and dlib's upsampling
multiplies them by four each time; a 12 MP phone photo searched at full size
took minutes and gigabytes. Here each pass searches a copy whose longer side
is capped (decoded reduced where the format allows: see
:class:`skage.io._read.LazyImage`), and its boxes are mapped back to the
photo's full-resolution coordinates.

What is promised: YuNet, searching a copy of at most :data:`WORKING_SIDE` px,
finds faces down to 1/50 of the photo's longer side (80 px in a 4000 x 3000
photo, 160 px in an 8000 x 6000 one; 1/67 was still found, docs/results.md).
Photos no larger than
:data:`SMALL_SIDE` (crops, scans, FG-NET-size photos) are searched at their
own size by the whole cascade, as before.
"""

import numpy as np
from PIL import Image

from skage.io._read import LazyImage

from ._config import _Config
from ._geometry import compose, map_box, view_to_full
from ._models import YUNET_THRESHOLD, get_detector

#: Longest side of the copy YuNet (and ``detector="hog"``) searches. Chosen by measurement
#: (docs/results.md): the six 120-px faces of a 12 MP canvas are all found at 1280, not all at 640.
WORKING_SIDE = 1280
#: Photos up to this size get the whole ``"auto"`` cascade at their own size (HOG's passes and padded
#: retries, then YuNet); larger ones get YuNet, then one HOG pass on a copy this size. dlib's CNN
#: (``detector="cnn"``) never searches more.
SMALL_SIDE = 640

#: Detection passes of each ``detector`` setting, tried in order until one finds a face:
#: (model, extra upsampling); each pass only for the photos the previous ones missed.
DETECTOR_STAGES = {
    "yunet": (("yunet", 0),),
    "hog": (("hog", 0),),
    "cnn": (("cnn", 0),),
    # Small photos: HOG's passes first, as before (YuNet first changed 19 of FG-NET's 1,002 ages, by up to
    # 34 years: it picks an adult beside the child HOG upsampled finds). YuNet replaces dlib's CNN, which
    # cost 6.8 CPU s on a 0.3 MP photo without a face (0.44 now): FG-NET MAE 3.680 -> 3.709, 14 ages
    # changed (docs/results.md).
    "auto": (("hog", 0), ("hog", 1), ("yunet", 0)),
}
# "auto" on a photo larger than SMALL_SIDE: YuNet first (it searches the working copy for faces far
# smaller than HOG finds there, in a third of HOG's time); HOG upsampled and padded would cost seconds on
# a photo without a face.
_LARGE_PHOTO_STAGES = (("yunet", 0), ("hog", 0))

# YuNet's box (forehead to chin) and dlib HOG's box (brows to chin, square) differ; dlib's landmark
# models were trained on HOG boxes. Medians over the FG-NET photos both detectors found (n=98 of 101):
# HOG left = YuNet left - 0.0105 s, top = YuNet top + 0.230 s, side s = YuNet width / 0.966.
_YUNET_TO_HOG = (0.0105, 0.230, 0.966)


class Views:
    """Copies of one photo at bounded sizes, each made once; ``views(side)`` gives ``(rgb, to_full)``."""

    def __init__(self, photo):
        self.photo = photo
        self._made = {}

    def __call__(self, side):
        side = int(min(side, max(self.photo.size)))
        if side not in self._made:
            rgb = self.photo.fit(side)
            self._made[side] = rgb, view_to_full(rgb.shape, self.photo.size)
        return self._made[side]

    def largest(self):
        """The sharpest copy made so far."""
        return self._made[max(self._made)]


def _stage_side(kind, detector, upsample):
    if kind == "yunet":
        return WORKING_SIDE * 2 ** upsample  # upsample: a larger copy (never beyond the photo's own size)
    # dlib's CNN peaked at 0.49 GB on a 640-px copy, 1.36 GB on a 1280-px one; HOG alone gets the working copy
    return WORKING_SIDE if kind == detector == "hog" else SMALL_SIDE


def detect_all(views, config):
    """``([(box, score), ...], stage)``: every face of the first pass that finds any, largest first.

    Boxes are ``(left, top, right, bottom)`` in the photo's full-resolution pixels.
    """
    small = max(views.photo.size) <= SMALL_SIDE
    stages = DETECTOR_STAGES[config.detector]
    if config.detector == "auto" and not small:
        stages = _LARGE_PHOTO_STAGES
    for kind, extra in stages:
        image, to_full = views(_stage_side(kind, config.detector, config.upsample))
        upsample = 0 if kind == "yunet" else config.upsample + extra
        stage = kind if extra == 0 else f"{kind}_x{2 ** extra}"
        found = _find_faces(image, kind, upsample, config.detection_threshold)
        shift = 0
        # Faces filling the frame (tight crops) lack the context a detection window needs; replicated
        # edges give it back. Only small photos: a padded copy of a large one costs much, finds little.
        if not found and config.retry_padded and small and kind != "yunet":
            shift = max(image.shape[:2]) // 4
            padded = np.pad(image, ((shift, shift), (shift, shift), (0, 0)), mode="edge")
            found = _find_faces(padded, kind, upsample, config.detection_threshold)
            stage += "+padded"
        if found:
            faces = [(map_box(to_full, box - shift), float(score)) for box, score in found]
            faces.sort(key=lambda f: -(f[0][2] - f[0][0]) * (f[0][3] - f[0][1]))
            return faces, stage
    return [], ""


#: Side, in pixels, a YuNet face is scaled to for :func:`dlib_box` (HOG's window is 80 px).
_REFINE_FACE_SIDE = 100


def dlib_box(image, box):
    """dlib's box of the face YuNet boxed at ``box`` in ``image``: HOG's, else the CNN's, else None.

    dlib's landmark models were trained on dlib's boxes: landmarks fitted in a
    YuNet box, even mapped to HOG's convention, land off by several pixels on
    a fifth of UTKFace chips. The detectors run on a crop of 1.6 times the
    face, padded and scaled so the face is about 100 px (HOG: a few
    milliseconds whatever its size; the CNN, only where HOG misses: about
    0.15 CPU s). At 120 px and twice the face, FG-NET's MAE was 3.729, not
    3.709, and the CNN took twice as long.
    """
    side = box[2] - box[0]
    scale = min(1.0, _REFINE_FACE_SIDE / side)
    centre = np.array([box[0] + box[2], box[1] + box[3]]) / 2
    x0, y0 = np.floor(centre - 0.8 * side).astype(int)
    x1, y1 = np.ceil(centre + 0.8 * side).astype(int)
    height, width = image.shape[:2]
    crop = image[max(y0, 0):min(y1, height), max(x0, 0):min(x1, width)]
    # replicated edges where the window leaves the image, as for tight crops
    crop = np.pad(crop, ((max(-y0, 0), max(y1 - height, 0)), (max(-x0, 0), max(x1 - width, 0)), (0, 0)), mode="edge")
    if scale < 1:
        pil = Image.fromarray(crop)
        crop = np.asarray(pil.resize((max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
                                     Image.Resampling.BILINEAR, reducing_gap=2.0))
    # crop pixels to image pixels: the crop's scale, then its offset in the image
    to_image = compose(np.array([[1.0, 0.0, x0], [0.0, 1.0, y0]]), view_to_full(crop.shape, (x1 - x0, y1 - y0)))
    crop = np.ascontiguousarray(crop)  # dlib takes contiguous arrays only
    for kind in ("hog", "cnn"):
        best, best_overlap = None, 0.3
        for found, _ in _find_faces(crop, kind, 0, 0.0):
            candidate = map_box(to_image, found)
            overlap = _iou(candidate, box)
            if overlap > best_overlap:
                best, best_overlap = candidate, overlap
        if best is not None:
            return best
    return None


def _iou(a, b):
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _rect_box(rect):
    return np.array([rect.left(), rect.top(), rect.right(), rect.bottom()], dtype=np.float64)


def _find_faces(image, kind, upsample, threshold):
    """All ``(box, score)`` detections of one detector in ``image`` above the threshold."""
    if kind == "yunet":
        return _yunet_faces(image, threshold)
    if kind == "hog":
        rects, scores, _ = get_detector("hog").run(_luma(image), upsample, threshold)
        return [(_rect_box(r), s) for r, s in zip(rects, scores)]
    return [(_rect_box(d.rect), d.confidence) for d in get_detector("cnn")(image, upsample)
            if d.confidence >= threshold]


def _luma(image):
    """The gray (ITU-R 601 luma) copy HOG searches.

    dlib's own examples run its frontal-face detector on gray images; on a
    colour one it takes each pixel's strongest channel gradient, three
    gradients for one. On gray, all 1,002 FG-NET photos through
    ``pretrained`` took 22.4 s instead of 26.1 s, every face still found, MAE
    3.673 (3.709 on colour); UTKFace's seed-0 test chips 6.346 (6.338).
    docs/results.md, issue 32.
    """
    if image.ndim == 2:
        return image
    return np.asarray(Image.fromarray(image).convert("L"))


def _yunet_faces(image, threshold):
    detector = get_detector("yunet")
    height, width = image.shape[:2]
    detector.setInputSize((width, height))
    detector.setScoreThreshold(float(np.clip(YUNET_THRESHOLD + threshold, 0.0, 1.0)))
    _, faces = detector.detect(np.ascontiguousarray(image[:, :, ::-1]))  # OpenCV wants BGR
    if faces is None:
        return []
    dx, dy, ratio = _YUNET_TO_HOG
    found = []
    for x, y, w, _h, *_, score in faces:
        side = w / ratio
        left, top = x - dx * side, y + dy * side
        found.append((np.array([left, top, left + side, top + side]), float(score)))
    return found


def detect_faces(image, detector="hog", upsample=0, detection_threshold=0.0):
    """Every face found in one image, largest first, in the image's own pixels.

    Parameters
    ----------
    image : path or ndarray
    detector : {"hog", "auto", "yunet", "cnn"}, default="hog"
        ``"auto"``: the faces of the first pass of :class:`FaceAligner`'s
        cascade that finds any. Each searches a bounded copy of the image,
        as in :class:`FaceAligner`.
    upsample : int
    detection_threshold : float

    Returns
    -------
    boxes : ndarray of shape (n_faces, 4)
        ``(left, top, right, bottom)`` in image pixels, dlib-HOG-style
        (square, brows to chin) whichever detector found them.
    scores : ndarray of shape (n_faces,)

    Examples
    --------
    >>> import numpy as np
    >>> from skage.alignment import detect_faces
    >>> detect_faces(np.zeros((80, 80, 3), np.uint8))[0].shape
    (0, 4)
    """
    if detector not in DETECTOR_STAGES:
        raise ValueError(f"detector must be one of {sorted(DETECTOR_STAGES)} to find several faces, got {detector!r}")
    config = _Config(detector, 68, 1, 0.0, "eyes", int(upsample), "largest", float(detection_threshold), False)
    found, _ = detect_all(Views(LazyImage(image)), config)
    boxes = np.array([box for box, _ in found], dtype=np.float64).reshape(-1, 4)
    return boxes, np.array([score for _, score in found])
