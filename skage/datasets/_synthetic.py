"""Procedural cartoon faces whose age shows, for tests and the demo when no real data is at hand."""

from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image
from skimage import draw, transform
from sklearn.utils import Bunch, check_random_state

_GENDERS = ("male", "female")
_RACES = ("white", "black", "asian", "indian", "other")
# Base skin (RGB in 0..1) and typical young hair colour per race; individuals vary around them.
_SKIN = {
    "white": (0.93, 0.78, 0.68),
    "black": (0.42, 0.28, 0.20),
    "asian": (0.91, 0.76, 0.60),
    "indian": (0.70, 0.50, 0.37),
    "other": (0.80, 0.62, 0.48),
}
_HAIR = {
    "white": ((0.35, 0.22, 0.12), (0.75, 0.60, 0.35)),
    "black": ((0.08, 0.06, 0.05), (0.15, 0.10, 0.08)),
    "asian": ((0.06, 0.05, 0.05), (0.15, 0.11, 0.09)),
    "indian": ((0.07, 0.05, 0.04), (0.18, 0.12, 0.08)),
    "other": ((0.10, 0.07, 0.05), (0.40, 0.26, 0.15)),
}
_GREY = np.array([0.88, 0.88, 0.86])


class _Canvas:
    """Float RGB image with alpha-blended drawing; coordinates are (row, col) pixels."""

    def __init__(self, size, color):
        self.size = size
        self.img = np.empty((size, size, 3))
        self.img[:] = color

    def blend(self, rr, cc, color, alpha=1.0):
        keep = (rr >= 0) & (rr < self.size) & (cc >= 0) & (cc < self.size)
        rr, cc = rr[keep], cc[keep]
        alpha = np.asarray(alpha, dtype=float)
        if alpha.ndim:
            alpha = alpha[keep]
        alpha = np.clip(alpha, 0, 1)[..., None] if alpha.ndim else np.clip(alpha, 0, 1)
        self.img[rr, cc] = (1 - alpha) * self.img[rr, cc] + alpha * np.asarray(color, dtype=float)

    def ellipse(self, r, c, rr_, cr_, color, alpha=1.0, rotation=0.0):
        rr, cc = draw.ellipse(r, c, rr_, cr_, shape=(self.size, self.size), rotation=rotation)
        self.blend(rr, cc, color, alpha)

    def curve(self, points, color, alpha=1.0, width=1.0):
        """Quadratic Bézier through three (row, col) points, drawn ``width`` pixels thick."""
        (r0, c0), (r1, c1), (r2, c2) = points
        n = max(8, int(np.hypot(r2 - r0, c2 - c0)))
        t = np.linspace(0, 1, n)[:, None]
        path = (1 - t) ** 2 * np.array([r0, c0]) + 2 * (1 - t) * t * np.array([r1, c1]) + t**2 * np.array([r2, c2])
        self.polyline(path, color, alpha, width)

    def polyline(self, path, color, alpha=1.0, width=1.0):
        # Stamp a disk at every path point into one mask, so overlaps do not darken the stroke.
        radius = max(width / 2.0, 0.5)
        dr, dc = draw.disk((0, 0), radius + 0.5)
        rr = (np.round(path[:, :1]) + dr[None, :]).ravel().astype(int)
        cc = (np.round(path[:, 1:]) + dc[None, :]).ravel().astype(int)
        keep = (rr >= 0) & (rr < self.size) & (cc >= 0) & (cc < self.size)
        mask = np.zeros((self.size, self.size), dtype=bool)
        mask[rr[keep], cc[keep]] = True
        self.blend(*np.nonzero(mask), color, alpha)


