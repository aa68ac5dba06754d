"""A photo with its faces boxed and labelled with their predicted ages: what a person checks by eye.

Drawn with Pillow, not matplotlib: a photo library is thousands of pictures, and a
figure per photo would cost more than predicting its ages.
"""


import numpy as np

#: Long side of a drawing in pixels, unless told otherwise: enough to check a face by eye.
MAX_SIDE = 1280

# Distinct on skin, hair and most backgrounds; cycled over the faces of a photo.
_COLORS = ("#ffd400", "#00e5ff", "#ff4fd8", "#7CFC00", "#ff8c00", "#ffffff")

_NOTES = {"no_face": "no face found", "too_small": "image too small for a face"}


def _viewing_copy(image, max_side):
    """``(picture, (sx, sy))``: the photo as read for prediction (EXIF rotation applied), shrunk to
    ``max_side`` (a JPEG decoded reduced, as for detection), and the factors from the photo's pixel
    coordinates to the picture's."""
    from PIL import Image

    from ..io._read import LazyImage

    photo = LazyImage(image, source="image")
    picture = Image.fromarray(photo.fit(max_side))
    width, height = photo.size
    return picture, (picture.width / width, picture.height / height)


def _box(value):
    if isinstance(value, str):
        return [float(v) for v in value.split(",")] if value.strip() else None
    box = np.asarray(value, dtype=float).ravel()
    return box.tolist() if box.size == 4 and np.isfinite(box).all() else None


def _age_text(row):
    age = row.get("age")
    if age is None or not np.isfinite(age):
        return ""
    low, high = row.get("age_low"), row.get("age_high")
    if low is not None and high is not None and np.isfinite(low) and np.isfinite(high):
        return f"{age:.0f} ({low:.0f}\u2013{high:.0f})"
    return f"{age:.0f}"


def _label(draw, xy, text, color, font, above=True):
    """Text on a filled box of the face's colour, above ``xy`` (or below it where there is no room)."""
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    pad = max(2, (bottom - top) // 5)
    width, height = right - left + 2 * pad, bottom - top + 2 * pad
    x, y = xy
    y = y - height if above and y - height >= 0 else y
    draw.rectangle((x, y, x + width, y + height), fill=color)
    draw.text((x + pad - left, y + pad - top), text, fill="black", font=font)


def draw_faces(image, faces, path=None, *, max_side=MAX_SIDE):
    """Draw a photo with each face boxed and labelled with its predicted age.

    The picture is downsized for viewing (a large JPEG is decoded at reduced
    size, which is fast); each face found gets a box in its own colour and a
    label ``#face: age``, with the interval ``(low–high)`` where the rows have
    ``age_low`` and ``age_high`` (``skage predict --interval``). A photo
    without a face found is drawn with a note saying so (and the age of the
    centre crop, where the model gave one); a photo aged whole (a model
    without an aligner) with a note giving its age.

    Parameters
    ----------
    image : str, path-like or ndarray
        The photo, as given to :func:`skage.pipeline.predict_faces`.
    faces : pandas.DataFrame
        This photo's rows of :func:`~skage.pipeline.predict_faces`: columns
        ``box`` (``"left,top,right,bottom"`` in the photo's pixels, or 4
        numbers), ``age``, ``flag`` and ``face``; ``age_low`` and
        ``age_high`` when present.
    path : str or path-like, optional
        JPEG file to write, whole or not at all (:func:`skage.io.atomic_write`).
    max_side : int, default=1280
        Long side of the picture in pixels; a smaller photo keeps its size.

    Returns
    -------
    picture : PIL.Image.Image
        The drawing, RGB.

    Raises
    ------
    skage.io.ImageReadError
        If the photo cannot be read (its row of ``predict_faces`` says so too).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from skage.viz import draw_faces
    >>> photo = np.full((300, 400, 3), 90, np.uint8)
    >>> faces = pd.DataFrame({"face": [0], "box": ["100,60,220,180"], "age": [34.2], "flag": ["ok"]})
    >>> picture = draw_faces(photo, faces)
    >>> picture.size, picture.getpixel((100, 120)) != (90, 90, 90)  # the box's left edge
    ((400, 300), True)
    """
    import pandas as pd
    from PIL import ImageDraw, ImageFont

    from ..io import atomic_write

    picture, (sx, sy) = _viewing_copy(image, max_side)
    draw = ImageDraw.Draw(picture)
    long_side = max(picture.size)
    font = ImageFont.load_default(size=max(14, round(long_side / 36)))
    line = max(2, round(long_side / 320))
    drawn = 0
    for k, row in enumerate(faces.to_dict("records")):
        box = _box(row.get("box", ""))
        if box is None or row.get("flag", "ok") != "ok":
            continue
        left, top, right, bottom = box[0] * sx, box[1] * sy, box[2] * sx, box[3] * sy
        color = _COLORS[k % len(_COLORS)]
        draw.rectangle((left, top, right, bottom), outline=color, width=line)
        face = row.get("face", k)
        text = ": ".join(t for t in ("" if pd.isna(face) else f"#{face}", _age_text(row)) if t)
        _label(draw, (left, top), text, color, font)
        drawn += 1
    if not drawn:
        row = faces.iloc[0].to_dict() if len(faces) else {}
        flag, age = row.get("flag", ""), _age_text(row)
        if flag in _NOTES:
            note = f"{_NOTES[flag]}; centre crop: {age}" if age else _NOTES[flag]
        else:  # a model without an aligner ages the photo whole
            note = f"whole photo: {age}" if age else (flag or "no age")
        _label(draw, (0, 0), note, "white", font, above=False)
    if path is not None:
        with atomic_write(path, "wb") as f:
            picture.save(f, format="JPEG", quality=90)
    return picture
