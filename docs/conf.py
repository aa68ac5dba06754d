"""Sphinx configuration: the skage site (user guide, API reference, examples gallery).

Build with ``make docs`` (warnings are errors). The API reference is generated at each build from every
subpackage's ``__all__`` (see :func:`write_api_sources`), so it cannot drift from the code.
"""

import os
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
if (REPO / "skage").is_dir():
    sys.path.insert(0, str(REPO))  # the checkout's skage, whatever is installed
sys.path.insert(0, str(DOCS))  # _skage_gallery, the gallery's scraper

import skage  # noqa: E402

# The subpackages of the API reference, in pipeline order.
SUBPACKAGES = ["io", "datasets", "alignment", "augment", "parsing", "features", "sampling", "nn", "refine", "stacking",
               "pipeline", "intervals", "metrics", "compare", "viz"]
API_DIR = DOCS / "api"


def api_names():
    """``{subpackage: list(__all__)}`` for every documented subpackage."""
    import importlib

    return {sub: list(importlib.import_module(f"skage.{sub}").__all__) for sub in SUBPACKAGES}


def write_api_sources(out=API_DIR):
    """Write one autosummary page per subpackage listing exactly its ``__all__``, and their index."""
    out = Path(out)
    out.mkdir(exist_ok=True)
    index = ["API reference", "=" * 13, "", "Every public name of each subpackage (its ``__all__``).", "",
             ".. toctree::", "   :maxdepth: 1", ""]
    for sub, names in api_names().items():
        index.append(f"   {sub}")
        title = f"skage.{sub}"
        page = [title, "=" * len(title), "", f".. automodule:: skage.{sub}", "   :no-members:", "",
                f".. currentmodule:: skage.{sub}", "", ".. autosummary::", "   :toctree: generated/",
                "   :nosignatures:", ""] + [f"   {name}" for name in names] + [""]
        _write_if_changed(out / f"{sub}.rst", "\n".join(page))
    _write_if_changed(out / "index.rst", "\n".join(index) + "\n")


def _write_if_changed(path, text):
    # unchanged files keep their time stamp, so Sphinx does not re-read every page on each build
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


project = "skage"
author = "the skage developers"
copyright = "the skage developers, BSD-3-Clause"
version = release = skage.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_copybutton",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
# api.md and build_api.py were the hand-rolled reference this site replaces
exclude_patterns = ["_build", "gen_modules", "_skage_gallery.py", "api.md", "build_api.py", "**.ipynb_checkpoints",
                    "auto_examples/*.md5", "auto_examples/*.py", "auto_examples/*.ipynb", "auto_examples/*.zip"]
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence"]

autosummary_generate = True
autodoc_default_options = {"members": False, "inherited-members": False}
autodoc_typehints = "none"  # numpydoc's Parameters section says the types
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = False
numpydoc_xref_param_type = False

html_theme = "pydata_sphinx_theme"
html_title = f"skage {release}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2, "secondary_sidebar_items": ["page-toc"]}
html_static_path = []
html_show_sourcelink = False

# Examples gallery. SKAGE_GALLERY_PATTERN narrows what runs (e.g. while writing one example);
# the files that do not match are still shown, unexecuted.
sphinx_gallery_conf = {
    "examples_dirs": str(REPO / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": os.environ.get("SKAGE_GALLERY_PATTERN", r"/plot_"),
    # command-line scripts (argparse, files written to a folder): run from a shell, not gallery pages
    "ignore_pattern": r"__init__\.py|train_multigpu\.py|predict_folder\.py|plot_attention\.py"
                      r"|plot_face_regions\.py|plot_reports\.py",
    "within_subsection_order": "FileNameSortKey",
    "download_all_examples": False,
    "remove_config_comments": True,
    # the Figures skage.viz returns (not held by pyplot; docs/_skage_gallery.py), then pyplot's
    "image_scrapers": ("_skage_gallery.skage_figures", "matplotlib"),
    "reset_modules": ("matplotlib",),
    "show_memory": False,
    "min_reported_time": 0,
    "backreferences_dir": "gen_modules/backreferences",
    "doc_module": ("skage",),
}


def setup(app):
    # before Sphinx lists the source files (and autosummary generates the pages those list)
    app.connect("config-inited", lambda app, config: write_api_sources())
