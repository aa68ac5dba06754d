"""Image reading shared by every stage: paths or arrays in, uint8 RGB out."""

from ._read import ImageReadError, as_image_list, describe_source, read_image, read_images

__all__ = ["ImageReadError", "as_image_list", "describe_source", "read_image", "read_images"]
