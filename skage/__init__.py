"""skage: fair facial age estimation from scikit-learn estimators.

Stages (one subpackage each, in pipeline order): ``io`` → ``alignment`` →
``augment`` (training only) → ``parsing`` → ``sampling`` → ``nn`` → ``refine``; with ``datasets``,
``features`` (baselines), ``metrics``, ``pipeline`` and ``cli`` around them.
Subpackages are imported lazily so that ``import skage`` stays cheap (torch
alone takes seconds to import).
"""

__version__ = "0.1.0"

__all__ = [
    "io", "datasets", "alignment", "augment", "parsing", "features", "sampling", "nn",
    "refine", "intervals", "metrics", "pipeline", "compare", "viz", "cli",
]


def __getattr__(name):
    if name in __all__:
        import importlib

        return importlib.import_module(f"skage.{name}")
    raise AttributeError(f"module 'skage' has no attribute {name!r}")