def _face_params(age, gender, race, rng):
    """Random but age-dependent face geometry and appearance, in units of the canvas size."""
    growth = np.clip(age / 18.0, 0, 1)  # children's proportions turn into adults' by ~18
    old = np.clip((age - 25.0) / 60.0, 0, 1)  # wrinkles, sagging, texture
    grey = np.clip((age - 38.0) / 40.0 + rng.normal(0, 0.08), 0, 1)
    skin = np.clip(np.array(_SKIN[race]) * rng.uniform(0.9, 1.08) + rng.normal(0, 0.02, 3), 0, 1)
    dark, light = _HAIR[race]
    hair = np.array(dark) + rng.uniform(0, 1) * (np.array(light) - np.array(dark))
    return {
        "growth": growth, "old": old, "grey": grey, "skin": skin, "hair": hair,
        "scale": rng.uniform(0.9, 1.06) * (0.9 + 0.1 * growth),
        "shift": rng.normal(0, 0.015, 2),
        "rotation": rng.normal(0, 4.0),
        "light": rng.uniform(-0.35, 0.35),
        "brightness": rng.uniform(0.8, 1.12),
        "long_hair": gender == "female" or rng.uniform() < 0.1,
        "beard": gender == "male" and age > 18 and rng.uniform() < 0.35,
        # Hair loss: some men from 40 on, growing with age.
        "bald": (gender == "male") * min(1.0, np.clip((age - 40) / 50, 0, 1) * rng.uniform(0, 1.3)),
        "background": rng.uniform(0.15, 0.9, 3),
        "clothes": rng.uniform(0.05, 0.85, 3),
        "iris": rng.choice([(0.30, 0.18, 0.08), (0.15, 0.10, 0.06), (0.25, 0.40, 0.55), (0.30, 0.40, 0.25)]),
    }


