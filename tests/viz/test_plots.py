"""Report plots: files written, numbers drawn equal skage.metrics, awkward inputs handled."""

import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure
from PIL import Image
from threadpoolctl import threadpool_limits

from skage.metrics import age_report, group_mae, per_bin_mae
from skage.viz import (
    REPORT_FILES, UTKFACE_GROUP_NAMES, plot_bin_confusion, plot_embedding_tsne, plot_group_mae,
    plot_per_bin_mae, plot_pred_vs_true, write_report,
)


@pytest.fixture(autouse=True)
def one_openmp_thread():
    # Barnes-Hut t-SNE's OpenMP threads spin-wait when the 2 test cores are shared with other
    # jobs (measured: 12 points took 11.9 s instead of 0.2 s); one thread is plenty for tiny maps.
    with threadpool_limits(1, user_api="openmp"):
        yield


@pytest.fixture(scope="module")
def ages():
    """Skewed synthetic ages with the 41-50 bin deliberately empty, and biased predictions."""
    rng = np.random.default_rng(0)
    y = np.r_[rng.uniform(0, 40.9, 70), rng.uniform(51, 90, 30)]
    pred = y + rng.normal(0, 4, y.size) + 0.2 * (35 - y)  # regression to the mean, as real models do
    return y, pred


def assert_png(path, min_size=(500, 350)):
    assert path.is_file() and path.stat().st_size > 5_000
    with Image.open(path) as image:
        assert image.format == "PNG"
        assert image.size[0] >= min_size[0] and image.size[1] >= min_size[1]


def heights(container):
    return np.array([bar.get_height() for bar in container], dtype=float)


def test_per_bin_bars_equal_per_bin_mae_and_mark_empty_bins(ages, tmp_path):
    y, pred = ages
    fig = plot_per_bin_mae(y, pred, path=tmp_path / "bins.png", label="ridge")
    assert_png(tmp_path / "bins.png")
    ax = fig.axes[0]
    expected = per_bin_mae(y, pred)
    np.testing.assert_allclose(heights(ax.containers[0]), expected["mae"], equal_nan=True)
    assert np.isnan(expected.loc[expected["bin"] == "41-50", "mae"]).all()
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[4] == "41-50\nn=0" and ticks[0] == f"0-10\nn={expected['n'][0]}"
    assert any("no\nsamples" == t.get_text() for t in ax.texts)
    report = age_report(y, pred)
    title = ax.get_title()
    assert f"bias (max - min per-bin MAE) {report.bias:.2f} years" in title
    assert f"MAE {report.mae:.2f}" in title and f"CMAE {report.cmae:.2f}" in title and "ridge" in title
    assert ax.get_ylabel() == "MAE (years)"


def test_per_bin_grouped_bars_compare_models(ages):
    y, pred = ages
    models = {"ridge": pred, "constant": np.full_like(y, 30.0)}
    ax = plot_per_bin_mae(y, models, bins=(0, 20, 40, 60)).axes[0]
    assert len(ax.containers) == 2
    for container, p in zip(ax.containers, models.values()):
        np.testing.assert_allclose(heights(container), per_bin_mae(y, p, bins=(0, 20, 40, 60))["mae"])
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend[1].startswith(f"constant: MAE {age_report(y, models['constant']).mae:.2f}")
    with pytest.raises(ValueError, match="label"):
        plot_per_bin_mae(y, models, label="x")
    with pytest.raises(ValueError, match="empty dict"):
        plot_per_bin_mae(y, {})


def test_pred_vs_true_scatter_band_and_bad_input(ages, tmp_path):
    y, pred = ages
    fig = plot_pred_vs_true(y, pred, path=tmp_path / "scatter.png")
    assert_png(tmp_path / "scatter.png")
    ax = fig.axes[0]
    np.testing.assert_allclose(ax.collections[-1].get_offsets(), np.c_[y, pred])
    acc = np.mean(np.abs(y - pred) <= 5)
    assert f"Acc@5 {100 * acc:.1f}%" in ax.get_title()
    assert ax.get_xlabel() == "true age (years)" and ax.get_ylabel() == "predicted age (years)"
    with pytest.raises(ValueError, match="y_true"):
        plot_pred_vs_true([10, np.nan], [10, 12])
    with pytest.raises(ValueError, match="y_pred"):
        plot_pred_vs_true([10, 20], [10, np.inf])


