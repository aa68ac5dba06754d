"""Where the face goes in a chip: the mean-face template and the chip framing.

Template coordinates are the *eye frame*: image-left eye centre at
``(-0.5, 0)``, image-right at ``(0.5, 0)``, y pointing down, so one unit is the
inter-ocular distance.
"""

from functools import lru_cache

import numpy as np

from ._geometry import apply_transform, similarity_from_points
from ._template_data import MEAN_HOG_BOX, MEAN_SHAPE_5, MEAN_SHAPE_68

MEAN_SHAPES = {68: MEAN_SHAPE_68, 5: MEAN_SHAPE_5}


def _face_box():
    """Square around the mean face, forehead included, in the eye frame.

    The forehead is not landmarked; facial thirds put the hairline one
    nose length (glabella to nose base) above the brows.
    """
    shape = MEAN_SHAPE_68
    top = shape[17:27, 1].mean() - (shape[33, 1] - shape[27, 1])
    bottom = shape[8, 1]
    left, right = shape[:17, 0].min(), shape[:17, 0].max()
    centre = np.array([(left + right) / 2, (top + bottom) / 2])
    return centre, max(right - left, bottom - top)


FACE_CENTRE, FACE_SIZE = _face_box()


def frame_to_chip(output_size, margin, geometry="eyes"):
    """2x3 transform from the eye frame to chip pixel coordinates.

    ``geometry="eyes"``: the chip is the square around the mean face
    (hairline to chin, jaw to jaw) enlarged by ``margin`` times its side on
    every side. ``geometry="dlib"``: dlib's own face chip with ``margin`` as
    its padding, where dlib puts the mean face.
    """
    if geometry == "dlib":
        return _dlib_frame_to_chip(int(output_size), float(margin)).copy()
    scale = output_size / (FACE_SIZE * (1 + 2 * margin))
    centre = (output_size - 1) / 2
    shift = centre - scale * FACE_CENTRE
    return np.array([[scale, 0.0, shift[0]], [0.0, scale, shift[1]]])


@lru_cache(maxsize=16)
def _dlib_frame_to_chip(output_size, padding):
    # Ask dlib itself where its chip puts the mean face: hand it the 5-point mean
    # shape, drawn large so that dlib's integer points round off nothing that matters.
    import dlib

    from ._geometry import _chip_details_transform

    scale, offset = 1000.0, 5000.0
    points = MEAN_SHAPE_5 * scale + offset
    parts = dlib.points([dlib.point(int(round(x)), int(round(y))) for x, y in points])
    box = dlib.rectangle(*(int(round(v)) for v in (*points.min(axis=0), *points.max(axis=0))))
    details = dlib.get_face_chip_details(dlib.full_object_detection(box, parts), output_size, padding)
    to_chip = _chip_details_transform(details)
    return np.column_stack([to_chip[:, :2] * scale, to_chip[:, :2] @ [offset, offset] + to_chip[:, 2]])


def target_eyes(output_size, margin):
    """Chip positions of the image-left and image-right eye centres, ``(2, 2)``.

    Examples
    --------
    >>> from skage.alignment import target_eyes
    >>> target_eyes(112, 0.1).round(1).tolist()  # level eyes, centred left to right
    [[38.7, 44.3], [72.0, 44.3]]
    """
    return apply_transform(frame_to_chip(output_size, margin), [[-0.5, 0.0], [0.5, 0.0]])


def template_landmarks(n_points, output_size, margin, geometry="eyes"):
    """The mean face's landmarks placed in a chip, ``(n_points, 2)``.

    Examples
    --------
    >>> from skage.alignment import template_landmarks
    >>> template_landmarks(5, 112, 0.1).round(1).tolist()  # eye corners, then the base of the nose
    [[78.4, 44.3], [65.3, 45.2], [32.2, 44.3], [45.3, 45.2], [55.3, 68.8]]
    >>> template_landmarks(68, 112, 0.1).shape
    (68, 2)
    """
    return apply_transform(frame_to_chip(output_size, margin, geometry), MEAN_SHAPES[n_points])


def box_from_landmarks(landmarks):
    """The dlib-HOG-style box ``(left, top, right, bottom)`` that fits these landmarks.

    Used to seed a second, better landmark pass when no detector gave a box.
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    to_image = similarity_from_points(MEAN_SHAPES[len(landmarks)], landmarks)
    corners = apply_transform(to_image, MEAN_HOG_BOX.reshape(2, 2))
    centre = corners.mean(axis=0)
    half = np.abs(corners[1] - corners[0]).max() / 2  # the box stays upright and square, like dlib's
    return np.concatenate([centre - half, centre + half])