def _draw_face(size, age, p, rng):
    canvas = _Canvas(size, p["background"])
    # Background gradient: real photos are rarely flat.
    ramp = np.linspace(-0.12, 0.12, size)[:, None, None] * rng.normal(1, 0.5)
    canvas.img = np.clip(canvas.img + ramp, 0, 1)

    g, old, skin = p["growth"], p["old"], p["skin"]
    cx = size * (0.5 + p["shift"][0])
    cy = size * (0.50 + p["shift"][1])
    a = size * 0.26 * p["scale"]  # face half-width
    b = a * (1.0 + 0.3 * g)  # children's faces are rounder
    hair = (1 - p["grey"]) * p["hair"] + p["grey"] * _GREY
    # Babies have sparse hair; adults full hair.
    hair_alpha = 0.45 + 0.55 * np.clip(age / 4.0, 0, 1)

    # Long hair behind the head, then neck and clothes in front of it.
    if p["long_hair"]:
        canvas.ellipse(cy + 0.3 * b, cx, 1.3 * b, 1.28 * a, hair, hair_alpha)
    rr, cc = draw.rectangle((int(cy + 0.6 * b), cx - 0.42 * a), (size, cx + 0.42 * a), shape=(size, size))
    canvas.blend(rr, cc, skin * 0.82)
    canvas.ellipse(size * 1.08, cx, size * 0.26, size * 0.55, p["clothes"])

    # Ears at eye level, then the face: an upper oval plus a lower jaw oval that widens and drops with age.
    eye_y = cy + b * (0.22 - 0.28 * g)  # a child's big forehead puts the eyes low
    for side in (-1, 1):
        canvas.ellipse(eye_y + 0.12 * b, cx + side * 0.97 * a, 0.22 * b, 0.13 * a, skin * 0.9)
    canvas.ellipse(cy, cx, b, a, skin)
    sag = old**1.2
    jaw_y = cy + b * (0.35 + 0.12 * sag)
    canvas.ellipse(jaw_y, cx, b * (0.62 + 0.06 * sag), a * (0.82 + 0.12 * sag), skin)
    chin = jaw_y + b * (0.62 + 0.06 * sag)

    # Skin texture grows with age: noise and age spots inside the face.
    rr, cc = draw.ellipse(cy, cx, b, a, shape=(size, size))
    noise = rng.normal(0, 0.012 + 0.05 * old, (len(rr), 1))
    canvas.img[rr, cc] = np.clip(canvas.img[rr, cc] + noise, 0, 1)
    for _ in range(rng.poisson(max(0.0, age - 50) / 6.0)):
        i = rng.integers(len(rr))
        canvas.ellipse(rr[i], cc[i], size * 0.012, size * 0.012, skin * 0.7, 0.6)

    # Hair cap above a hairline that recedes for balding men.
    hairline = cy - b * (0.55 - 0.35 * p["bald"])
    rr, cc = draw.ellipse(cy - 0.1 * b, cx, 1.08 * b, 1.06 * a, shape=(size, size))
    keep = rr < hairline - 0.12 * b * (1 - ((cc - cx) / a) ** 2)
    patchy = np.where(rng.uniform(size=keep.sum()) < p["grey"], 1.0, 0.0)[:, None]
    strands = (1 - patchy) * p["hair"] + patchy * _GREY  # grey hairs show as scattered white strands
    canvas.blend(rr[keep], cc[keep], strands, hair_alpha * (1 - 0.8 * p["bald"] * (rr[keep] > cy - b * 0.8)))

    # Eyes: children's are bigger; eyelids droop with age.
    eye_dx = 0.38 * a
    eye_r = a * (0.19 - 0.06 * g)
    brow_color = (1 - 0.7 * p["grey"]) * p["hair"] + 0.7 * p["grey"] * _GREY
    for side in (-1, 1):
        ex = cx + side * eye_dx
        canvas.ellipse(eye_y, ex, eye_r * (0.72 - 0.2 * old), eye_r * 1.25, (0.96, 0.96, 0.94))
        canvas.ellipse(eye_y, ex, eye_r * 0.55, eye_r * 0.55, p["iris"])
        canvas.ellipse(eye_y, ex, eye_r * 0.25, eye_r * 0.25, (0.02, 0.02, 0.02))
        canvas.curve([(eye_y - eye_r * 0.7, ex - side * eye_r * 1.3), (eye_y - eye_r * (1.2 - 0.3 * old), ex),
                      (eye_y - eye_r * 0.5, ex + side * eye_r * 1.3)], skin * 0.55, 0.4 + 0.4 * old, size / 96)
        brow_y = eye_y - eye_r * (1.9 - 0.2 * old)
        canvas.curve([(brow_y + eye_r * 0.3, ex - side * eye_r * 1.3), (brow_y - eye_r * 0.4, ex),
                      (brow_y + eye_r * 0.2, ex + side * eye_r * 1.5)], brow_color, 0.9, size / 40)
        # Age lines: crow's feet at the outer corner, bags under the eye.
        if old > 0:
            ox = ex + side * eye_r * 1.5
            for k, dr in enumerate((-0.6, 0.0, 0.6)):
                canvas.curve([(eye_y + dr * eye_r * 0.5, ox), (eye_y + dr * eye_r, ox + side * eye_r * 0.5),
                              (eye_y + dr * eye_r * 1.6, ox + side * eye_r * 1.0)],
                             skin * 0.45, np.clip(1.6 * old - 0.1 * k, 0, 0.85), size / 110)
            canvas.curve([(eye_y + eye_r * 0.9, ex - eye_r), (eye_y + eye_r * (1.3 + 0.5 * old), ex),
                           (eye_y + eye_r * 0.9, ex + eye_r)], skin * 0.5, np.clip(1.5 * old, 0, 0.8), size / 90)

    # Forehead wrinkles: more and darker lines with age.
    n_lines = int(round(4 * old + 0.3))
    top, bottom = hairline + 0.12 * b, eye_y - 2.3 * eye_r
    for k in range(n_lines):
        y = bottom - (k + 0.5) * (bottom - top) / max(n_lines, 1) * 0.8
        w = a * (0.35 + 0.15 * rng.uniform())
        canvas.curve([(y, cx - w), (y - 0.06 * b * rng.uniform(0.5, 1.5), cx), (y, cx + w)],
                     skin * 0.45, np.clip(0.3 + 0.8 * old, 0, 0.85), size / 100)

    # Nose: longer in adults.
    nose_y = eye_y + b * (0.22 + 0.22 * g)
    nose_w = a * (0.11 + 0.08 * g)
    canvas.curve([(eye_y + 0.3 * eye_r, cx - 0.05 * a), (nose_y - 0.05 * b, cx - 0.12 * a), (nose_y, cx - 0.02 * a)],
                 skin * 0.75, 0.6, size / 80)
    for side in (-1, 1):
        canvas.ellipse(nose_y, cx + side * nose_w * 0.6, nose_w * 0.3, nose_w * 0.35, skin * 0.55, 0.7)

    # Mouth: corners turn down and lips thin with age; nasolabial and marionette lines.
    mouth_y = nose_y + (chin - nose_y) * 0.42
    mouth_w = a * (0.24 + 0.18 * g)
    droop = b * (0.06 * old - 0.03)
    lip = np.array([0.72, 0.32, 0.32]) * (0.75 + 0.25 * skin.mean()) * (1 - 0.2 * old) + 0.2 * old * skin
    canvas.curve([(mouth_y + droop, cx - mouth_w), (mouth_y - b * 0.03, cx), (mouth_y + droop, cx + mouth_w)],
                 lip, 0.9, size / 40 * (1.2 - 0.6 * old))
    canvas.curve([(mouth_y + droop, cx - mouth_w), (mouth_y + b * 0.07 * (1 - old), cx),
                  (mouth_y + droop, cx + mouth_w)], lip * 0.9, 0.9, size / 50 * (1.2 - 0.7 * old))
    if old > 0:
        for side in (-1, 1):
            canvas.curve([(nose_y - 0.02 * b, cx + side * nose_w * 1.3),
                          (mouth_y - 0.05 * b, cx + side * mouth_w * 1.3),
                          (mouth_y + 0.05 * b, cx + side * mouth_w * 1.15)],
                         skin * 0.5, np.clip(1.5 * old, 0, 0.8), size / 80)
            if old > 0.45:
                canvas.curve([(mouth_y + droop, cx + side * mouth_w * 1.05),
                              (mouth_y + 0.12 * b, cx + side * mouth_w * 1.1),
                              (mouth_y + 0.25 * b, cx + side * mouth_w)],
                             skin * 0.5, np.clip(2 * (old - 0.45), 0, 0.7), size / 100)
        # Double chin / jowl line under the jaw.
        canvas.curve([(chin - 0.1 * b, cx - 0.4 * a), (chin + 0.05 * b, cx), (chin - 0.1 * b, cx + 0.4 * a)],
                     skin * 0.6, np.clip(1.2 * sag, 0, 0.7), size / 90)

    if p["beard"]:
        rr, cc = draw.ellipse(jaw_y + 0.1 * b, cx, 0.6 * b, 0.8 * a, shape=(size, size))
        keep = (rr > nose_y + 0.05 * b) & (np.abs(rr - mouth_y) + 0.5 * np.abs(cc - cx) > 0.1 * b)
        stubble = rng.uniform(0, 0.5, keep.sum())
        canvas.blend(rr[keep], cc[keep], brow_color, stubble)
    return canvas.img


