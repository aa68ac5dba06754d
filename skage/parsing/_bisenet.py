"""BiSeNetParser: a small BiSeNet-style segmentation network as a pluggable face parser.

Imported only on first use of :class:`BiSeNetParser` (torch is slow to import).
"""

import os
import warnings
from numbers import Integral

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval
from torch import nn
from torch.nn import functional as F

from .._params import check_fitted
from .._stateless import ChipsFitMixin
from ._regions import REGIONS


def _conv(c_in, c_out, kernel=3, stride=1):
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, kernel, stride, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class _AttentionRefinement(nn.Module):
    """Re-weights context features by their own global average (BiSeNet's ARM)."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = _conv(c_in, c_out)
        self.attention = nn.Sequential(nn.Conv2d(c_out, c_out, 1, bias=False), nn.BatchNorm2d(c_out), nn.Sigmoid())

    def forward(self, x):
        x = self.conv(x)
        return x * self.attention(F.adaptive_avg_pool2d(x, 1))


class _FeatureFusion(nn.Module):
    """Merges spatial (detail) and context (semantics) paths (BiSeNet's FFM)."""

    def __init__(self, c_in, c_out):
        super().__init__()
        self.conv = _conv(c_in, c_out, kernel=1)
        self.attention = nn.Sequential(
            nn.Conv2d(c_out, c_out // 4, 1), nn.ReLU(inplace=True), nn.Conv2d(c_out // 4, c_out, 1), nn.Sigmoid()
        )

    def forward(self, spatial, context):
        x = self.conv(torch.cat([spatial, context], dim=1))
        return x + x * self.attention(F.adaptive_avg_pool2d(x, 1))


class BiSeNet(nn.Module):
    """Bilateral segmentation network, sized for face chips.

    Spatial path: three stride-2 convolutions keep detail at 1/8 resolution.
    Context path: a light convolutional backbone down to 1/32, with
    attention refinement at 1/16 and 1/32 and a global-context vector.
    A feature fusion module merges both; a 1x1 head gives ``n_classes``
    logits, upsampled to the input size.

    Parameters
    ----------
    n_classes : int
    width : int
        Channels of the first layer; the rest scale with it.
    """

    def __init__(self, n_classes, width=32):
        super().__init__()
        w = width
        self.spatial = nn.Sequential(_conv(3, w, stride=2), _conv(w, w * 2, stride=2), _conv(w * 2, w * 4, stride=2))
        self.stem = nn.Sequential(_conv(3, w, stride=2), _conv(w, w, stride=2))  # 1/4
        self.down8 = nn.Sequential(_conv(w, w * 2, stride=2), _conv(w * 2, w * 2))
        self.down16 = nn.Sequential(_conv(w * 2, w * 4, stride=2), _conv(w * 4, w * 4))
        self.down32 = nn.Sequential(_conv(w * 4, w * 8, stride=2), _conv(w * 8, w * 8))
        self.arm16 = _AttentionRefinement(w * 4, w * 4)
        self.arm32 = _AttentionRefinement(w * 8, w * 4)
        self.global_context = _conv(w * 8, w * 4, kernel=1)
        self.refine16 = _conv(w * 4, w * 4)
        self.refine32 = _conv(w * 4, w * 4)
        self.fusion = _FeatureFusion(w * 8, w * 8)
        self.head = nn.Sequential(_conv(w * 8, w * 4), nn.Conv2d(w * 4, n_classes, 1))

    def forward(self, x):
        size = x.shape[-2:]
        spatial = self.spatial(x)
        c16 = self.down16(self.down8(self.stem(x)))
        c32 = self.down32(c16)
        tail = self.global_context(F.adaptive_avg_pool2d(c32, 1))
        up32 = self.arm32(c32) + tail
        up32 = self.refine32(F.interpolate(up32, size=c16.shape[-2:], mode="nearest"))
        up16 = self.refine16(F.interpolate(self.arm16(c16) + up32, size=spatial.shape[-2:], mode="nearest"))
        fused = self.fusion(spatial, up16)
        return F.interpolate(self.head(fused), size=size, mode="bilinear", align_corners=False)


def default_label_map():
    """Label ``k + 1`` is ``REGIONS[k]``; label 0 is background."""
    return {k + 1: name for k, name in enumerate(REGIONS)}


class BiSeNetParser(ChipsFitMixin, TransformerMixin, BaseEstimator):
    """Neural face parser with :class:`FaceParser`'s output contract.

    A small BiSeNet-style network (spatial path + context path + feature
    fusion module) predicts per-pixel label probabilities; ``label_map``
    sends each label to one of :data:`REGIONS` and a region's mask is the
    summed probability of its labels, scaled to 0..255 and appended to the
    chips. No weights ship with skage: without ``weights_path`` the network
    is randomly initialised and its masks are meaningless (a warning says
    so), which is only useful for testing the plumbing.

    Parameters
    ----------
    weights_path : str or path-like, default=None
        A ``state_dict`` for this architecture (``torch.save``), with
        ``n_classes`` outputs and this ``width``.
    label_map : dict of int to str or sequence of str, default=None
        Network label → region name(s). Default: label ``k + 1`` is
        ``REGIONS[k]`` (0 is background). For a network trained on other
        labels (e.g. CelebAMask-HQ's skin, brows, eyes, nose, lips), map
        those onto regions; regions no label maps to get empty masks and are
        listed in :attr:`unmapped_regions_`.
    n_classes : int, default=None
        Network outputs; default ``1 + max label`` of ``label_map``.
    width : int, default=32
        Channel width of the network.
    input_size : int, default=None
        Side the chips are resized to for the network (masks are resized
        back); default the chip side.
    batch_size : int, default=16
    device : str, default="cpu"
    random_state : int, default=0
        Seeds the random initialisation when no weights are given.

    Attributes
    ----------
    module_ : torch.nn.Module
        The network, in eval mode.
    regions_ : tuple of str
        Names of the appended channels (:data:`REGIONS`).
    unmapped_regions_ : tuple of str
        Regions that no label maps to.
    n_channels_in_ : int

    Examples
    --------
    >>> import warnings, numpy as np
    >>> from skage.parsing import BiSeNetParser
    >>> chips = np.zeros((2, 32, 32, 3), np.uint8)
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")
    ...     out = BiSeNetParser(width=8).fit_transform(chips)
    >>> out.shape
    (2, 32, 32, 12)
    """

    _parameter_constraints = {
        "weights_path": [None, str, os.PathLike],
        "label_map": [dict, None],
        "n_classes": [Interval(Integral, 1, None, closed="left"), None],
        "width": [Interval(Integral, 1, None, closed="left")],
        "input_size": [Interval(Integral, 1, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "device": "no_validation",  # a name or a torch.device: torch checks it
        "random_state": [Integral],  # torch.manual_seed takes an int
    }
    # The network's masks are resized back to the chip's square side.
    _square_chips = True

    def __init__(
        self, weights_path=None, label_map=None, n_classes=None, width=32, input_size=None, batch_size=16,
        device="cpu", random_state=0,
    ):
        self.weights_path = weights_path
        self.label_map = label_map
        self.n_classes = n_classes
        self.width = width
        self.input_size = input_size
        self.batch_size = batch_size
        self.device = device
        self.random_state = random_state

    def _label_matrix(self, n_classes):
        """(n_classes, K) 0/1 matrix: which labels add to which region."""
        label_map = default_label_map() if self.label_map is None else self.label_map
        matrix = np.zeros((n_classes, len(REGIONS)), np.float32)
        for label, names in label_map.items():
            if not 0 <= int(label) < n_classes:
                raise ValueError(f"BiSeNetParser: label_map label {label} outside 0..{n_classes - 1}")
            for name in [names] if isinstance(names, str) else names:
                if name not in REGIONS:
                    raise ValueError(f"BiSeNetParser: label_map maps {label} to unknown region {name!r}; use {REGIONS}")
                matrix[int(label), REGIONS.index(name)] = 1
        return matrix

    def _fit_setup(self):
        label_map = default_label_map() if self.label_map is None else self.label_map
        if not label_map:
            raise ValueError("BiSeNetParser: label_map is empty")
        n_classes = self.n_classes if self.n_classes is not None else 1 + max(int(k) for k in label_map)
        self.label_matrix_ = self._label_matrix(n_classes)
        torch.manual_seed(self.random_state)
        module = BiSeNet(n_classes, self.width)
        if self.weights_path is None:
            warnings.warn(
                "BiSeNetParser has no weights_path: the network is randomly initialised and its masks are "
                "meaningless; pass weights trained for this architecture",
                UserWarning,
                stacklevel=4,  # _fit_setup < fit < _fit_context < the caller
            )
        else:
            state = torch.load(self.weights_path, map_location="cpu", weights_only=True)
            module.load_state_dict(state)
        self.module_ = module.to(self.device).eval()
        self.regions_ = REGIONS
        self.unmapped_regions_ = tuple(r for k, r in enumerate(REGIONS) if not self.label_matrix_[:, k].any())
        if self.unmapped_regions_:
            warnings.warn(
                f"BiSeNetParser: no label maps to {self.unmapped_regions_}; their masks stay empty",
                UserWarning,
                stacklevel=4,  # _fit_setup < fit < _fit_context < the caller
            )

    def predict_proba(self, X):
        """Per-pixel label probabilities, ``(N, S, S, n_classes)`` float32."""
        check_fitted(self, "module_")
        X = self._check_chips(X)
        size = X.shape[1]
        out = []
        with torch.no_grad():
            for start in range(0, len(X), self.batch_size):
                batch = torch.from_numpy(np.ascontiguousarray(X[start : start + self.batch_size, ..., :3]))
                batch = batch.permute(0, 3, 1, 2).float().div(255).to(self.device)
                if self.input_size and self.input_size != size:
                    batch = F.interpolate(batch, size=self.input_size, mode="bilinear", align_corners=False)
                probs = self.module_(batch).softmax(dim=1)
                if probs.shape[-1] != size:
                    probs = F.interpolate(probs, size=size, mode="bilinear", align_corners=False)
                out.append(probs.permute(0, 2, 3, 1).cpu().numpy())
        return np.concatenate(out) if out else np.empty((0, size, size, self.label_matrix_.shape[0]), np.float32)

    def transform(self, X):
        """The chips with region masks appended, uint8 ``(N, S, S, C + len(REGIONS))``."""
        check_fitted(self, "module_")
        X = self._check_fitted_chips(X)
        regions = np.clip(self.predict_proba(X) @ self.label_matrix_, 0, 1)
        masks = (regions * 255 + 0.5).astype(np.uint8)
        return np.concatenate([X, masks], axis=-1)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # uint8 chips (N, H, W, C), not feature tables
        return tags
