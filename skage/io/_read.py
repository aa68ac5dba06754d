"""One image reader for all stages, so every stage sees the same pixels."""

import contextlib
import math
import os
import stat
import warnings
from pathlib import Path

import numpy as np
from joblib import Parallel, delayed
from PIL import Image, ImageOps, UnidentifiedImageError


class ImageReadError(ValueError):
    """An input could not be turned into an RGB image.

    Attributes
    ----------
    source : str
        The file path, or ``"array[i]"`` for in-memory inputs.

    Examples
    --------
    >>> from skage.io import ImageReadError, read_image
    >>> try:
    ...     read_image("no/such.jpg")
    ... except ImageReadError as exc:
    ...     print(exc.source, "|", exc.reason)
    no/such.jpg | file not found
    """

    def __init__(self, source, reason):
        self.source = str(source)
        self.reason = str(reason)
        super().__init__(f"cannot read image {self.source}: {self.reason}")

    def __reduce__(self):  # so the error survives the trip back from joblib worker processes
        return type(self), (self.source, self.reason)


def _to_uint8(arr):
    """Scale integer/float pixel data of any depth to uint8."""
    if arr.dtype == np.uint8:
        return arr
    if arr.dtype == np.bool_:
        return arr.astype(np.uint8) * 255
    if np.issubdtype(arr.dtype, np.floating):
        arr = np.nan_to_num(arr.astype(np.float64))
        # Floats in [0, 1] are the skimage convention; anything larger is 0..255.
        scale = 255.0 if arr.size and arr.max() <= 1.0 else 1.0
        return np.clip(arr * scale + 0.5, 0, 255).astype(np.uint8)
    if np.issubdtype(arr.dtype, np.integer):
        # 16-bit data (uint16 PNG, or PIL's int32 'I' mode) keeps its full range.
        top = 65535 if arr.size and arr.max() > 255 else 255
        return np.clip(arr.astype(np.float64) * (255.0 / top) + 0.5, 0, 255).astype(np.uint8)
    raise TypeError(f"unsupported pixel dtype {arr.dtype}")


def _array_to_rgb(arr, source):
    arr = np.asarray(arr)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim not in (2, 3) or (arr.ndim == 3 and arr.shape[2] not in (3, 4)):
        raise ImageReadError(source, f"expected an (H, W), (H, W, 3) or (H, W, 4) array, got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ImageReadError(source, f"empty image of shape {arr.shape}")
    try:
        arr = _to_uint8(arr)
    except TypeError as exc:
        raise ImageReadError(source, exc) from None
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)
    elif arr.shape[2] == 4:
        arr = arr[:, :, :3]  # alpha dropped: faces are opaque
    return np.ascontiguousarray(arr)


#: Most pixels skage decodes of one image (8000 x 8000): about 0.5 GB while decoding (Pillow keeps 4 bytes
#: a pixel, and the RGB array is a copy). A JPEG declaring more is decoded reduced by its DCT scaling (1/2,
#: 1/4, 1/8) to fit; any other format declaring more is refused before a pixel is decoded.
MAX_PIXELS = 64_000_000

# EXIF orientations that swap width and height (rotations by 90 degrees).
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}


def _display_size(img):
    """``(width, height)`` of an opened image as displayed (EXIF rotation applied), from its header only."""
    width, height = img.size
    return (height, width) if img.getexif().get(0x0112, 1) in _SWAPPING_ORIENTATIONS else (width, height)


def _draft(img, path, shrink):
    """Make a lazily opened image decode at most ``shrink`` times smaller, and never over :data:`MAX_PIXELS`."""
    width, height = img.size
    over = width * height / MAX_PIXELS
    if img.format == "JPEG":
        if over > 1:  # the smallest DCT scale that fits
            shrink = max(shrink, 2.0 ** math.ceil(math.log2(math.sqrt(over))))
        if shrink >= 2:
            # draft picks the smallest scale whose image is at least this size: shrinks by <= shrink
            img.draft(None, (math.ceil(width / shrink), math.ceil(height / shrink)))
    if img.size[0] * img.size[1] > MAX_PIXELS:
        raise ImageReadError(path, f"image too large: {width}x{height} pixels declared, over skage's limit of "
                                   f"{MAX_PIXELS // 1_000_000} MP for a {img.format} file (a JPEG is read reduced)")


@contextlib.contextmanager
def _reading(path):
    """Turn whatever opening or decoding ``path`` raises into an :class:`ImageReadError` naming it."""
    try:
        with warnings.catch_warnings():
            # skage's own cap (MAX_PIXELS) decides what is decoded; PIL's warning below its error is noise
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            yield
    except ImageReadError:
        raise
    except FileNotFoundError:
        raise ImageReadError(path, "file not found") from None
    except IsADirectoryError:
        raise ImageReadError(path, "is a directory") from None
    except Image.DecompressionBombError as exc:  # PIL's guard against images too large to decode safely
        raise ImageReadError(path, f"image too large ({exc})") from None
    except MemoryError:
        raise ImageReadError(path, "out of memory while decoding") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageReadError(path, f"not a readable image ({exc.__class__.__name__}: {exc})") from None