def _finish(img, p, image_size, rng):
    """Pose, lighting and sensor noise: the nuisance a model must learn to ignore."""
    img = transform.rotate(img, p["rotation"], mode="edge")
    img = transform.resize(img, (image_size, image_size), anti_aliasing=True)
    cols = np.linspace(-0.5, 0.5, image_size)[None, :, None]
    img = img * p["brightness"] * (1 + p["light"] * cols)
    img = img + rng.normal(0, rng.uniform(0.005, 0.025), img.shape)
    return (np.clip(img, 0, 1) * 255 + 0.5).astype(np.uint8)


def make_synthetic_faces(n_samples=200, image_size=64, random_state=None, return_metadata=False):
    """Generate cartoon faces with visible age cues, for tests and demos.

    Faces are frontal and roughly centred (eyes near 40-55 % of the height).
    Age shows through proportions (children have rounder faces, bigger eyes
    set lower on the head, shorter noses), forehead and eye wrinkles, nose-
    to-mouth lines, under-eye bags, skin texture and age spots, a sagging jaw,
    and grey hair from about 40. Nuisance variation, which a model must
    ignore: skin tone and hair colour by race, gender (long hair, beards,
    baldness), size, position, a small rotation, lighting and background.

    Parameters
    ----------
    n_samples : int, default=200
        Number of faces.
    image_size : int, default=64
        Side of the square images in pixels (at least 16).
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed gives the same faces.
    return_metadata : bool, default=False
        Also return the hidden drawing parameters (``wrinkles``, ``grey``,
        ``growth``, ``rotation``, ``light``, ...) as extra ``metadata``
        columns, useful to check the age cues.

    Returns
    -------
    data : :class:`sklearn.utils.Bunch`
        ``images`` : uint8 ndarray of shape (n_samples, image_size, image_size, 3);
        ``y`` : float ndarray of whole-year ages, roughly uniform on 1..90;
        ``metadata`` : DataFrame with ``gender`` and ``race`` (plus the drawing
        parameters when ``return_metadata``); ``DESCR``.

    Examples
    --------
    >>> from skage.datasets import make_synthetic_faces
    >>> faces = make_synthetic_faces(n_samples=4, image_size=32, random_state=0)
    >>> faces.images.shape, faces.images.dtype
    ((4, 32, 32, 3), dtype('uint8'))
    """
    n_samples, image_size = int(n_samples), int(image_size)
    if n_samples < 1:
        raise ValueError(f"n_samples must be at least 1, got {n_samples}")
    if image_size < 16:
        raise ValueError(f"image_size must be at least 16 pixels, got {image_size}")
    rng = check_random_state(random_state)
    ages = rng.randint(1, 91, n_samples).astype(float)
    genders = rng.choice(_GENDERS, n_samples)
    races = rng.choice(_RACES, n_samples, p=[0.4, 0.2, 0.15, 0.15, 0.1])
    seeds = rng.randint(0, 2**31 - 1, n_samples)
    canvas_size = max(2 * image_size, 128)  # draw large, then shrink: smooth edges at any output size

    images = np.empty((n_samples, image_size, image_size, 3), dtype=np.uint8)
    rows = []
    for i in range(n_samples):
        face_rng = np.random.default_rng(seeds[i])
        p = _face_params(ages[i], genders[i], races[i], face_rng)
        images[i] = _finish(_draw_face(canvas_size, ages[i], p, face_rng), p, image_size, face_rng)
        row = {"gender": genders[i], "race": races[i]}
        if return_metadata:
            row.update(wrinkles=p["old"], grey=p["grey"], growth=p["growth"], beard=p["beard"],
                       bald=float(p["bald"]), rotation=p["rotation"], light=p["light"],
                       brightness=p["brightness"], scale=p["scale"])
        rows.append(row)
    return Bunch(
        images=images,
        y=ages,
        metadata=pd.DataFrame(rows),
        DESCR=f"{n_samples} synthetic cartoon faces, {image_size}x{image_size} RGB, ages 1-90 (skage).",
    )


def write_synthetic_faces(folder, n_samples=200, image_size=64, random_state=None, quality=95):
    """Write synthetic faces as JPEGs named like UTKFace (``age_gender_race_index.jpg``).

    The folder then loads with :func:`~skage.datasets.load_utkface`.

    Parameters
    ----------
    folder : str or path-like
        Created if needed.
    n_samples, image_size, random_state
        As in :func:`make_synthetic_faces`.
    quality : int, default=95
        JPEG quality.

    Returns
    -------
    paths : list of str
        The written files, in generation order.

    Examples
    --------
    >>> import tempfile
    >>> from skage.datasets import write_synthetic_faces
    >>> paths = write_synthetic_faces(tempfile.mkdtemp(), n_samples=2, image_size=32, random_state=0)
    >>> len(paths)
    2
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    faces = make_synthetic_faces(n_samples, image_size, random_state)
    paths = []
    for i, (img, age, (_, meta)) in enumerate(zip(faces.images, faces.y, faces.metadata.iterrows())):
        name = f"{int(age)}_{_GENDERS.index(meta.gender)}_{_RACES.index(meta.race)}_{i:05d}.jpg"
        Image.fromarray(img).save(folder / name, quality=quality)
        paths.append(str(folder / name))
    return paths
