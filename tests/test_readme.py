"""The README's Python example runs, as written, on a few UTKFace chips."""

import re
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
N_CHIPS = 40  # the README reads all 15,452 chips and trains for minutes; the code is what is checked


def _readme_python():
    text = (REPO / "README.md").read_text()
    section = text[text.index("## In Python"):]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


@pytest.mark.slow
def test_readme_python_example_runs(utkface_dir, tmp_path, monkeypatch, capsys):
    import skage.datasets
    import skage.pipeline
    from skimage import data as skdata
    from skimage.io import imsave

    load_utkface, make_age_pipeline = skage.datasets.load_utkface, skage.pipeline.make_age_pipeline

    def few_chips(path, **options):
        # the README's relative path is the checkout's ../shared/data/utkface: read that folder, keep a few
        faces = load_utkface(utkface_dir, **options)
        keep = np.random.default_rng(0).choice(len(faces.y), N_CHIPS, replace=False)
        return type(faces)(**{**faces, "X": faces.X[keep], "y": faces.y[keep],
                              "metadata": faces.metadata.iloc[keep].reset_index(drop=True)})

    def short_training(**options):
        if options.get("model", "stacked") in ("age_network", "stacked"):  # networks: one epoch is enough here
            options.setdefault("max_epochs", 1)
        return make_age_pipeline(**options)

    monkeypatch.setattr(skage.datasets, "load_utkface", few_chips)
    monkeypatch.setattr(skage.pipeline, "make_age_pipeline", short_training)
    monkeypatch.chdir(tmp_path)  # cache/, age.skage and the photos land here
    imsave("group_photo.jpg", skdata.astronaut())  # a photo with one face; missing.jpg stays missing

    namespace = {"__name__": "__main__"}
    exec(compile(_readme_python(), "README.md", "exec"), namespace)

    out = capsys.readouterr().out
    assert re.search(r"MAE \d+\.\d+ \| CMAE", out)
    assert (tmp_path / "age.skage").is_file()
    assert set(namespace["search"].best_params_) == {"model__estimator__C"}
    assert "group_photo.jpg" in out and "missing.jpg" in out and "file not found" in out  # an error row
