"""skage demo leaves a saved model, a report and the two commands that reuse them."""

import numpy as np
import pandas as pd
import pytest

from skage.cli import main


def _commands(out):
    """The reuse commands the demo printed, as argument lists (after the program name)."""
    return [line.split()[1:] for line in out.splitlines() if line.startswith("  skage ")]


def test_synthetic_demo_saves_the_full_model_with_report_and_commands(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--n-samples", "48", "--image-size", "32", "--max-epochs", "1", "--batch-size", "8",
                 "--device", "cpu", "--rows", "full", "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert (out / "model.skage").is_file() and (out / "report" / "per_bin_mae.png").is_file()
    labels = pd.read_csv(out / "faces.csv")
    assert len(labels) == 15 and (out / "faces" / labels["file"][0]).is_file()
    predict, report = _commands(printed)
    assert predict[:2] == ["predict", str(out / "model.skage")] and report[0] == "report"
    # the printed commands run as printed (the placeholder replaced by the held-out faces)
    assert main([*predict[:2], str(out / "faces"), "--out", str(tmp_path / "p.csv"), "--quiet"]) == 0
    assert len(pd.read_csv(tmp_path / "p.csv")) == 15
    assert main([*report, "--quiet"]) == 0


def test_demo_on_real_faces_keeps_the_descriptor_model(utkface_dir, tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--data", f"utkface:{utkface_dir}", "--limit", "40", "--rows", "descriptor_full",
                 "--out", str(out), "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "+KNN = descriptor full" in printed and (out / "model.skage").is_file()
    predict, report = _commands(printed)
    assert report[3] == f"utkface:{utkface_dir}"
    table = pd.read_csv(out / "results.csv")
    assert table["model"].tolist() == ["+KNN = descriptor full"] and np.isfinite(table["mae"]).all()


def test_demo_rows_without_the_kept_model_still_print_the_table(tmp_path, capsys):
    assert main(["demo", "--n-samples", "40", "--image-size", "32", "--rows", "hog_svr", "--out",
                 str(tmp_path), "--quiet"]) == 0
    assert "HOG+SVR" in capsys.readouterr().out and not (tmp_path / "model.skage").exists()
