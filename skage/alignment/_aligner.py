"""FaceAligner: detect, landmark and warp faces into fixed-geometry chips."""

import os
from dataclasses import dataclass, field, replace
from numbers import Integral, Real

import numpy as np
from joblib import Parallel
from tqdm.auto import tqdm
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import HasMethods, Interval, Options, StrOptions
from sklearn.utils.validation import check_is_fitted, check_memory

from skage._parallel import chunked_results
from skage._params import check_params
from skage._stateless import StatelessFitMixin
from skage.io import ImageReadError, as_image_list, describe_source, read_image
from skage.io._read import LazyImage

from ._cache import ArrayCache, input_fingerprint
from ._config import _Config
from ._detect import DETECTOR_STAGES, WORKING_SIDE, Views, detect_all, detect_faces, dlib_box  # noqa: F401
from ._geometry import (
    IDENTITY,
    _chip_details_transform,
    apply_transform,
    centre_crop_transform,
    compose,
    dlib_chip_details,
    dlib_face_chip,
    eye_centres,
    invert_transform,
    map_box,
    similarity_from_points,
    view_to_full,
    warp_image,
)
from ._models import get_detector, get_shape_predictor
from ._template import box_from_landmarks, target_eyes

#: Per-image outcome of alignment, in :attr:`AlignmentResult.flags`.
FLAGS = ("ok", "no_face", "too_small", "unreadable")

#: Default ``margin`` of each chip geometry (dlib's own padding for "dlib").
DEFAULT_MARGIN = {"eyes": 0.1, "dlib": 0.25}

# Below this size dlib finds neither faces nor landmarks worth trusting.
MIN_IMAGE_SIZE = 32


def blank_chips(chips):
    """True for each chip without a single non-zero RGB pixel: the chip of an input without a face.

    :class:`FaceAligner` gives such a chip to an unreadable input, and (with
    the default ``on_failure="blank"``) to an image in which it finds no
    face. It carries no face, so the models give it NaN rather than the age
    of a black square, and skage's pipelines leave it out of training
    (:class:`skage.sampling.DropNoFace`).

    Parameters
    ----------
    chips : ndarray of shape (N, S, S, C)

    Returns
    -------
    blank : ndarray of bool, shape (N,)

    Examples
    --------
    >>> import numpy as np
    >>> from skage.alignment import blank_chips
    >>> blank_chips(np.stack([np.zeros((4, 4, 3), np.uint8), np.ones((4, 4, 3), np.uint8)])).tolist()
    [True, False]
    """
    chips = np.asarray(chips)
    return ~chips[..., :3].reshape(len(chips), -1).any(axis=1)


class FaceNotFoundError(ValueError):
    """No usable face in an image (raised with ``on_failure="raise"``).

    Attributes
    ----------
    source : str
        The file path, or ``"array[i]"``.
    flag : str
        ``"no_face"`` or ``"too_small"``.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.alignment import FaceAligner, FaceNotFoundError
    >>> aligner = FaceAligner(output_size=64, on_failure="raise").fit(None)
    >>> try:
    ...     aligner.align([np.zeros((100, 80, 3), np.uint8)])
    ... except FaceNotFoundError as exc:
    ...     print(exc.source, exc.flag)
    array[0] no_face
    """

    def __init__(self, source, flag):
        self.source, self.flag = str(source), flag
        reason = "no face found" if flag == "no_face" else f"image smaller than {MIN_IMAGE_SIZE} px"
        super().__init__(f"{self.source}: {reason}")

    def __reduce__(self):
        return type(self), (self.source, self.flag)