def _open(path):
    """``Image.open(path)`` (lazy: the header only), once ``path`` is known to be a regular file."""
    mode = os.stat(path).st_mode
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(path)
    if not stat.S_ISREG(mode):  # a FIFO, a device, a socket: opening one would block (a FIFO forever)
        raise ImageReadError(path, "not a regular file")
    return Image.open(path)


def _read_file(path, shrink=1.0):
    with _reading(path), _open(path) as img:
        return _decode(img, path, shrink)


def _decode(img, path, shrink=1.0):
    """The pixels of an opened image as uint8 RGB, at most ``shrink`` times smaller (see :func:`_draft`);
    called inside :func:`_reading`, which names ``path`` in whatever decoding raises."""
    _draft(img, path, shrink)
    img = ImageOps.exif_transpose(img)  # phone photos store rotation in EXIF
    if img.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        arr = np.asarray(img)
        if img.mode.startswith("I;16"):
            arr = arr.astype(np.uint16)
    elif img.mode in ("RGB", "L"):
        arr = np.asarray(img)
    else:  # P, LA, RGBA, CMYK, YCbCr, ...
        arr = np.asarray(img.convert("RGBA" if "A" in img.mode or img.mode == "P" else "RGB"))
    return _array_to_rgb(arr, path)


# LazyImage decodes an image this small as soon as it reads the header: one opening of the file, not two.
_EAGER_PIXELS = 1_000_000


class LazyImage:
    """One input image, decoded only as sharp as each use needs.

    Face detection wants a small copy of a photo; a face's landmarks and
    chip want its pixels at the face's own scale. A JPEG gives either cheaply
    through its DCT scaling (1/2, 1/4, 1/8), so a 48 MP photo is never decoded
    whole just to be searched for faces. Other formats are decoded whole once
    (at most :data:`MAX_PIXELS`) and kept.

    Parameters
    ----------
    image : str, path-like or ndarray
    source : str, optional
        Name used in error messages for array inputs.

    Attributes
    ----------
    size : tuple of int
        ``(width, height)`` as displayed (EXIF rotation applied); for a file,
        read from its header without decoding.
    """

    def __init__(self, image, source=None):
        if isinstance(image, (str, os.PathLike)):
            self._path = os.fspath(image)
            self._full = None
            with _reading(self._path), _open(self._path) as img:
                if img.size[0] * img.size[1] <= _EAGER_PIXELS:
                    self._full = _decode(img, self._path)
                    self.size = self._full.shape[1], self._full.shape[0]
                else:
                    self.size = _display_size(img)
        else:
            self._path = None
            self._full = read_image(image, source=source)
            self.size = self._full.shape[1], self._full.shape[0]

    def read(self, shrink=1.0):
        """The image, at most ``shrink`` times smaller than :attr:`size` on each side.

        Returns
        -------
        rgb : ndarray of shape (H, W, 3), uint8
        """
        if self._full is not None:
            return self._full
        rgb = _read_file(self._path, shrink)
        if rgb.shape[1] >= self.size[0] and rgb.shape[0] >= self.size[1]:
            self._full = rgb  # decoded whole (not a JPEG, or no shrink asked): keep it
        return rgb

    def fit(self, max_side):
        """The image resized so that its longer side is at most ``max_side`` (never enlarged)."""
        width, height = self.size
        shrink = max(width, height) / max_side
        rgb = self.read(shrink)
        if max(rgb.shape[:2]) <= max_side:
            return rgb
        pil = Image.fromarray(rgb)
        pil.thumbnail((max_side, max_side), Image.Resampling.BILINEAR, reducing_gap=2.0)
        return np.asarray(pil)


def read_image(image, source=None):
    """Read one image as a uint8 RGB array of shape ``(H, W, 3)``.

    Parameters
    ----------
    image : str, path-like or ndarray
        A file path (any format Pillow reads; EXIF rotation is applied), or an
        array: grayscale ``(H, W)``, RGB, RGBA, uint8, uint16 or float in [0, 1].
    source : str, optional
        Name used in error messages for array inputs.

    Returns
    -------
    rgb : ndarray of shape (H, W, 3), dtype uint8

    Raises
    ------
    ImageReadError
        If the input is missing, corrupt, not an image or of an unusable shape,
        or declares more than :data:`MAX_PIXELS` (64 MP) in a format other than
        JPEG (checked from the header, before decoding; a JPEG that large is
        decoded reduced by its DCT scaling instead); the message names the file.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.io import read_image
    >>> read_image(np.zeros((4, 5), dtype=np.uint16)).shape
    (4, 5, 3)
    """
    if isinstance(image, (str, os.PathLike)):
        return _read_file(os.fspath(image))
    if isinstance(image, np.ndarray):
        return _array_to_rgb(image, source or "array")
    raise ImageReadError(source or repr(type(image)), "expected a file path or a numpy array")


