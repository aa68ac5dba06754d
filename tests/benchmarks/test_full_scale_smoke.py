"""The full-scale GPU benchmark's whole path, run tiny on the CPU (``--smoke``)."""

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from skage.datasets import write_synthetic_faces

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "full_scale.py"


@pytest.fixture(scope="module")
def full_scale():
    spec = importlib.util.spec_from_file_location("full_scale", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    threads = module.torch.get_num_threads()
    yield module
    module.torch.set_num_threads(threads)  # --threads 1 below must not outlive these tests


def test_smoke_run_writes_every_row(full_scale, tmp_path):
    faces = tmp_path / "faces"
    write_synthetic_faces(faces, n_samples=24, image_size=48, random_state=0)
    out = tmp_path / "out"
    args = ["--smoke", "--data", f"utkface:{faces}", "--rows", "bare,cnn_only,knn_only,knn_loss,full",
            "--prep-dir", str(tmp_path / "prep"), "--cache-dir", str(tmp_path / "cache"), "--out", str(out),
            "--device", "cpu", "--n-jobs", "1", "--threads", "1", "--tag", "smoke"]
    summary = full_scale.main(args)
    assert summary["model"].tolist() == ["bare PyTorch loop", "CNN-only", "KNN-only (CNN embeddings)",
                                         "+KNN loss", "+KNN = full"]
    assert np.isfinite(summary["mae"]).all() and (summary["predict_img_s"] > 0).all()
    runs = pd.read_csv(out / "full_scale_smoke.csv")
    assert set(runs["status"]) == {"ok"} and len(runs) == 5
    text = (out / "full_scale_smoke.md").read_text()
    assert "| bare PyTorch loop | 1 |" in text and "--smoke" in text
    assert "| CNN-only | " in text.split("prediction throughput")[1]
    assert (out / "full_scale_smoke.png").stat().st_size > 5000
    # The prep file holds no pixels; a second run rebuilds nothing and reuses the chip cache.
    assert len(list((tmp_path / "prep").glob("prep_32px_*.npz"))) == 1
    assert len(list((tmp_path / "cache").glob("chips_32px_*.npy"))) == 1


def test_budget_skips_runs_and_says_so(full_scale, tmp_path):
    faces = tmp_path / "faces"
    write_synthetic_faces(faces, n_samples=16, image_size=48, random_state=1)
    out = tmp_path / "out"
    full_scale.main(["--smoke", "--data", f"utkface:{faces}", "--rows", "bare,cnn_only", "--budget-s", "0",
                     "--prep-dir", str(tmp_path / "prep"), "--cache-dir", str(tmp_path / "cache"),
                     "--out", str(out), "--device", "cpu", "--n-jobs", "1", "--threads", "1", "--tag", "budget"])
    # Nothing fits in a zero budget; the results file still says what was skipped.
    text = (out / "full_scale_budget.md").read_text()
    assert "## Skipped (time budget)" in text
    assert "- bare PyTorch loop seed 0" in text and "- CNN-only seed 0" in text


def test_gpu_preset_refuses_a_machine_without_cuda(full_scale, monkeypatch):
    monkeypatch.setattr(full_scale.torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="needs a CUDA GPU"):
        full_scale.main(["--preset", "gpu", "--data", "utkface:/nonexistent"])
