"""Similarity transforms, eye centres and the warp that makes a chip.

Coordinates are (x, y) in pixel-index units: pixel ``(row r, col c)`` has its
centre at ``(c, r)``, the convention dlib uses for landmarks.
"""

import numpy as np
from PIL import Image

# Which landmark indices make up the image-left and image-right eye.
EYE_INDICES = {
    68: (np.arange(36, 42), np.arange(42, 48)),
    5: (np.array([2, 3]), np.array([0, 1])),  # dlib's 5-point model: corners of each eye, then the nose
}


def eye_centres(landmarks):
    """Image-left and image-right eye centres, ``(2, 2)`` (or ``(N, 2, 2)``)."""
    landmarks = np.asarray(landmarks, dtype=np.float64)
    left, right = EYE_INDICES[landmarks.shape[-2]]
    return np.stack([landmarks[..., left, :].mean(axis=-2), landmarks[..., right, :].mean(axis=-2)], axis=-2)


def similarity_from_points(src, dst):
    """The 2x3 similarity (rotation, uniform scale, shift) mapping ``src`` onto ``dst``.

    Two points give an exact fit; more give the least-squares fit (Umeyama
    without reflection), computed with complex numbers.
    """
    src = np.asarray(src, dtype=np.float64)
    dst = np.asarray(dst, dtype=np.float64)
    zs = src[:, 0] + 1j * src[:, 1]
    zd = dst[:, 0] + 1j * dst[:, 1]
    ms, md = zs.mean(), zd.mean()
    denom = np.vdot(zs - ms, zs - ms).real
    a = np.vdot(zs - ms, zd - md) / denom if denom > 0 else 1.0 + 0j
    b = md - a * ms
    return np.array([[a.real, -a.imag, b.real], [a.imag, a.real, b.imag]])


def apply_transform(matrix, points):
    """Map ``(..., 2)`` points through a 2x3 affine matrix."""
    points = np.asarray(points, dtype=np.float64)
    return points @ matrix[:, :2].T + matrix[:, 2]


def map_box(matrix, box):
    """A box ``(left, top, right, bottom)`` through an axis-aligned (scale and shift) 2x3 map."""
    return apply_transform(matrix, np.reshape(box, (2, 2))).reshape(4)


def invert_transform(matrix):
    linear = np.linalg.inv(matrix[:, :2])
    return np.hstack([linear, -linear @ matrix[:, 2:]])


def warp_image(image, matrix, size):
    """Resample ``image`` into a ``size`` x ``size`` chip; ``matrix`` maps image to chip.

    Strong downscaling first shrinks the image by an integer box filter so the
    bilinear resampling does not alias (large photos → 224 px chips).
    Outside the image is black.
    """
    pil = Image.fromarray(image)
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    factor = int(1.0 / scale) if scale > 0 else 1
    if factor >= 2:
        pil = pil.reduce(factor)
        # reduced index r covers original indices around factor * r + (factor - 1) / 2
        expand = np.array([[factor, 0.0, (factor - 1) / 2], [0.0, factor, (factor - 1) / 2]])
        matrix = matrix @ np.vstack([expand, [0.0, 0.0, 1.0]])
    inverse = invert_transform(matrix)
    # PIL samples at pixel centres in continuous coordinates: shift by half a pixel both ways.
    shift = inverse[:, 2] + 0.5 - inverse[:, :2] @ np.array([0.5, 0.5])
    coeffs = (inverse[0, 0], inverse[0, 1], shift[0], inverse[1, 0], inverse[1, 1], shift[1])
    chip = pil.transform((size, size), Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR)
    return np.asarray(chip)


def centre_crop_transform(height, width, size):
    """Transform taking the largest centred square of an image onto a chip."""
    side = min(height, width)
    scale = size / side
    x0 = (width - side) / 2
    y0 = (height - side) / 2
    # pixel-area mapping: the square [x0, x0 + side) lands exactly on [0, size)
    return np.array([[scale, 0.0, (0.5 - x0) * scale - 0.5], [0.0, scale, (0.5 - y0) * scale - 0.5]])


def dlib_chip_details(landmarks, box, size, padding):
    """``dlib.chip_details`` of dlib's face chip: the landmarks fitted to dlib's mean face, padded."""
    import dlib

    left, top, right, bottom = (int(round(v)) for v in box)
    parts = dlib.points([dlib.point(int(round(x)), int(round(y))) for x, y in landmarks])
    return dlib.get_face_chip_details(dlib.full_object_detection(dlib.rectangle(left, top, right, bottom), parts),
                                      size, padding)


def dlib_face_chip(image, landmarks, box, size, padding):
    """dlib's own face chip (``dlib.get_face_chip``) and the 2x3 transform from image to chip.

    This is the geometry dlib's face-recognition network was trained on: the
    landmarks fitted to dlib's mean face, ``padding`` times the face size
    around it. The chip comes from ``dlib.extract_image_chip`` itself, so its
    pixels are exactly those dlib's ``compute_face_descriptor`` would see.
    """
    import dlib

    details = dlib_chip_details(landmarks, box, size, padding)
    return dlib.extract_image_chip(image, details), _chip_details_transform(details)


def _chip_details_transform(details):
    """The affine map of dlib's ``get_mapping_to_chip``: the rotated box's corners onto the chip's."""
    rect = details.rect
    centre = np.array([(rect.left() + rect.right()) / 2, (rect.top() + rect.bottom()) / 2])
    cos, sin = np.cos(details.angle), np.sin(details.angle)
    corners = np.array([[rect.left(), rect.top()], [rect.right(), rect.top()], [rect.right(), rect.bottom()]])
    rotated = centre + (corners - centre) @ np.array([[cos, sin], [-sin, cos]])
    targets = np.array([[0, 0], [details.cols - 1, 0], [details.cols - 1, details.rows - 1]], dtype=np.float64)
    return np.linalg.solve(np.column_stack([rotated, np.ones(3)]), targets).T


def view_to_full(view_shape, full_size):
    """The 2x3 map from a resized copy's pixels to the full image's (pixel centres onto pixel centres).

    ``view_shape`` is the copy's array shape ``(h, w, ...)``; ``full_size`` the
    full image's ``(width, height)``. The identity when they are the same size.
    """
    if (view_shape[1], view_shape[0]) == tuple(full_size):
        return IDENTITY  # the same object, so callers can skip mapping with ``is IDENTITY``
    sx, sy = full_size[0] / view_shape[1], full_size[1] / view_shape[0]
    return np.array([[sx, 0.0, 0.5 * sx - 0.5], [0.0, sy, 0.5 * sy - 0.5]])


#: :func:`view_to_full` of a copy at full size.
IDENTITY = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
IDENTITY.flags.writeable = False


def compose(outer, inner):
    """The 2x3 affine map ``outer(inner(p))``."""
    return np.hstack([outer[:, :2] @ inner[:, :2], outer[:, :2] @ inner[:, 2:] + outer[:, 2:]])