@dataclass
class AlignmentResult:
    """Everything :class:`FaceAligner` knows about each image, one row per input, in order.

    Attributes
    ----------
    chips : ndarray of shape (N, S, S, 3), uint8, or None
        The aligned chips (a read-only ``np.memmap`` when ``cache_dir`` is
        used); ``None`` after :meth:`without_chips`.
    landmarks : ndarray of shape (N, n_points, 2), float32
        Landmarks ``(x, y)`` in chip pixel coordinates; NaN where ``failed``.
    boxes : ndarray of shape (N, 4), float32
        Detection box ``(left, top, right, bottom)`` in the source image; for
        ``detector="none"`` the box the landmarks were fitted in. NaN where
        ``failed``.
    scores : ndarray of shape (N,), float32
        Detector confidence of the chosen face (NaN without a detector).
    detected_by : ndarray of shape (N,), str
        The detection pass that found the face: ``"hog"``, ``"hog_x2"`` (image
        upsampled once more), ``"cnn"``, each with ``"+padded"`` when found
        only in the edge-padded image; ``"none"`` with ``detector="none"``;
        empty where no face was found.
    n_faces : ndarray of shape (N,), int
        Faces the detector found (the chip shows one of them).
    transforms : ndarray of shape (N, 2, 3)
        Affine maps from source-image to chip pixel coordinates.
    flags : ndarray of shape (N,), str
        ``"ok"``; ``"no_face"``; ``"too_small"`` (image under 32 px);
        ``"unreadable"``. The chip is black where the flag is not ``"ok"``,
        unless ``on_failure="center"`` centre-cropped a ``"no_face"`` or
        ``"too_small"`` image. ``errors`` says why.
    errors : ndarray of shape (N,), str
        Why an image failed, naming it; empty for ``"ok"``.
    sources : ndarray of shape (N,), str
        File path or ``"array[i]"`` of each input.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.alignment import FaceAligner
    >>> result = FaceAligner(output_size=64).fit(None).align([np.zeros((100, 80, 3), np.uint8),
    ...                                                       np.zeros((20, 20, 3), np.uint8)])
    >>> len(result), result.failed.tolist(), result.flags.tolist()
    (2, [True, True], ['no_face', 'too_small'])
    >>> result.to_frame().loc[1, "error"]
    'array[1]: image smaller than 32 px'
    """

    chips: np.ndarray = None
    landmarks: np.ndarray = None
    boxes: np.ndarray = None
    scores: np.ndarray = None
    detected_by: np.ndarray = None
    n_faces: np.ndarray = None
    transforms: np.ndarray = None
    flags: np.ndarray = None
    errors: np.ndarray = None
    sources: np.ndarray = field(default=None)

    META_FIELDS = ("landmarks", "boxes", "scores", "detected_by", "n_faces", "transforms", "flags", "errors", "sources")

    @property
    def failed(self):
        """Boolean mask of the images that did not align (``flags != "ok"``)."""
        return self.flags != "ok"

    def __len__(self):
        return len(self.flags)

    def meta(self):
        """The per-image fields as a dict of arrays (no chips)."""
        return {name: getattr(self, name) for name in self.META_FIELDS}

    def without_chips(self):
        return replace(self, chips=None)

    def to_frame(self):
        """One row per image: source, flag, error, faces found, score and box."""
        import pandas as pd

        frame = pd.DataFrame({
            "source": self.sources, "flag": self.flags, "error": self.errors,
            "n_faces": self.n_faces, "score": self.scores, "detected_by": self.detected_by,
        })
        for i, name in enumerate(("box_left", "box_top", "box_right", "box_bottom")):
            frame[name] = self.boxes[:, i]
        return frame


def fit_landmarks(image, box, n_points):
    """dlib landmarks ``(n_points, 2)`` inside ``box`` (left, top, right, bottom)."""
    import dlib

    left, top, right, bottom = (int(round(v)) for v in box)
    shape = get_shape_predictor(n_points)(image, dlib.rectangle(left, top, right, bottom))
    return np.array([[p.x, p.y] for p in shape.parts()], dtype=np.float64)


def landmarks_without_detector(image, n_points, first_box):
    """Landmarks for an image known to be a face crop: a first pass in
    ``first_box``, then a second in the box those landmarks imply."""
    first = fit_landmarks(image, first_box, n_points)
    box = box_from_landmarks(first)
    return fit_landmarks(image, box, n_points), box


