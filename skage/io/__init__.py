"""Image reading shared by every stage: paths or arrays in, uint8 RGB out."""

from ._atomic import atomic_write
from ._loader import ImageLoader, square_resize
from ._read import ImageReadError, as_image_list, describe_source, read_image, read_images

__all__ = ["ImageLoader", "ImageReadError", "as_image_list", "atomic_write", "describe_source", "read_image",
           "read_images", "square_resize"]
