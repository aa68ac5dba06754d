"""Sphinx-gallery image scraper for the figures skage's plot functions return.

skage's plots (``skage.viz``) return matplotlib Figures that pyplot does not hold, so that a library never
leaves figures open; sphinx-gallery's matplotlib scraper only sees pyplot's. This one shows every such
Figure a code block leaves in the example's variables, once.
"""

from matplotlib.figure import Figure
from sphinx_gallery.scrapers import figure_rst

_SHOWN = "_skage_gallery_shown"


def skage_figures(block, block_vars, gallery_conf):
    """Save the new Figures not held by pyplot found in the example's globals; their rst."""
    example = block_vars["example_globals"]
    shown = example.setdefault(_SHOWN, set())
    paths = []
    for value in list(example.values()):
        if not isinstance(value, Figure) or id(value) in shown:
            continue
        shown.add(id(value))
        # runs before the matplotlib scraper, which closes pyplot's figures (dropping their manager):
        # a figure with a manager now is pyplot's, shown by that scraper, and never by this one
        if getattr(value.canvas, "manager", None) is None:
            path = next(block_vars["image_path_iterator"])
            value.savefig(path, facecolor="white")
            paths.append(path)
    return figure_rst(paths, gallery_conf["src_dir"])