def _empty_fields(config):
    return {"box": np.full(4, np.nan), "score": np.nan, "detected_by": "", "n_faces": 0,
            "landmarks": np.full((config.n_points, 2), np.nan)}


def _align_one(item, index, config, source=None):
    """Align one input; returns the chip and the per-image fields.

    Never raises for a bad image: exceptions would have to travel back from
    joblib workers by pickle. ``on_failure="raise"`` is applied by the caller.
    ``source`` names the input in messages (default: its path, or ``array[index]``).
    """
    source = describe_source(item, index) if source is None else source
    try:
        return _align_photo(LazyImage(item, source=source), source, config, every=False)[0]
    except ImageReadError as exc:
        return _unreadable(exc, config)


def _align_photo(photo, source, config, every):
    """``[(chip, fields), ...]`` of one photo: its chosen face, or (``every``) each face found, largest first.

    Faces are searched on bounded copies (:mod:`._detect`); landmarks and chip
    come from a copy at least as sharp as the chip needs, cropped to the chip's
    footprint when large, so no step ever holds more than one decoded photo.
    """
    out = _empty_fields(config)
    views = Views(photo)
    width, height = photo.size
    if min(width, height) < MIN_IMAGE_SIZE:
        return [_no_face(views, out, "too_small", source, config)]
    if config.detector == "none":  # a face crop: the working copy is plenty for its landmarks and chip
        image, to_full = views(WORKING_SIDE)
        landmarks, box = landmarks_without_detector(image, config.n_points,
                                                    (0, 0, image.shape[1] - 1, image.shape[0] - 1))
        return [_chip_in_view(image, to_full, landmarks, box, dict(out, n_faces=1, detected_by="none"), config)]
    found, stage = detect_all(views, config)
    if not found:
        return [_no_face(views, dict(out, detected_by=stage), "no_face", source, config)]
    out.update(n_faces=len(found), detected_by=stage)
    if not every:
        pick = (lambda f: (f[0][2] - f[0][0]) * (f[0][3] - f[0][1])) if config.select == "largest" else (lambda f: f[1])
        found = [max(found, key=pick)]
    image, to_full = _detail_view(views, [box for box, _ in found], config)
    to_view = None if to_full is IDENTITY else invert_transform(to_full)
    rows = []
    for box, score in found:
        box_view = box if to_full is IDENTITY else map_box(to_view, box)
        if stage == "yunet":
            box_view = _landmark_box(image, box_view, config.n_points)
        landmarks = fit_landmarks(image, box_view, config.n_points)
        rows.append(_chip_in_view(image, to_full, landmarks, box_view, dict(out, score=score), config))
    return rows


def _landmark_box(image, box, n_points):
    """The box to fit dlib's landmarks in, for a face YuNet found at ``box``: dlib's box of it, as dlib's
    landmark models were trained on; where dlib's detectors miss the face, the HOG-style box that the
    landmarks fitted in YuNet's box imply."""
    refined = dlib_box(image, box)
    if refined is not None:
        return refined
    return box_from_landmarks(fit_landmarks(image, box, n_points))


#: A face's box side, in pixels of the copy its landmarks and chip come from, below which a sharper copy is
#: decoded (at least the chip's own size): dlib's landmark models were trained on faces about this large.
LANDMARK_BOX_SIDE = 100


def _detail_view(views, boxes, config):
    """``(image, to_full)``: the least-decoded copy in which every box is at least as large as its chip needs."""
    need = max(config.output_size, LANDMARK_BOX_SIDE)
    smallest = min(min(b[2] - b[0], b[3] - b[1]) for b in boxes)  # in full-resolution pixels
    image, to_full = views.largest()
    if smallest * image.shape[1] / views.photo.size[0] >= need:
        return image, to_full
    shrink = max(1.0, smallest / need)
    image = views.photo.read(shrink)  # a JPEG is DCT-scaled by a power of two <= shrink
    return image, view_to_full(image.shape, views.photo.size)


