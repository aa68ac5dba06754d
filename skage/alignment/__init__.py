"""Face alignment: dlib detection and landmarks, similarity warp to fixed-geometry chips.

:class:`FaceAligner` turns image paths or arrays into uint8 chips
``(N, S, S, 3)`` with the eyes at fixed positions; per-image landmarks (chip
coordinates), boxes and failure flags come back as an
:class:`AlignmentResult`. :class:`HistogramEqualizer` is optional CLAHE.
"""

from ._aligner import (FLAGS, MIN_IMAGE_SIZE, AlignmentResult, FaceAligner, FaceNotFoundError, blank_chips,
                       detect_faces)
from ._equalize import HistogramEqualizer
from ._models import model_path
from ._template import target_eyes, template_landmarks

__all__ = [
    "blank_chips",
    "detect_faces",
    "FLAGS",
    "MIN_IMAGE_SIZE",
    "AlignmentResult",
    "FaceAligner",
    "FaceNotFoundError",
    "HistogramEqualizer",
    "model_path",
    "target_eyes",
    "template_landmarks",
]
