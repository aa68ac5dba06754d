"""skage: fair facial age estimation from scikit-learn estimators.

Stages (one subpackage each, in pipeline order): ``io`` → ``alignment`` →
``augment`` (training only) → ``parsing`` → ``sampling`` → ``nn`` → ``refine`` / ``stacking``; with ``datasets``,
``features`` (baselines), ``metrics``, ``pipeline`` and ``cli`` around them.
Subpackages are imported lazily so that ``import skage`` stays cheap (torch
alone takes seconds to import).

Imports only point down :data:`_LAYERS` (lowest first): a module imports
from its own subpackage or from a lower layer, never from its layer's peers
or above, at module level or inside functions (``tests/test_layers.py``).
Constants and helpers two layers share live in the lower one; those of the
pretrained dlib networks, shared by ``features`` and ``nn``, in the root
layer (``skage._dlib_networks``).
"""

__version__ = "0.1.0"

__all__ = [
    "io", "datasets", "alignment", "augment", "parsing", "features", "sampling", "nn",
    "refine", "stacking", "intervals", "metrics", "pipeline", "compare", "viz", "cli",
]


def __getattr__(name):
    if name in __all__:
        import importlib

        return importlib.import_module(f"skage.{name}")
    raise AttributeError(f"module 'skage' has no attribute {name!r}")


#: Layers of skage's subpackages, lowest first; the root layer is this package and its private modules.
_LAYERS = (
    ("_params",),
    ("skage", "_stateless", "_parallel", "_dlib_networks"),
    ("io",),
    ("datasets", "metrics"),
    ("alignment", "augment"),
    ("parsing", "sampling"),
    ("nn",),
    ("features",),
    ("refine", "intervals"),
    ("stacking",),
    ("viz",),
    ("pipeline",),
    ("compare",),
    ("cli",),
)
