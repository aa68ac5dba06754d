"""Age-labelled face datasets: loaders for public sets, a ``KIND:PATH`` helper, synthetic faces."""

from ._base import IMAGE_EXTENSIONS, MAX_AGE, SkippedFileWarning
from ._loaders import load_afad, load_fgnet, load_folder, load_imdb_clean, load_morph, load_utkface
from ._spec import DATASET_KINDS, load_dataset, parse_dataset_spec
from ._synthetic import make_synthetic_faces, write_synthetic_faces

__all__ = [
    "DATASET_KINDS",
    "IMAGE_EXTENSIONS",
    "MAX_AGE",
    "SkippedFileWarning",
    "load_afad",
    "load_dataset",
    "load_fgnet",
    "load_folder",
    "load_imdb_clean",
    "load_morph",
    "load_utkface",
    "make_synthetic_faces",
    "parse_dataset_spec",
    "write_synthetic_faces",
]
