"""Face-region masks drawn over faces (the masks come from :mod:`skage.parsing`)."""

import numpy as np

from ..parsing import REGIONS
from ._common import fill_doc, new_figure, save_figure

#: Regions drawn by default: skin covers the others, leaving it out keeps the overlay readable.
DEFAULT_SHOWN = tuple(r for r in REGIONS if r != "skin")


def _split(image, masks):
    image = np.asarray(image)
    if masks is None:
        if image.ndim != 3 or image.shape[2] != 3 + len(REGIONS):
            raise ValueError(
                f"pass masks, or an image with {3 + len(REGIONS)} channels (RGB + REGIONS); got shape {image.shape}"
            )
        image, masks = image[..., :3], image[..., 3:]
    masks = np.asarray(masks)
    if masks.shape != image.shape[:2] + (len(REGIONS),):
        raise ValueError(f"masks must have shape {image.shape[:2] + (len(REGIONS),)}, got {masks.shape}")
    return image, masks


def _colours():
    from matplotlib import colormaps

    # tab10 entries chosen to stand out on skin (its brown does not)
    cmap = colormaps["tab10"]
    picks = {"forehead": 0, "brows": 1, "eyes": 2, "under_eyes": 3, "nose": 4,
             "cheeks": 8, "mouth": 6, "jaw": 9, "skin": 7}
    return {name: np.array(cmap(picks[name])[:3]) for name in REGIONS}


def overlay_regions(image, masks=None, regions=DEFAULT_SHOWN, alpha=0.5):
    """RGB image with each region's mask blended in its own colour, uint8 ``(H, W, 3)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.viz import overlay_regions
    >>> overlay_regions(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 8, 9), np.uint8)).shape
    (8, 8, 3)
    """
    image, masks = _split(image, masks)
    colours = _colours()
    out = image.astype(np.float64) / 255
    for name in regions:
        weight = alpha * masks[..., REGIONS.index(name)][..., None] / 255.0
        out = out * (1 - weight) + colours[name] * weight
    return np.clip(out * 255 + 0.5, 0, 255).astype(np.uint8)


def _legend(fig, regions):
    from matplotlib.patches import Patch

    colours = _colours()
    handles = [Patch(color=colours[name], label=name) for name in regions]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(regions), 5), fontsize="small", frameon=False)


@fill_doc
def plot_face_regions(image, masks=None, regions=DEFAULT_SHOWN, alpha=0.5, path=None, ax=None):
    """Overlay region masks on a face.

    Parameters
    ----------
    image : ndarray of shape (S, S, 3) or (S, S, 3 + K), uint8
        A chip, or a chip with its masks appended (a
        :class:`~skage.parsing.FaceParser` row).
    masks : ndarray of shape (S, S, K), optional
        Masks in :data:`skage.parsing.REGIONS` order, when ``image`` has only RGB.
    regions : sequence of str
        Regions to show (default: all but ``"skin"``).
    alpha : float
        Opacity of a full-strength mask.
    {path}
    ax : matplotlib Axes, optional
        Draw here instead of a new figure.

    {returns_fig}

    Examples
    --------
    >>> import numpy as np
    >>> from skage.alignment import template_landmarks
    >>> from skage.parsing import region_masks
    >>> from skage.viz import plot_face_regions
    >>> masks = region_masks(template_landmarks(68, 64, 0.1), 64)
    >>> fig = plot_face_regions(np.zeros((64, 64, 3), np.uint8), masks)
    """
    if ax is None:
        fig = new_figure((4, 4.6), layout=None)
        ax = fig.add_axes((0, 0.12, 1, 0.88))
        _legend(fig, regions)
    else:
        fig = ax.figure
    ax.imshow(overlay_regions(image, masks, regions, alpha))
    ax.set_axis_off()
    return save_figure(fig, path)


@fill_doc
def plot_region_grid(chips, path=None, ncols=4, regions=DEFAULT_SHOWN, alpha=0.5, titles=None):
    """A grid of chips with their region masks.

    Parameters
    ----------
    chips : ndarray of shape (N, S, S, 3 + K), uint8
        :class:`~skage.parsing.FaceParser` output.
    {path}
    ncols : int, default=4
    regions : sequence of str
        Regions to show (default: all but ``"skin"``).
    alpha : float, default=0.5
    titles : sequence of str, optional
        One caption per chip.

    {returns_fig}

    Examples
    --------
    >>> import numpy as np
    >>> from skage.viz import plot_region_grid
    >>> len(plot_region_grid(np.zeros((3, 16, 16, 12), np.uint8), ncols=2).axes)
    3
    """
    chips = np.asarray(chips)
    if chips.ndim != 4 or len(chips) == 0:
        raise ValueError(f"chips must be a non-empty (N, S, S, C) array, got shape {chips.shape}")
    ncols = min(ncols, len(chips))
    nrows = -(-len(chips) // ncols)
    fig = new_figure((2.2 * ncols, 2.4 * nrows + 0.6), layout=None)
    for i, chip in enumerate(chips):
        ax = fig.add_subplot(nrows, ncols, i + 1)
        plot_face_regions(chip, regions=regions, alpha=alpha, ax=ax)
        if titles is not None:
            ax.set_title(str(titles[i]), fontsize="small")
    _legend(fig, regions)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.95, bottom=0.6 / (2.4 * nrows + 0.6) + 0.02, wspace=0.05)
    return save_figure(fig, path)