def test_bin_confusion_is_row_normalised_with_counts(ages, tmp_path):
    y, pred = ages
    pred = pred.copy()
    pred[0] = -3.0  # a negative prediction lands in the first bin rather than raising
    fig = plot_bin_confusion(y, pred, path=tmp_path / "confusion.png")
    assert_png(tmp_path / "confusion.png")
    ax = fig.axes[0]
    share = ax.images[0].get_array()
    filled = ~share.mask.all(axis=1)
    np.testing.assert_allclose(share[filled].sum(axis=1), 1.0)
    assert not filled[4]  # the empty 41-50 bin has no row to normalise
    counts = [int(t.get_text()) for t in ax.texts if t.get_text().isdigit()]
    assert sum(counts) == len(y)
    assert any(t.get_text() == "no samples in this true bin" for t in ax.texts)
    assert ax.get_yticklabels()[4].get_text() == "41-50 (n=0)"


def test_group_mae_names_single_group_and_unknown_labels(ages, tmp_path):
    y, pred = ages
    n = len(y)
    gender = np.where(np.arange(n) % 2, 1.0, 0.0)
    race = np.where(np.arange(n) % 5 == 0, np.nan, (np.arange(n) % 3).astype(float))
    groups = {"gender": gender, "race": race, "camera": ["phone"] * n}
    fig = plot_group_mae(y, pred, groups, path=tmp_path / "groups.png", names=UTKFACE_GROUP_NAMES)
    assert_png(tmp_path / "groups.png")
    gender_ax, race_ax, camera_ax = fig.axes
    assert [t.get_text().split("\n")[0] for t in gender_ax.get_xticklabels()] == ["male", "female"]
    expected = group_mae(y, pred, np.where(gender == 0, "male", "female")).set_index("group")["mae"]
    np.testing.assert_allclose(heights(gender_ax.containers[0]), [expected["male"], expected["female"]])
    gap = age_report(y, pred, groups={"gender": gender}).gaps["gender"]
    assert gender_ax.get_title() == f"gender: largest gap {gap:.2f} years"
    assert [t.get_text().split("\n")[0] for t in race_ax.get_xticklabels()] == ["White", "Black", "Asian"]
    assert "20 face(s) with unknown race left out" in race_ax.get_xlabel()
    assert camera_ax.get_title() == "camera: one group only, no gap"


def test_group_mae_without_names_and_all_labels_missing(ages):
    y, pred = ages
    fig = plot_group_mae(y, pred, {"site": [None] * len(y)})
    assert fig.axes[0].get_title() == "site: no known labels"
    fig = plot_group_mae(y, pred, np.arange(len(y)) % 3)  # a bare array is one grouping, labels sorted as numbers
    assert [t.get_text().split("\n")[0] for t in fig.axes[0].get_xticklabels()] == ["0", "1", "2"]
    with pytest.raises(ValueError, match="groups has"):
        plot_group_mae(y, pred, {"gender": [0, 1]})


def test_tsne_small_sample_lowers_perplexity(tmp_path):
    rng = np.random.default_rng(0)
    ages = rng.uniform(1, 80, 12)
    emb = np.c_[ages, rng.normal(size=(12, 70))]  # more than 50 dims: PCA runs first
    fig = plot_embedding_tsne(emb, ages, path=tmp_path / "tsne.png", max_iter=250)
    assert_png(tmp_path / "tsne.png")
    assert "12 faces; perplexity 3.67" in fig.axes[0].get_title()
    np.testing.assert_allclose(np.sort(fig.axes[0].collections[0].get_array()), np.sort(ages))
    assert fig.axes[1].get_ylabel() == "age (years)"
    plot_embedding_tsne(emb[:2, :1], ages[:2], max_iter=250)  # two points, one dimension: still a map


def test_tsne_subsamples_deterministically_and_checks_input():
    rng = np.random.default_rng(1)
    emb, ages = rng.normal(size=(50, 5)), rng.uniform(0, 90, 50)
    first = plot_embedding_tsne(emb, ages, max_points=30, random_state=3, max_iter=250).axes[0]
    again = plot_embedding_tsne(emb, ages, max_points=30, random_state=3, max_iter=250).axes[0]
    assert "30 of 50 faces" in first.get_title()
    np.testing.assert_array_equal(first.collections[0].get_offsets(), again.collections[0].get_offsets())
    bad = emb.copy()
    bad[7, 2] = np.nan
    with pytest.raises(ValueError, match="first at index 7"):
        plot_embedding_tsne(bad, ages)
    with pytest.raises(ValueError, match="ages has 49"):
        plot_embedding_tsne(emb, ages[:-1])
    with pytest.raises(ValueError, match="at least 2"):
        plot_embedding_tsne(emb[:1], ages[:1])


