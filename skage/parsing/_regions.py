"""Soft face-region masks from dlib's 68 landmarks (iBUG 300-W numbering).

Landmark indices used: jaw 0-16 (8 is the chin), brows 17-21 and 22-26,
nose bridge 27-30, nose base 31-35, eyes 36-41 and 42-47 (outer corner,
upper lid, inner corner, lower lid), outer lips 48-59.
"""

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

#: Region names in mask-channel order.
REGIONS = ("forehead", "brows", "eyes", "under_eyes", "nose", "cheeks", "mouth", "jaw", "skin")

# Lower lids from the outer to the inner corner (image-left eye), and inner to outer (image-right).
_LOWER_LIDS = ([36, 41, 40, 39], [42, 47, 46, 45])


def _frame(landmarks):
    """Unit vectors along the eye line and up the face, and the inter-ocular distance."""
    left, right = landmarks[36:42].mean(axis=0), landmarks[42:48].mean(axis=0)
    iod = float(np.linalg.norm(right - left)) or 1.0
    along = (right - left) / iod
    up = np.array([along[1], -along[0]])  # y points down in images
    return along, up, iod


def region_polygons(landmarks):
    """Polygons (lists of ``(n, 2)`` arrays) for each region, keyed by name.

    ``"skin"`` is the face outline; :func:`region_masks` removes eyes, brows
    and mouth from it.

    Examples
    --------
    >>> from skage.alignment import template_landmarks
    >>> from skage.parsing import region_polygons
    >>> polygons = region_polygons(template_landmarks(68, 64, 0.1))
    >>> {name: len(parts) for name, parts in polygons.items()}
    {'forehead': 1, 'brows': 2, 'eyes': 2, 'under_eyes': 2, 'nose': 1, 'cheeks': 2, 'mouth': 1, 'jaw': 1, 'skin': 1}
    >>> polygons["skin"][0].shape
    (27, 2)
    """
    p = np.asarray(landmarks, dtype=np.float64)
    along, up, iod = _frame(p)
    down = -up

    # Facial thirds: hairline to brows is about as long as the nose. The hairline
    # drops towards the temples, hence the lower profile at the brow ends.
    brows = p[17:27]
    forehead_bottom = brows + up * 0.08 * iod
    height = np.linalg.norm(p[33] - p[27])
    profile = 0.6 + 0.4 * np.sin(np.linspace(0, np.pi, len(brows)))
    forehead_top = forehead_bottom + up * height * profile[:, None]
    forehead = np.vstack([forehead_bottom, forehead_top[::-1]])

    brow_polys = [np.vstack([b + up * 0.04 * iod, (b + down * 0.12 * iod)[::-1]]) for b in (p[17:22], p[22:27])]

    eye_polys = []
    for eye in (p[36:42], p[42:48]):
        centre = eye.mean(axis=0)
        eye_polys.append(centre + (eye - centre) * 1.15)

    under_polys, under_bottoms = [], []
    for lid in _LOWER_LIDS:
        top = p[lid] + down * 0.06 * iod
        bottom = top + down * 0.3 * iod
        under_polys.append(np.vstack([top, bottom[::-1]]))
        under_bottoms.append(bottom)

    nose = np.vstack([
        p[27] - along * 0.1 * iod,
        p[31] - along * 0.05 * iod + down * 0.03 * iod,
        p[32:35] + down * 0.03 * iod,
        p[35] + along * 0.05 * iod + down * 0.03 * iod,
        p[27] + along * 0.1 * iod,
    ])

    # Cheeks: below the under-eye band, beside nose and mouth, inside the jaw line.
    cheek_left = np.vstack([
        under_bottoms[0][0], under_bottoms[0][-1], p[31] - along * 0.1 * iod, p[48] - along * 0.05 * iod, p[4:0:-1]
    ])
    cheek_right = np.vstack([
        under_bottoms[1][-1], under_bottoms[1][0], p[35] + along * 0.1 * iod, p[54] + along * 0.05 * iod, p[12:16]
    ])

    mouth_centre = p[48:60].mean(axis=0)
    mouth = mouth_centre + (p[48:60] - mouth_centre) * 1.05

    jaw = np.vstack([p[4:13], p[54:60], p[48:49]])

    skin = np.vstack([p[0:17], forehead_top[::-1]])

    return {
        "forehead": [forehead],
        "brows": brow_polys,
        "eyes": eye_polys,
        "under_eyes": under_polys,
        "nose": [nose],
        "cheeks": [cheek_left, cheek_right],
        "mouth": [mouth],
        "jaw": [jaw],
        "skin": [skin],
    }


def _fill(polygons, size):
    canvas = Image.new("L", (size, size), 0)
    draw = ImageDraw.Draw(canvas)
    for poly in polygons:
        if np.all(np.isfinite(poly)):
            draw.polygon([tuple(xy) for xy in poly], fill=255)
    return canvas


def region_masks(landmarks, size, blur=0.05):
    """Soft masks ``(size, size, len(REGIONS))``, uint8 0..255, channel order :data:`REGIONS`.

    Parameters
    ----------
    landmarks : ndarray of shape (68, 2)
        dlib 68-point landmarks in chip pixel coordinates.
    size : int
        Chip side in pixels.
    blur : float, default=0.05
        Gaussian edge softness, as a fraction of the inter-ocular distance;
        0 gives hard masks.

    Examples
    --------
    >>> from skage.alignment import template_landmarks
    >>> from skage.parsing import region_masks
    >>> region_masks(template_landmarks(68, 64, 0.1), 64).shape
    (64, 64, 9)
    """
    landmarks = np.asarray(landmarks, dtype=np.float64)
    if landmarks.shape != (68, 2):
        raise ValueError(f"region masks need 68 landmarks of shape (68, 2), got {landmarks.shape}")
    polygons = region_polygons(landmarks)
    hard = {name: np.asarray(_fill(polys, size)) for name, polys in polygons.items()}
    features = np.maximum.reduce([hard["eyes"], hard["brows"], hard["mouth"]])
    hard["skin"] = np.where(features > 0, 0, hard["skin"]).astype(np.uint8)
    radius = blur * _frame(landmarks)[2]
    masks = np.zeros((size, size, len(REGIONS)), np.uint8)
    for k, name in enumerate(REGIONS):
        if radius <= 0:
            masks[..., k] = hard[name]
            continue
        # Blur only the region's bounding box plus the kernel's reach: outside it the mask is 0
        # before and after blurring, and this is most of the chip for all regions but the skin.
        rows, cols = np.nonzero(hard[name].any(axis=1)), np.nonzero(hard[name].any(axis=0))
        if not len(rows[0]):
            continue
        reach = int(np.ceil(4 * radius)) + 2
        top, bottom = max(0, rows[0][0] - reach), min(size, rows[0][-1] + 1 + reach)
        left, right = max(0, cols[0][0] - reach), min(size, cols[0][-1] + 1 + reach)
        crop = Image.fromarray(np.ascontiguousarray(hard[name][top:bottom, left:right]))
        masks[top:bottom, left:right, k] = np.asarray(crop.filter(ImageFilter.GaussianBlur(radius)))
    return masks
