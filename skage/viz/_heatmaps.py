"""Where does the network look? Attention and Grad-CAM heatmaps over faces.

The maps are computed by :mod:`skage.nn` (imported when a plot is drawn, so
that importing :mod:`skage.viz` does not load torch).
"""

import numpy as np

from ..metrics import age_bin_indices, age_bin_labels, check_bins
from ._common import fill_doc, new_figure, save_figure


def _overlay_grid(images, heatmaps, captions, n_rows, n_cols, title):
    fig = new_figure((2.2 * n_cols, 2.4 * n_rows + 0.5), layout="tight")
    axes = fig.subplots(n_rows, n_cols, squeeze=False)
    for ax in axes.ravel():
        ax.set_axis_off()
    # Items come column by column (np.ndindex varies the row fastest).
    for (col, row), image, heat, caption in zip(np.ndindex(n_cols, n_rows), images, heatmaps, captions):
        ax = axes[row, col]
        ax.imshow(image)
        ax.imshow(heat, cmap="jet", alpha=0.45, vmin=0, vmax=1)
        ax.set_title(caption, fontsize=8)
    fig.suptitle(title, fontsize=11)
    return fig


@fill_doc
def plot_attention_grid(net, X, y, path=None, bins=None, per_bin=2, method="attention"):
    """Heatmaps over faces, one column per age group.

    The first ``per_bin`` chips of each age group (by ``y``) are shown,
    overlaid with their parsing-attention map (``method="attention"``,
    :func:`skage.nn.attention_maps`) or Grad-CAM (``method="grad_cam"``,
    :func:`skage.nn.grad_cam`), captioned with true and predicted age.

    Parameters
    ----------
    net : fitted :class:`skage.nn.AgeNet`
    X : ndarray of shape (n_samples, H, W, C), dtype uint8
    y : array-like of shape (n_samples,)
        True ages, used to group the chips.
    {path}
    bins : sequence of float, default=None
        Lower edges of the age groups; ``skage.metrics.DEFAULT_AGE_BINS`` when None.
    per_bin : int, default=2
    method : {"attention", "grad_cam"}, default="attention"

    {returns_fig}

    Examples
    --------
    >>> from skage.viz import plot_attention_grid
    >>> fig = plot_attention_grid(net, X, y, path="attention.png")  # doctest: +SKIP
    """
    from ..nn import attention_maps, grad_cam

    if method not in ("attention", "grad_cam"):
        raise ValueError(f"method must be 'attention' or 'grad_cam', got {method!r}")
    X = net._check_X(X)
    edges = check_bins(bins)
    groups = age_bin_indices(y, edges)
    if len(groups) != len(X):
        raise ValueError(f"X and y have different lengths: {len(X)} and {len(groups)}")
    labels = age_bin_labels(edges)
    columns = [(labels[b], np.flatnonzero(groups == b)[:per_bin]) for b in range(len(edges))]
    columns = [(label, idx) for label, idx in columns if len(idx)]
    order = np.concatenate([np.pad(idx, (0, per_bin - len(idx)), constant_values=-1) for _, idx in columns])
    chosen = order[order >= 0]
    if method == "attention":
        heat = attention_maps(net, X[chosen])
        # Scaled per image, as Grad-CAM is: the plot shows *where*, not how strongly.
        heat = heat / np.maximum(heat.max(axis=(1, 2), keepdims=True), 1e-12)
    else:
        heat = grad_cam(net, X[chosen])
    predicted = net.predict(X[chosen])
    y = np.asarray(y, dtype=float)
    images, heatmaps, captions = [], [], []
    k = 0
    for position, i in enumerate(order):
        group = f"{columns[position // per_bin][0]}\n" if position % per_bin == 0 else ""
        if i < 0:
            images.append(np.zeros_like(X[0, :, :, :3]))
            heatmaps.append(np.zeros(X.shape[1:3]))
            captions.append(group)
            continue
        images.append(X[i, :, :, :3])
        heatmaps.append(heat[k])
        captions.append(f"{group}age {y[i]:.0f} → {predicted[k]:.1f}")
        k += 1
    title = ("Parsing attention (each map scaled to its maximum)" if method == "attention"
             else "Grad-CAM of the predicted age")
    return save_figure(_overlay_grid(images, heatmaps, captions, per_bin, len(columns), title), path)


@fill_doc
def plot_grad_cam(net, X, y=None, path=None, n_cols=4, layer="layer4"):
    """Grad-CAM heatmaps of the predicted age over each chip of ``X``.

    Parameters
    ----------
    net : fitted :class:`skage.nn.AgeNet`
    X : ndarray of shape (n_samples, H, W, C), dtype uint8
    y : array-like of shape (n_samples,), default=None
        True ages for the captions.
    {path}
    n_cols : int, default=4
    layer : str, default="layer4"
        Stage whose output Grad-CAM explains; ``"layer3"`` has twice the
        resolution, useful for small chips.

    {returns_fig}

    Examples
    --------
    >>> from skage.viz import plot_grad_cam
    >>> fig = plot_grad_cam(net, X[:8], y[:8], path="grad_cam.png", layer="layer3")  # doctest: +SKIP
    """
    from ..nn import grad_cam

    X = net._check_X(X)
    cams = grad_cam(net, X, layer=layer)
    predicted = net.predict(X)
    n_rows = int(np.ceil(len(X) / n_cols))
    captions = [(f"age {float(y[i]):.0f} → " if y is not None else "predicted ") + f"{predicted[i]:.1f}"
                for i in range(len(X))]
    # Fill row by row: _overlay_grid walks columns first.
    index = np.arange(n_rows * n_cols).reshape(n_rows, n_cols).T.ravel()
    blank = np.zeros_like(X[0, :, :, :3])
    images = [X[i, :, :, :3] if i < len(X) else blank for i in index]
    heatmaps = [cams[i] if i < len(X) else np.zeros(X.shape[1:3]) for i in index]
    captions = [captions[i] if i < len(X) else "" for i in index]
    fig = _overlay_grid(images, heatmaps, captions, n_rows, n_cols,
                        f"Grad-CAM of the predicted age at {layer} (blank: no region raises it)")
    return save_figure(fig, path)