def test_write_report_writes_every_applicable_png(ages, tmp_path):
    y, pred = ages[0][:40], ages[1][:40]  # few points: t-SNE runs at full length here
    out = tmp_path / "report"
    paths = write_report(y, pred, out)
    assert list(paths) == ["per_bin_mae", "pred_vs_true", "bin_confusion"]
    groups = {"gender": np.arange(len(y)) % 2}
    emb = np.c_[y, np.random.default_rng(0).normal(size=(len(y), 3))]
    paths = write_report(y, pred, out, groups=groups, embeddings=emb, names=UTKFACE_GROUP_NAMES)
    assert set(paths) == set(REPORT_FILES)
    for name, path in paths.items():
        assert path == out / REPORT_FILES[name]
        assert_png(path)


def test_plots_draw_into_a_given_axes(ages):
    y, pred = ages
    fig = Figure()
    ax = fig.add_subplot()
    assert plot_pred_vs_true(y, pred, ax=ax) is fig
    assert plot_per_bin_mae(y, pred, ax=fig.add_subplot(2, 1, 2)) is fig


def test_import_does_not_load_torch():
    code = "import sys, skage.viz; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_region_plots_follow_the_convention(tmp_path):
    from skage.parsing import REGIONS
    from skage.viz import DPI, plot_face_regions, plot_region_grid

    rng = np.random.default_rng(0)
    chips = rng.integers(0, 256, (3, 64, 64, 3 + len(REGIONS)), dtype=np.uint8)
    assert isinstance(plot_face_regions(chips[0]), Figure)
    fig = plot_region_grid(chips, path=tmp_path / "sub" / "grid.png", ncols=2, titles=list("abc"))
    assert isinstance(fig, Figure) and len(fig.axes) == 3
    with Image.open(tmp_path / "sub" / "grid.png") as image:  # written at the one dpi of every plot
        assert image.size == (round(fig.get_figwidth() * DPI), round(fig.get_figheight() * DPI))
    with pytest.raises(ValueError, match="pass masks"):
        plot_face_regions(chips[0][..., :3])


def test_audit_heatmap_is_written_with_the_audit(tmp_path):
    from skage.metrics import fairness_audit
    from skage.viz import DPI, plot_audit_heatmap, write_audit

    rng = np.random.default_rng(0)
    age = rng.uniform(1, 80, 400)
    pred = age + rng.normal(0, 4, 400)
    groups = {"gender": rng.choice(["f", "m"], 400).astype(object)}
    audit = fairness_audit(age, pred, groups, intervals=np.column_stack([pred - 7, pred + 7]), alpha=0.1,
                           n_boot=5, min_n=40)
    fig = plot_audit_heatmap(audit)
    assert isinstance(fig, Figure) and len(fig.axes) == 4  # MAE and coverage panels, each with its colour bar
    paths = write_audit(audit, tmp_path / "audit")
    assert set(paths) == {"faces", "groups", "markdown", "heatmap"}
    with Image.open(paths["heatmap"]) as image:  # written at the one dpi of every plot
        assert image.format == "PNG" and image.size[0] == pytest.approx(fig.get_figwidth() * DPI, abs=1)


def test_a_full_disk_keeps_the_old_png_and_leaves_no_temporary_file(tmp_path, monkeypatch):
    import errno
    import os

    from skage.viz import save_figure

    path = tmp_path / "per_bin_mae.png"
    path.write_bytes(b"last week's plot")

    def full(fig, target, **kwargs):  # the disk fills after a few bytes of the new PNG
        with open(target, "wb") if isinstance(target, (str, os.PathLike)) else target as f:
            f.write(b"\x89PNG")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(Figure, "savefig", full)
    with pytest.raises(OSError, match="No space left on device"):
        plot_per_bin_mae([5, 15, 25], [7, 14, 30], path=path)
    assert path.read_bytes() == b"last week's plot" and os.listdir(tmp_path) == ["per_bin_mae.png"]
