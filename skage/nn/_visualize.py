"""Where does the network look? Attention heatmaps and Grad-CAM as PNG files."""

import os

import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from ..metrics import age_bin_indices, age_bin_labels, check_bins


def _fitted_module(net):
    net.check_is_fitted()
    return getattr(net.module_, "_orig_mod", net.module_)


def _batches(net, X):
    """Network-ready input batches of X, in order (no augmentation)."""
    X = net._check_X(X)
    iterator = net.get_iterator(net.get_dataset(X), training=False)
    for x, _ in iterator:
        yield X, net._model_input(x, augment=False)


def attention_maps(net, X, layers=None):
    """Parsing-attention maps of a fitted :class:`~skage.nn.AgeNet`.

    The map of a stage is ``a`` in ``f * (1 + gate * a)`` (see
    :class:`~skage.nn.RegionAttention`): the region weights chosen for the
    image times the spatial attention, in [0, 1]. Maps are resized to the
    chip size and averaged over ``layers``.

    Parameters
    ----------
    net : fitted AgeNet with ``attention=True``
    X : ndarray of shape (n_samples, H, W, 3 + K), dtype uint8
    layers : sequence of str, default=None
        Stages to average; all attention stages when None.

    Returns
    -------
    maps : ndarray of shape (n_samples, H, W), float32
    """
    module = _fitted_module(net)
    if not len(module.attention):
        raise ValueError("attention_maps needs an AgeNet fitted with attention=True")
    layers = list(module.attention) if layers is None else list(layers)
    unknown = [name for name in layers if name not in module.attention]
    if unknown:
        raise ValueError(f"no attention after {unknown}; this network has {list(module.attention)}")
    maps = []
    with net._on_device():
        module.eval()
        for X_checked, x in _batches(net, X):
            with torch.no_grad():
                _, stage_maps = module.features(x, return_attention=True)
            size = X_checked.shape[1:3]
            resized = [F.interpolate(stage_maps[name].float(), size=size, mode="bilinear", align_corners=False)
                       for name in layers]
            maps.append(torch.stack(resized).mean(0)[:, 0].cpu())
    return torch.cat(maps).numpy()


def grad_cam(net, X, layer="layer4"):
    """Grad-CAM heatmaps for the predicted age of a fitted AgeNet.

    For each image, the gradient of the predicted (expected) age with respect
    to the output of ``layer`` is averaged over space to weight its channels;
    the ReLU of the weighted sum of channels, resized to the chip and scaled
    to a maximum of 1, shows the regions that push the predicted age *up*.
    Computed in float32 without touching the parameters' gradients.

    Parameters
    ----------
    net : fitted AgeNet
    X : ndarray of shape (n_samples, H, W, C), dtype uint8
    layer : {"layer1", "layer2", "layer3", "layer4"}, default="layer4"

    Returns
    -------
    cams : ndarray of shape (n_samples, H, W), float32 in [0, 1]
    """
    module = _fitted_module(net)
    stage = getattr(module.backbone, layer, None)
    if stage is None or not layer.startswith("layer"):
        raise ValueError(f"layer must be one of layer1..layer4, got {layer!r}")
    captured = {}
    hook = stage.register_forward_hook(lambda _m, _i, out: captured.__setitem__("features", out))
    cams = []
    try:
        with net._on_device():
            module.eval()
            for X_checked, x in _batches(net, X):
                with torch.enable_grad():
                    output, _ = module(x)
                    age = module.expected_age(output)
                    features = captured["features"]
                    (grads,) = torch.autograd.grad(age.sum(), features)
                weights = grads.mean(dim=(2, 3), keepdim=True)
                cam = F.relu((weights * features.detach()).sum(dim=1, keepdim=True))
                cam = F.interpolate(cam, size=X_checked.shape[1:3], mode="bilinear", align_corners=False)[:, 0]
                peak = cam.flatten(1).amax(dim=1).clamp_min(1e-12).view(-1, 1, 1)
                cams.append((cam / peak).cpu())
    finally:
        hook.remove()
    return torch.cat(cams).numpy()


def _save_overlays(path, images, heatmaps, captions, n_rows, n_cols, title):
    fig = Figure(figsize=(2.2 * n_cols, 2.4 * n_rows + 0.5))
    FigureCanvasAgg(fig)
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
    fig.tight_layout()
    path = os.fspath(path)
    fig.savefig(path, dpi=100)
    return path


def plot_attention_grid(net, X, y, path, bins=None, per_bin=2, method="attention"):
    """Save a grid of heatmaps over faces, one column per age group.

    The first ``per_bin`` chips of each age group (by ``y``) are shown,
    overlaid with their parsing-attention map (``method="attention"``) or
    Grad-CAM (``method="grad_cam"``), captioned with true and predicted age.

    Parameters
    ----------
    net : fitted AgeNet
    X : ndarray of shape (n_samples, H, W, C), dtype uint8
    y : array-like of shape (n_samples,)
        True ages, used to group the chips.
    path : str or path-like
        PNG file to write.
    bins : sequence of float, default=None
        Lower edges of the age groups; ``skage.metrics.DEFAULT_AGE_BINS`` when None.
    per_bin : int, default=2
    method : {"attention", "grad_cam"}, default="attention"

    Returns
    -------
    path : str

    Examples
    --------
    >>> from skage.nn import plot_attention_grid
    >>> plot_attention_grid(net, X, y, "attention.png")  # doctest: +SKIP
    'attention.png'
    """
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
    return _save_overlays(path, images, heatmaps, captions, per_bin, len(columns), title)


def plot_grad_cam(net, X, path, y=None, n_cols=4, layer="layer4"):
    """Save Grad-CAM heatmaps of the predicted age over each chip of ``X``.

    Parameters
    ----------
    net : fitted AgeNet
    X : ndarray of shape (n_samples, H, W, C), dtype uint8
    path : str or path-like
        PNG file to write.
    y : array-like of shape (n_samples,), default=None
        True ages for the captions.
    n_cols : int, default=4
    layer : str, default="layer4"
        Stage whose output Grad-CAM explains; ``"layer3"`` has twice the
        resolution, useful for small chips.

    Returns
    -------
    path : str
    """
    X = net._check_X(X)
    cams = grad_cam(net, X, layer=layer)
    predicted = net.predict(X)
    n_rows = int(np.ceil(len(X) / n_cols))
    captions = [(f"age {float(y[i]):.0f} → " if y is not None else "predicted ") + f"{predicted[i]:.1f}"
                for i in range(len(X))]
    # Fill row by row: _save_overlays walks columns first.
    index = np.arange(n_rows * n_cols).reshape(n_rows, n_cols).T.ravel()
    blank = np.zeros_like(X[0, :, :, :3])
    images = [X[i, :, :, :3] if i < len(X) else blank for i in index]
    heatmaps = [cams[i] if i < len(X) else np.zeros(X.shape[1:3]) for i in index]
    captions = [captions[i] if i < len(X) else "" for i in index]
    return _save_overlays(path, images, heatmaps, captions, n_rows, n_cols,
                          f"Grad-CAM of the predicted age at {layer} (blank: no region raises it)")