def as_image_list(X):
    """Turn the accepted ``X`` forms into a list of per-image inputs.

    ``X`` is always a batch: a sequence of paths or arrays, a 4-d array
    ``(N, H, W, C)``, a 3-d array ``(N, H, W)`` of grayscale images, or a
    pandas Series/DataFrame column of paths. An empty ``X`` gives an empty
    list.

    Raises
    ------
    ValueError
        For a 2-d array, and for a 3-d array whose last axis has 1, 3 or 4
        entries: those are the shapes of *one* image, ``(H, W)`` or
        ``(H, W, C)``, which reading them as a batch would turn into
        ``H`` images of one row each. The message says to pass ``[image]``.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.io import as_image_list
    >>> len(as_image_list(np.zeros((2, 8, 8, 3)))), len(as_image_list([]))
    (2, 0)
    >>> as_image_list(np.zeros((8, 8, 3)))
    Traceback (most recent call last):
    ...
    ValueError: X has the shape (8, 8, 3) of one image; X is a batch of images: pass [image] or image[None]
    """
    if hasattr(X, "to_numpy") and getattr(X, "ndim", 1) == 2:
        if X.shape[1] != 1:
            raise ValueError(f"expected a single column of image paths, got {X.shape[1]} columns")
        X = X.iloc[:, 0]
    if isinstance(X, (str, os.PathLike)):
        raise TypeError("X must be a sequence of images or paths, not a single path; wrap it in a list")
    if X is None or not hasattr(X, "__iter__"):
        raise TypeError(f"X must be a sequence of images or paths (a list of file names, or an array of "
                        f"images), got {type(X).__name__}")
    if isinstance(X, np.ndarray) and X.dtype.kind in "US":  # numpy string arrays of paths
        return [str(x) for x in X.reshape(-1)]
    if isinstance(X, np.ndarray) and X.dtype != object:
        if X.ndim >= 1 and X.shape[0] == 0:
            return []
        if X.ndim == 2 or (X.ndim == 3 and X.shape[2] in (1, 3, 4)):
            raise ValueError(f"X has the shape {X.shape} of one image; X is a batch of images: pass [image] "
                             "or image[None]")
        if X.ndim in (3, 4):
            return list(X)
        raise ValueError(f"an image array X must be 4-d (N, H, W, C) or 3-d (N, H, W) for gray images, "
                         f"got shape {X.shape}")
    return list(X)


def read_images(X, n_jobs=None, errors="raise"):
    """Read a batch of images.

    Parameters
    ----------
    X : sequence of paths or arrays, or ndarray of shape (N, H, W[, C])
    n_jobs : int, optional
        Parallel readers (joblib threads; decoding releases the GIL).
    errors : {"raise", "return"}
        ``"raise"`` stops at the first unreadable input; ``"return"`` puts the
        :class:`ImageReadError` in that input's slot so callers can flag it.

    Returns
    -------
    images : list of ndarray (H, W, 3) uint8, one per input, in order

    Examples
    --------
    >>> import numpy as np
    >>> from skage.io import read_images
    >>> images = read_images([np.zeros((4, 5), np.uint8), "no/such.jpg"], errors="return")
    >>> images[0].shape, images[1]
    ((4, 5, 3), ImageReadError('cannot read image no/such.jpg: file not found'))
    """
    if errors not in ("raise", "return"):
        raise ValueError(f"errors must be 'raise' or 'return', got {errors!r}")
    items = as_image_list(X)

    def one(i, item):
        try:
            return read_image(item, source=f"array[{i}]")
        except ImageReadError as exc:
            if errors == "raise":
                raise
            return exc

    if n_jobs in (None, 1) or len(items) < 16:
        return [one(i, item) for i, item in enumerate(items)]
    return Parallel(n_jobs=n_jobs, prefer="threads")(delayed(one)(i, item) for i, item in enumerate(items))


def describe_source(x, i):
    """Short name of input ``i`` for messages and reports.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.io import describe_source
    >>> describe_source("photos/a.jpg", 0), describe_source(np.zeros((4, 4, 3)), 1)
    ('photos/a.jpg', 'array[1]')
    """
    return os.fspath(x) if isinstance(x, (str, Path, os.PathLike)) else f"array[{i}]"
