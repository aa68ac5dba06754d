"""Where does the network look? Attention maps and Grad-CAM as arrays (their plots are in skage.viz)."""

import torch
import torch.nn.functional as F


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

    Examples
    --------
    >>> import warnings, numpy as np
    >>> from skage.nn import AgeNet, attention_maps
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(4, 32, 32, 5), dtype=np.uint8)  # RGB + 2 masks
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     net = AgeNet(backbone="resnet18", max_epochs=0, verbose=0, random_state=0).fit(X, [20, 30, 40, 50])
    >>> maps = attention_maps(net, X)  # max_epochs=0: an untrained network, enough to show the shapes
    >>> maps.shape, bool(maps.min() >= 0 and maps.max() <= 1)
    ((4, 32, 32), True)
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

    Examples
    --------
    >>> import warnings, numpy as np
    >>> from skage.nn import AgeNet, grad_cam
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(4, 32, 32, 3), dtype=np.uint8)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     net = AgeNet(backbone="resnet18", attention=False, max_epochs=0, verbose=0,
    ...                  random_state=0).fit(X, [20, 30, 40, 50])
    >>> cams = grad_cam(net, X, layer="layer3")  # max_epochs=0: an untrained network, enough to show the shapes
    >>> cams.shape, bool(cams.min() >= 0 and cams.max() <= 1)
    ((4, 32, 32), True)
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

