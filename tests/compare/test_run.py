import numpy as np
import pandas as pd
import pytest

from skage.compare import run_comparison
from skage.datasets import make_synthetic_faces


@pytest.fixture(scope="module")
def faces():
    return make_synthetic_faces(n_samples=90, image_size=32, random_state=0, return_metadata=True)


def test_handcrafted_rows_write_table_and_plot(faces, tmp_path):
    lines = []
    table = run_comparison(faces.images, faces.y, faces.metadata, rows=["lbp_svr", "hog_svr", "knn_only"],
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


def test_full_row_reuses_the_attention_net(faces):
    params = dict(image_size=32, max_epochs=1, batch_size=8, device="cpu", align=False, random_state=0, verbose=0,
                  net_params={"backbone": "resnet18"})
    table, models = run_comparison(faces.images, faces.y, rows=["attention", "full"], pipeline_params=params,
                                   log=None, return_models=True)
    assert table["model"].tolist() == ["+parsing attention", "+KNN = full"]
    assert np.isfinite(table["mae"]).all()
    # +KNN differs from +attention by the refinement alone: same trained net, frozen.
    attention_net = models["attention"].named_steps["model"]
    refiner = models["full"].named_steps["model"]
    assert refiner.estimator_.estimator is attention_net


def test_unknown_row_fails_before_any_fitting(faces):
    with pytest.raises(ValueError, match="unknown comparison row"):
        run_comparison(faces.images, faces.y, rows=["lbp_svr", "hog_svm"], log=None)