# A copy larger than this is cropped to the chip's footprint before warping: the warp copies its input.
_CROP_ABOVE = 2_000_000


def _chip_in_view(image, to_full, landmarks, box, out, config):
    """Chip and fields of a face whose ``landmarks`` and ``box`` are in ``image``, a copy of the photo.

    ``to_full`` maps ``image`` pixels to the photo's: the box and the transform
    are reported in the photo's own coordinates whatever copy was used.
    """
    if image.shape[0] * image.shape[1] > _CROP_ABOVE:
        corners = np.array([[0, 0], [1, 0], [0, 1], [1, 1]]) * config.output_size - 0.5
        footprint = apply_transform(invert_transform(_chip_transform(landmarks, box, config)), corners)
        x0, y0 = np.maximum(np.floor(footprint.min(axis=0)).astype(int) - 2, 0)
        x1, y1 = np.ceil(footprint.max(axis=0)).astype(int) + 3
        image = np.ascontiguousarray(image[y0:y1, x0:x1])  # dlib takes contiguous arrays only
        offset = np.array([x0, y0], dtype=np.float64)
        landmarks, box = landmarks - offset, box - np.tile(offset, 2)
        to_full = compose(to_full, np.array([[1.0, 0.0, x0], [0.0, 1.0, y0]]))
    chip, fields = _chip_from_landmarks(image, landmarks, dict(out, box=box), config)
    if to_full is not IDENTITY:
        fields["transform"] = compose(fields["transform"], invert_transform(to_full))
        fields["box"] = map_box(to_full, box)
    return chip, fields


def _unreadable(exc, config):
    size = config.output_size
    out = dict(_empty_fields(config), transform=np.full((2, 3), np.nan), flag="unreadable", error=str(exc))
    return np.zeros((size, size, 3), np.uint8), out


def _no_face(views, out, flag, source, config):
    """The chip and fields of an image without a usable face: a blank chip, or a centre crop on request."""
    error = str(FaceNotFoundError(source, flag))
    if config.failure_chip == "blank":  # no age is better than the age of a green square
        size = config.output_size
        return np.zeros((size, size, 3), np.uint8), dict(out, transform=np.full((2, 3), np.nan), flag=flag,
                                                          error=error)
    width, height = views.photo.size
    transform = centre_crop_transform(height, width, config.output_size)
    image, to_full = views(WORKING_SIDE)
    chip = warp_image(image, compose(transform, to_full), config.output_size)
    return chip, dict(out, transform=transform, flag=flag, error=error + "; centre crop used")


def _chip_transform(landmarks, box, config):
    """The 2x3 map from image to chip pixels that the chip geometry gives these landmarks."""
    if config.geometry == "dlib":
        return _chip_details_transform(dlib_chip_details(landmarks, box, config.output_size, config.margin))
    # Eyes land exactly on their targets: rotation levels them, scale fixes their distance.
    return similarity_from_points(eye_centres(landmarks), target_eyes(config.output_size, config.margin))


def _chip_from_landmarks(image, landmarks, out, config):
    size = config.output_size
    if config.geometry == "dlib":
        chip, transform = dlib_face_chip(image, landmarks, out["box"], size, config.margin)
    else:
        transform = _chip_transform(landmarks, out["box"], config)
        chip = warp_image(image, transform, size)
    return chip, dict(out, landmarks=apply_transform(transform, landmarks), transform=transform, flag="ok", error="")


def _align_chunk(items, start, config):
    return [_align_one(item, start + i, config) for i, item in enumerate(items)]


def raise_first_failure(items, flags, start=0):
    """Raise the error of the first failed image among ``flags`` (``on_failure="raise"``)."""
    for offset in np.flatnonzero(np.asarray(flags) != "ok"):
        i = start + int(offset)
        source = describe_source(items[i], i)
        if flags[offset] == "unreadable":
            read_image(items[i], source=source)  # raises the reader's own error, naming the file
        raise FaceNotFoundError(source, str(flags[offset]))


