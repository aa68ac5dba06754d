"""What kind of photo a face chip comes from: measured from the chip, for a combiner to weigh its members by."""

import numpy as np

#: Names of :func:`photo_kind`'s columns.
KIND_NAMES = ("colour", "sharpness", "contrast")


def photo_kind(chips, batch_size=1024):
    """Colourfulness, sharpness and contrast of each chip's face, on log scales.

    Models trained on sharp colour chips err differently on gray scans,
    soft prints and low-contrast photos; these three numbers let a combiner
    learn whom to believe on which kind of photo.

    Parameters
    ----------
    chips : ndarray of shape (N, H, W, C >= 3), uint8
        Face chips (the centre 60 % of each is measured: the face, not the background).
    batch_size : int, default=1024

    Returns
    -------
    kind : ndarray of shape (N, 3), float32
        ``log1p`` of the mean absolute difference between colour channels
        (0 for gray photos), ``log1p`` of the variance of the Laplacian
        (sharpness), and the standard deviation of the gray values.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.stacking import photo_kind
    >>> gray = np.full((1, 150, 150, 3), 128, np.uint8)
    >>> photo_kind(gray).round(2).tolist()
    [[0.0, 0.0, 0.0]]
    """
    chips = np.asarray(chips)
    if chips.ndim != 4 or chips.shape[-1] < 3:
        raise ValueError(f"photo_kind takes chips of shape (N, H, W, C >= 3), got shape {chips.shape}")
    side = chips.shape[1]
    low, high = int(round(side * 0.2)), int(round(side * 0.8))
    out = np.empty((len(chips), len(KIND_NAMES)), np.float32)
    for start in range(0, len(chips), batch_size):
        c = np.asarray(chips[start:start + batch_size, low:high, low:high, :3], np.float32)
        colour = np.abs(c[..., 0] - c[..., 1]).mean((1, 2)) + np.abs(c[..., 1] - c[..., 2]).mean((1, 2))
        g = c.mean(-1)
        laplacian = 4 * g[:, 1:-1, 1:-1] - g[:, :-2, 1:-1] - g[:, 2:, 1:-1] - g[:, 1:-1, :-2] - g[:, 1:-1, 2:]
        out[start:start + len(c)] = np.c_[np.log1p(colour), np.log1p(laplacian.var((1, 2))), g.std((1, 2))]
    return out
