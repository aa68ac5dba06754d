"""Attention heatmaps and Grad-CAM of the shared tiny fitted AgeNet."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image

import skage.viz

from skage.nn import AgeNet, attention_maps, grad_cam


def test_attention_maps(fitted_agenet, chips):
    X, _ = chips
    maps = attention_maps(fitted_agenet, X)
    assert maps.shape == (8, 32, 32) and maps.dtype == np.float32
    assert (maps >= 0).all() and (maps <= 1).all() and maps.std() > 0
    # Blank masks switch the region map off: no attention anywhere.
    blank = X.copy()
    blank[..., 3:] = 0
    assert np.allclose(attention_maps(fitted_agenet, blank), 0)
    with pytest.raises(ValueError, match="layer1"):
        attention_maps(fitted_agenet, X, layers=["layer1"])


def test_grad_cam_leaves_parameters_alone(fitted_agenet, chips):
    X, _ = chips
    before = fitted_agenet.predict(X)
    cams = grad_cam(fitted_agenet, X)
    assert cams.shape == (8, 32, 32) and (cams >= 0).all() and (cams <= 1 + 1e-6).all()
    np.testing.assert_array_equal(fitted_agenet.predict(X), before)


def test_heatmap_pngs_are_written(fitted_agenet, chips, tmp_path):
    X, y = chips
    paths = [tmp_path / "grid.png", tmp_path / "grid_cam.png", tmp_path / "cam.png"]
    skage.viz.plot_attention_grid(fitted_agenet, X, y, path=paths[0], per_bin=2)
    skage.viz.plot_attention_grid(fitted_agenet, X, y, path=paths[1], per_bin=1, method="grad_cam")
    skage.viz.plot_grad_cam(fitted_agenet, X[:5], y=y[:5], path=paths[2], n_cols=3, layer="layer3")
    for path in paths:
        with Image.open(path) as img:
            assert img.format == "PNG" and img.width > 100 and img.height > 100


def test_viz_heatmaps_return_figures(fitted_agenet, chips, tmp_path):
    X, y = chips
    grid = skage.viz.plot_attention_grid(fitted_agenet, X, y, per_bin=1)
    cam = skage.viz.plot_grad_cam(fitted_agenet, X[:3], y[:3], path=tmp_path / "cam.png", n_cols=2)
    assert isinstance(grid, Figure) and isinstance(cam, Figure) and (tmp_path / "cam.png").is_file()
    assert len(cam.axes) == 4  # 2 x 2 grid, one left blank


def test_attention_maps_need_attention(chips, tiny):
    X, y = chips
    net = AgeNet(**{**tiny, "attention": False, "max_epochs": 0}).fit(X, y)
    with pytest.raises(ValueError, match="attention=True"):
        attention_maps(net, X)
