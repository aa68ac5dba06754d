import numpy as np
import pandas as pd
import pytest

from skage.compare import deep_row_params, make_row_estimator, run_comparison, split_indices
from skage.datasets import make_synthetic_faces


@pytest.fixture(scope="module")
def faces():
    return make_synthetic_faces(n_samples=90, image_size=32, random_state=0, return_metadata=True)


def test_handcrafted_rows_write_table_and_plot(faces, tmp_path):
    lines = []
    table = run_comparison(faces.images, faces.y, faces.metadata, rows=["lbp_svr", "hog_svr", "knn_hog"],
                           split="stratified", test_size=0.3, random_state=0, out_dir=tmp_path, log=lines.append)
    assert table["model"].tolist() == ["LBP+SVR", "HOG+SVR", "KNN-only (HOG)"]
    for col in ["mae", "cmae", "acc@5", "bias", "mae[0-10]", "gap[gender]", "gap[race]", "dir_few", "fit_s",
                "predict_img_s", "device"]:
        assert col in table, col
    assert (table["mae"] > 0).all() and (table["bias"] >= 0).all()
    assert "seed=0" in lines[0]
    assert pd.read_csv(tmp_path / "results.csv")["model"].tolist() == table["model"].tolist()
    assert "| LBP+SVR |" in (tmp_path / "results.md").read_text()
    assert (tmp_path / "per_bin_mae.png").stat().st_size > 5000


DEEP = dict(image_size=32, max_epochs=1, batch_size=8, device="cpu", align=False, random_state=0, verbose=0,
            net_params={"backbone": "resnet18"})


def test_full_row_reuses_the_knn_loss_net(faces):
    table, models = run_comparison(faces.images, faces.y, rows=["knn_loss", "full"], pipeline_params=DEEP,
                                   log=None, return_models=True)
    assert table["model"].tolist() == ["+KNN loss", "+KNN = full"]
    assert np.isfinite(table["mae"]).all()
    # +KNN differs from +KNN loss by the refinement alone: same trained net, frozen.
    knn_loss_net = models["knn_loss"].named_steps["model"]
    refiner = models["full"].named_steps["model"]
    assert refiner.estimator_.estimator is knn_loss_net
    assert knn_loss_net.gamma_knn > 0


def test_knn_only_searches_the_cnn_embeddings(faces):
    table, models = run_comparison(faces.images, faces.y, rows=["cnn_only", "knn_only"], pipeline_params=DEEP,
                                   log=None, return_models=True)
    assert table["model"].tolist() == ["CNN-only", "KNN-only (CNN embeddings)"]
    cnn = models["cnn_only"].named_steps["model"]
    refiner = models["knn_only"].named_steps["model"]
    assert refiner.estimator_.estimator is cnn and refiner.blend == 1.0
    # The index holds the CNN's embeddings (512-d for ResNet-18), not HOG features.
    assert refiner.index_.n_features_in_ == 512


def test_knn_only_alone_trains_its_own_cnn():
    pipe = make_row_estimator("knn_only", DEEP)
    refiner = pipe.named_steps["model"]
    assert refiner.blend == 1.0 and refiner.estimator.attention is False
    assert pipe.named_steps["balance"] == "passthrough"


def test_rows_differ_by_one_thing():
    keys = ["cnn_only", "balanced", "cb_loss", "attention", "knn_loss"]
    params = [deep_row_params(row, DEEP) for row in keys]
    for before, after in zip(params, params[1:]):
        flat = lambda p: {**{k: v for k, v in p.items() if k != "net_params"}, **p["net_params"]}
        a, b = flat(before), flat(after)
        changed = {k for k in a.keys() | b.keys() if str(a.get(k)) != str(b.get(k))}
        assert len(changed) == 1, (after, changed)
    assert params[0]["net_params"]["cb_beta"] == 0 and params[0]["net_params"]["gamma_knn"] == 0


def test_class_balanced_weights_come_from_the_distribution_before_resampling(faces):
    ages = np.array(faces.y)
    _, models = run_comparison(faces.images, ages, rows=["balanced", "cb_loss"], pipeline_params=DEEP,
                               log=None, return_models=True)
    balanced, cb = (models[r].named_steps["model"] for r in ("balanced", "cb_loss"))
    # +balanced keeps equal weights; +class-balanced loss weights the bins although the net was
    # trained on resampled (equal-count) bins, where counting its own input would give all ones.
    np.testing.assert_allclose(balanced.bin_weights_[balanced.bin_weights_ > 0], 1.0)
    seen = cb.bin_weights_[cb.bin_weights_ > 0]
    assert seen.max() / seen.min() > 1.5
    # the counts come from the pipeline's resampler at fit, as for make_age_pipeline and skage fit
    from skage.metrics import DEFAULT_AGE_BINS, age_bin_indices

    train, _ = split_indices(ages, "random", 0.3, 0)
    counts = models["cb_loss"].named_steps["balance"].bin_counts_
    np.testing.assert_array_equal(counts, np.bincount(age_bin_indices(ages[train]), minlength=len(DEFAULT_AGE_BINS)))
    assert cb.cb_counts is None


def test_unknown_row_fails_before_any_fitting(faces):
    with pytest.raises(ValueError, match="unknown comparison row"):
        run_comparison(faces.images, faces.y, rows=["lbp_svr", "hog_svm"], log=None)


def test_ensemble_row_keeps_its_dlib_chips():
    pipe = make_row_estimator("ensemble", {**DEEP, "n_jobs": 1}, n_jobs=2)
    params = pipe.get_params()
    # The shared options reach the ensemble; the image size and backbone of the other rows do not.
    assert params["model__deep__model__estimator__max_epochs"] == DEEP["max_epochs"]
    assert params["model__deep__model__estimator__backbone"] == "dlib_resnet"
    assert params["align__output_size"] == 150 and params["align__n_jobs"] == 1


def _full_disk_to_csv(monkeypatch):
    """DataFrame.to_csv writes the header, then the disk is full."""
    import errno
    import os

    def full(frame, target, **kwargs):
        with open(target, "w") if isinstance(target, (str, os.PathLike)) else target as f:
            f.write(",".join(map(str, frame.columns)) + "\n")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)


def test_a_full_disk_keeps_the_old_results(tmp_path, monkeypatch):
    import os

    from skage.compare import write_comparison

    (tmp_path / "results.csv").write_text("model,mae\nlast week,4.2\n")
    _full_disk_to_csv(monkeypatch)
    with pytest.raises(OSError, match="No space left on device"):
        write_comparison(pd.DataFrame({"model": ["m"], "mae": [3.0]}), tmp_path, [20.0], {"m": [21.0]})
    assert (tmp_path / "results.csv").read_text() == "model,mae\nlast week,4.2\n"
    assert os.listdir(tmp_path) == ["results.csv"]