def _empty_meta(n, config):
    """The per-image arrays of an :class:`AlignmentResult` for ``n`` rows, before they are filled."""
    return {
        "landmarks": np.full((n, config.n_points, 2), np.nan, np.float32),
        "boxes": np.full((n, 4), np.nan, np.float32),
        "scores": np.full(n, np.nan, np.float32),
        "detected_by": np.empty(n, dtype="<U16"),
        "n_faces": np.zeros(n, np.int32),
        "transforms": np.full((n, 2, 3), np.nan),
        "flags": np.empty(n, dtype="<U10"),
        "errors": np.empty(n, dtype=object),
    }


def _store(fields, i, one):
    """Row ``i`` of the meta arrays from one image's fields (as :func:`_align_one` returns them)."""
    for name, key in (("landmarks", "landmarks"), ("boxes", "box"), ("scores", "score"), ("detected_by", "detected_by"),
                      ("n_faces", "n_faces"), ("transforms", "transform"), ("flags", "flag"), ("errors", "error")):
        fields[name][i] = one[key]


def _align_into(items, chips, config, parallel, on_failure="blank", progress=False):
    """Align ``items`` writing chips into ``chips`` block by block; returns the meta dict.

    Blocks bound the memory held in results in flight, so ``chips`` may be a
    memmap far larger than RAM.
    """
    n = len(items)
    fields = _empty_meta(n, config)
    bar = tqdm(total=n, desc="align", unit="img", disable=not progress)
    # Workers get slices of ``items``: paths when the input was paths, so pixels travel only once, as chips.
    for start, rows in chunked_results(parallel, _align_chunk, n, lambda s, e: (items[s:e], s, config)):
        for i, (chip, one) in enumerate(rows, start):
            chips[i] = chip
            _store(fields, i, one)
        bar.update(len(rows))
        if on_failure == "raise":  # stop at the first bad block, not after the whole set
            raise_first_failure(items, fields["flags"][start : start + len(rows)], start)
    bar.close()
    fields["errors"] = fields["errors"].astype(str)
    fields["sources"] = np.array([describe_source(x, i) for i, x in enumerate(items)], dtype=str)
    return fields


def _align_all(items, config, n_jobs=None, on_failure="blank", progress=False):
    """Align a batch in RAM; module-level so ``joblib.Memory`` can cache it."""
    size = config.output_size
    chips = np.empty((len(items), size, size, 3), np.uint8)
    with Parallel(n_jobs=n_jobs) as parallel:
        meta = _align_into(items, chips, config, parallel, on_failure, progress)
    return AlignmentResult(chips=chips, **meta)


