"""How users' photos differ from training chips: gray, faded, soft, small, noisy, compressed.

Each degradation maps an RGB uint8 chip to another RGB uint8 chip of the same size; extra
channels (region masks) are never touched. :func:`degrade_chip` draws a random chain of them.
"""

import io

import numpy as np
from PIL import Image, ImageFilter

#: Probability of each degradation in one degraded copy (at least one is always applied).
#: Grayscale first: about a fifth of FG-NET's photos are gray scans, which a model trained on
#: colour chips reads as 17 years older.
DEGRADATIONS = {
    "grayscale": 0.35,
    "colour_cast": 0.3,
    "faded": 0.25,
    "low_contrast": 0.3,
    "blur": 0.3,
    "low_resolution": 0.3,
    "noise": 0.2,
    "jpeg": 0.4,
}

# ITU-R BT.601 luma, as PIL's convert("L")
_LUMA = np.array([0.299, 0.587, 0.114], np.float32)
# A sepia tint: what an old colour print fades towards
_SEPIA = np.array([[0.393, 0.769, 0.189], [0.349, 0.686, 0.168], [0.272, 0.534, 0.131]], np.float32)


def _grayscale(rgb, rng):
    luma = rgb @ _LUMA
    return np.repeat(luma[..., None], 3, axis=-1)


def _colour_cast(rgb, rng):
    # scanned prints drift towards magenta, orange or blue: a gain per channel
    return rgb * rng.uniform(0.75, 1.25, 3).astype(np.float32)


def _faded(rgb, rng):
    tinted = np.clip(rgb @ _SEPIA.T, 0, 255)
    mixed = rgb + rng.uniform(0.3, 0.9) * (tinted - rgb)
    lift = rng.uniform(10, 50)  # washed-out blacks of an old print
    return lift + mixed * (255 - lift) / 255


def _low_contrast(rgb, rng):
    mean = rgb.mean(axis=(0, 1), keepdims=True)
    return mean + (rgb - mean) * rng.uniform(0.45, 0.85)


def _noise(rgb, rng):
    return rgb + rng.normal(0, rng.uniform(3, 12), rgb.shape)


def _pil(fn):
    """A degradation done by PIL on the uint8 image."""

    def apply(rgb, rng):
        image = Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8))
        return np.asarray(fn(image, rng), np.float32)

    return apply


@_pil
def _blur(image, rng):
    return image.filter(ImageFilter.GaussianBlur(rng.uniform(0.6, 2.0) * image.width / 150))


@_pil
def _low_resolution(image, rng):
    side = int(rng.uniform(0.16, 0.45) * image.width)  # 24-68 px of a 150-px chip
    small = image.resize((side, side), Image.BILINEAR)
    return small.resize(image.size, Image.BILINEAR)


@_pil
def _jpeg(image, rng):
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=int(rng.integers(10, 50)))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return decoded.convert("RGB").copy()


_APPLY = {"grayscale": _grayscale, "colour_cast": _colour_cast, "faded": _faded, "low_contrast": _low_contrast, "blur": _blur,
          "low_resolution": _low_resolution, "noise": _noise, "jpeg": _jpeg}


def check_degradations(probabilities):
    """``DEGRADATIONS`` updated with ``probabilities`` (names checked, values in [0, 1])."""
    probabilities = dict(DEGRADATIONS if probabilities is None else {**DEGRADATIONS, **probabilities})
    unknown = sorted(set(probabilities) - set(_APPLY))
    if unknown:
        raise ValueError(f"unknown degradation(s) {unknown}; known: {sorted(_APPLY)}")
    bad = {k: v for k, v in probabilities.items() if not 0 <= v <= 1}
    if bad:
        raise ValueError(f"degradation probabilities must be in [0, 1], got {bad}")
    if not any(probabilities.values()):
        raise ValueError("at least one degradation needs a probability above 0")
    return probabilities


def degrade_chip(chip, rng, probabilities=None):
    """A degraded copy of one chip: each degradation drawn with its probability, in a fixed order.

    Parameters
    ----------
    chip : ndarray of shape (H, W, C >= 3), dtype uint8
        RGB first; further channels (region masks) are copied unchanged.
    rng : numpy.random.Generator
    probabilities : dict, optional
        Overrides of :data:`DEGRADATIONS`.

    Returns
    -------
    copy : ndarray like ``chip``
        At least one degradation applied.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.augment import DEGRADATIONS, degrade_chip
    >>> chip = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    >>> only_gray = {name: 0.0 for name in DEGRADATIONS} | {"grayscale": 1.0}
    >>> gray = degrade_chip(chip, np.random.default_rng(0), only_gray)
    >>> bool((gray[..., 0] == gray[..., 1]).all()), gray.dtype
    (True, dtype('uint8'))
    """
    probabilities = check_degradations(probabilities)
    names = [n for n, p in probabilities.items() if rng.random() < p]
    if not names:  # an unchanged copy would only repeat the chip
        candidates = [n for n, p in probabilities.items() if p > 0]
        names = [candidates[rng.integers(len(candidates))]]
    rgb = chip[..., :3].astype(np.float32)
    for name in _APPLY:  # a fixed order: colour first, then the print/scan/camera chain
        if name in names:
            rgb = _APPLY[name](rgb, rng)
    out = chip.copy()
    out[..., :3] = np.clip(np.rint(rgb), 0, 255).astype(np.uint8)
    return out