class FaceAligner(StatelessFitMixin, TransformerMixin, BaseEstimator):
    """Detect a face, find its landmarks and warp it into a fixed-geometry chip.

    The chip is a similarity transform of the image (rotation, uniform scale,
    shift). With ``geometry="eyes"`` it puts both eye centres exactly at fixed
    positions, :attr:`target_eyes_`: eyes level, same size and place in every
    chip. With ``geometry="dlib"`` it is dlib's own face chip
    (``dlib.get_face_chip``), the input of dlib's face-recognition network and
    of :class:`skage.features.FaceDescriptor`.

    Every input gives one chip, in order. An image without a usable face (no
    face found, or under 32 px) gets a black chip, flagged, with the reason
    in ``errors`` (``on_failure="blank"``): the models give it a NaN age, as
    they do an unreadable input's black chip, so a batch prediction still
    reports every input. ``on_failure="center"`` centre-crops it instead (the
    models then guess an age from whatever the crop shows); ``"raise"`` raises,
    naming the file, and an unreadable input then raises
    :class:`~skage.io.ImageReadError`.

    Parameters
    ----------
    detector : {"auto", "yunet", "hog", "cnn", "none"}, default="auto"
        Faces are searched on a copy of the photo whose longer side is at
        most 1280 px (decoded reduced where the format allows), so time and
        memory stay bounded whatever the photo's size; boxes, transforms and
        chips refer to the photo's own pixels, and landmarks and chips come
        from a copy at least as sharp as the chip needs (the full photo for
        small faces). ``"auto"`` is a cascade, each pass only for the photos
        the previous ones missed: on photos up to 640 px (crops, scans),
        dlib's HOG detector, then HOG on the image upsampled once more (faces
        half as large), then OpenCV's YuNet (which replaced dlib's slow CNN
        there); on
        larger photos YuNet on the 1280-px copy (it finds faces down to 1/50
        of the photo's longer side), then HOG on a 640-px copy.
        ``"yunet"``, ``"hog"`` and ``"cnn"`` run one detector (the CNN, on a
        copy of at most 640 px, is more robust to pose than HOG and about
        100x slower on a CPU); ``"none"`` is for inputs that already are face
        crops: the landmarks are then fitted in the whole image, then refined
        once. A face YuNet finds gets its landmarks in dlib's box of it (HOG's,
        else the CNN's, on a small crop): dlib's landmark models were trained
        on dlib's boxes. HOG searches the photo's gray (luma) copy, as dlib's
        own examples run it: a colour photo and its gray scan get the same box.
        :attr:`AlignmentResult.detected_by` records the pass that found each
        face.
    landmarks : {68, 5}, default=68
        dlib landmark model. The chips' landmarks feed
        :class:`skage.parsing.FaceParser`, which needs 68.
    output_size : int, default=224
        Chip side in pixels (150 for dlib's face-recognition network).
    margin : float, default=None
        Space around the face as a fraction of its size; ``None`` is 0.1 for
        ``geometry="eyes"`` and 0.25 (dlib's default padding) for ``"dlib"``.
        Eyes geometry: the face square spans hairline (estimated) to chin and
        jaw to jaw; each side is enlarged by ``margin`` times that square's
        side. At 0.1 the inter-ocular distance is 30% of the chip. dlib
        geometry: dlib's ``padding`` around its mean-face box.
    geometry : {"eyes", "dlib"}, default="eyes"
        Where the face goes in the chip: eye centres at fixed positions, or
        dlib's face-chip framing (landmarks fitted to dlib's mean face), which
        with ``output_size=150`` and ``margin=0.25`` gives exactly dlib's chip.
    upsample : int, default=0
        Times dlib's detectors upsample their copy; each finds faces half as
        large (HOG's smallest is about 80 px) at about 4x the cost. For YuNet,
        doubles the side of its copy as often (never beyond the photo's own
        size).
    select : {"largest", "confident"}, default="largest"
        Face used when the detector finds several: the largest box or the
        highest detector score. ``n_faces`` records how many were found.
    detection_threshold : float, default=0.0
        Detector score a face needs (HOG: offset to its decision threshold,
        negative finds more faces; CNN: minimum confidence; YuNet: added to
        its score threshold of 0.6).
    retry_padded : bool, default=True
        When no face is found, detect once more in the image padded by a
        quarter of its size with replicated edges: faces that fill the frame
        (tight crops) lack the context dlib's detection window needs. On
        1,000 UTKFace chips this found 10 of the 15 missed faces. Only on
        photos up to 640 px, where tight crops are; not for YuNet.
    on_failure : {"blank", "center", "raise"}, default="blank"
        What happens to an image without a usable face (see above):
        ``"blank"`` gives no age for it, ``"center"`` an age guessed from a
        centre crop (e.g. for inputs known to be face crops that the detector
        misses; ``detector="none"`` landmarks them as faces instead).
    n_jobs : int, default=None
        Worker processes over images (joblib; ``-1`` for all cores). Under
        ``joblib.parallel_config(backend="threading")`` they are threads of
        this process instead, each with its own detectors (dlib and OpenCV
        release the GIL while they search): all 1,002 FG-NET photos at 68
        per s with 2 threads, 70 with 2 processes, 41 with one (2-core CPU).
    memory : str or joblib.Memory, default=None
        Caches each aligned batch (chips and per-image results, keyed by the
        inputs and the parameters that change them), so that e.g.
        ``GridSearchCV`` aligns the same images once. Paths are hashed by
        name only here; use ``cache_dir`` for files that change or for sets
        too large for RAM.
    cache_dir : str or path-like, default=None
        Directory of memory-mapped chip caches keyed by the inputs (path,
        size and mtime of files; content of arrays) and the parameters.
        :meth:`transform` then writes chips block by block and returns a
        read-only ``np.memmap``, so no step needs every chip in RAM.
    progress : bool, default=False
        Show a tqdm progress bar while aligning.
        Cannot be combined with ``memory``.

    Attributes
    ----------
    target_eyes_ : ndarray of shape (2, 2) or None
        Chip positions ``(x, y)`` of the image-left and image-right eye
        centres; ``None`` for ``geometry="dlib"``, which fits all landmarks.
    n_landmarks_ : int
        Landmarks per face (68 or 5).

    See Also
    --------
    HistogramEqualizer : CLAHE contrast normalisation of chips.
    skage.parsing.FaceParser : region masks for the chips.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.alignment import FaceAligner
    >>> aligner = FaceAligner(output_size=64).fit(None)
    >>> result = aligner.align([np.zeros((100, 80, 3), np.uint8)])
    >>> result.chips.shape, result.flags.tolist(), int(result.chips.max())
    ((1, 64, 64, 3), ['no_face'], 0)
    """

    _parameter_constraints = {
        "detector": [StrOptions(set(DETECTOR_STAGES) | {"none"})],
        "landmarks": [Options(Integral, {68, 5})],
        "output_size": [Interval(Integral, 8, None, closed="left")],
        "margin": [Interval(Real, -0.25, 2, closed="right"), None],
        "geometry": [StrOptions(set(DEFAULT_MARGIN))],
        "upsample": [Interval(Integral, 0, 4, closed="both")],
        "select": [StrOptions({"largest", "confident"})],
        "detection_threshold": [Real],
        "retry_padded": ["boolean"],
        "on_failure": [StrOptions({"blank", "center", "raise"})],
        "n_jobs": [Integral, None],
        "memory": [None, str, os.PathLike, HasMethods(["cache"])],
        "cache_dir": [None, str, os.PathLike],
        "progress": ["boolean"],
    }

    def __init__(
        self,
        detector="auto",
        landmarks=68,
        output_size=224,
        margin=None,
        geometry="eyes",
        upsample=0,
        select="largest",
        detection_threshold=0.0,
        retry_padded=True,
        on_failure="blank",
        n_jobs=None,
        memory=None,
        cache_dir=None,
        progress=False,
    ):
        self.detector = detector
        self.landmarks = landmarks
        self.output_size = output_size
        self.margin = margin
        self.geometry = geometry
        self.upsample = upsample
        self.select = select
        self.detection_threshold = detection_threshold
        self.retry_padded = retry_padded
        self.on_failure = on_failure
        self.n_jobs = n_jobs
        self.memory = memory
        self.cache_dir = cache_dir
        self.progress = progress

    def _check_setup(self):
        """The declared constraints (again at align: set_params after fit), exclusive options, the model files."""
        check_params(self)
        if self.memory is not None and self.cache_dir is not None:
            raise ValueError("FaceAligner: use either memory or cache_dir, not both")
        # Fail now, not in a worker, when dlib or its model files are missing.
        get_shape_predictor(self.landmarks)
        for kind in {kind for kind, _ in DETECTOR_STAGES.get(self.detector, ())}:
            get_detector(kind)

    def _margin(self):
        return float(DEFAULT_MARGIN[self.geometry] if self.margin is None else self.margin)

    def _config(self):
        return _Config(
            self.detector, int(self.landmarks), int(self.output_size), self._margin(), self.geometry,
            int(self.upsample), self.select, float(self.detection_threshold), bool(self.retry_padded),
            "center" if self.on_failure == "center" else "blank",
        )

    def _fit_setup(self):
        self._check_setup()
        self.n_landmarks_ = int(self.landmarks)
        self.target_eyes_ = target_eyes(self.output_size, self._margin()) if self.geometry == "eyes" else None

    def align(self, X):
        """Align a batch and return every per-image result.

        Parameters
        ----------
        X : sequence of paths or arrays, or ndarray of shape (N, H, W[, C])
            Any input :func:`skage.io.read_images` accepts.

        Returns
        -------
        result : AlignmentResult
            One row per input, in order.
        """
        check_is_fitted(self, "n_landmarks_")
        self._check_setup()
        items = as_image_list(X)
        config = self._config()
        if self.cache_dir is not None:
            result = self._align_cached(X, items, config)
        else:
            # check_memory takes a str, not the path-like the constraints also admit
            memory = os.fspath(self.memory) if isinstance(self.memory, os.PathLike) else self.memory
            align_all = check_memory(memory).cache(_align_all, ignore=["n_jobs", "on_failure", "progress"])
            result = align_all(items, config, n_jobs=self.n_jobs, on_failure=self.on_failure,
                               progress=bool(self.progress))
        if self.on_failure == "raise":  # also for results that came from a cache
            raise_first_failure(items, result.flags)
        return result

    def align_faces(self, image, source=None):
        """Every face of one image, each aligned into its own chip, largest first.

        Each face is detected once (with this aligner's detector cascade);
        :func:`skage.pipeline.predict_faces` uses it to give one row per face.

        Parameters
        ----------
        image : path or ndarray
        source : str, optional
            Name of the image in messages (defaults to the path).

        Returns
        -------
        result : AlignmentResult
            One row per face found; a single flagged row when none is (a
            black chip, or a centre crop with ``on_failure="center"``;
            ``on_failure="raise"`` raises instead).

        Raises
        ------
        skage.io.ImageReadError
            If the image cannot be read, naming it.
        """
        check_is_fitted(self, "n_landmarks_")
        self._check_setup()
        config = self._config()
        source = describe_source(image, 0) if source is None else str(source)
        rows = _align_photo(LazyImage(image, source=source), source, config, every=True)
        meta = _empty_meta(len(rows), config)
        for i, (_, one) in enumerate(rows):
            _store(meta, i, one)
        meta["errors"] = meta["errors"].astype(str)
        meta["sources"] = np.full(len(rows), source)
        if self.on_failure == "raise" and meta["flags"][0] != "ok":
            raise FaceNotFoundError(source, str(meta["flags"][0]))
        return AlignmentResult(chips=np.stack([chip for chip, _ in rows]), **meta)

    def transform(self, X):
        """Aligned chips, one per input, in order.

        Parameters
        ----------
        X : sequence of paths or arrays, or ndarray of shape (N, H, W[, C])

        Returns
        -------
        chips : ndarray of shape (N, output_size, output_size, 3), uint8
            A read-only ``np.memmap`` when ``cache_dir`` is set. :meth:`align`
            also returns the per-image landmarks and flags.
        """
        return self.align(X).chips

    def _align_cached(self, X, items, config):
        cache = ArrayCache(self.cache_dir)
        key = cache.key("chips", input_fingerprint(X if isinstance(X, np.ndarray) else items), config)
        entry = cache.load(key)
        if entry is None:
            size = config.output_size

            def fill(out):
                with Parallel(n_jobs=self.n_jobs) as parallel:
                    return _align_into(items, out, config, parallel, self.on_failure, bool(self.progress))

            entry = cache.write(key, (len(items), size, size, 3), np.uint8, fill)
        chips, meta = entry
        return AlignmentResult(chips=chips, **meta)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.string = True  # file paths
        tags.requires_fit = True
        return tags
