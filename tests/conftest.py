"""Shared fixtures. Real faces come from ../shared/data/utkface and are never copied into the repo."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def find_utkface():
    """The UTKFace chip folder, or None on machines that do not have it."""
    candidates = [os.environ.get("SKAGE_UTKFACE"), REPO.parent / "shared" / "data" / "utkface"]
    for c in candidates:
        if c and Path(c).is_dir() and any(Path(c).glob("*.jpg")):
            return Path(c)
    return None


@pytest.fixture(scope="session")
def utkface_dir():
    path = find_utkface()
    if path is None:
        pytest.skip("UTKFace chips not found (set SKAGE_UTKFACE or place them in ../shared/data/utkface)")
    return path


@pytest.fixture(scope="session")
def utkface_sample(utkface_dir):
    """``sample(n, seed) -> (paths, ages)``: a seeded random choice of ``n`` real chips."""
    import numpy as np

    from skage.datasets import load_utkface

    faces = load_utkface(utkface_dir)

    def sample(n, seed):
        idx = np.random.default_rng(seed).choice(len(faces.y), n, replace=False)
        return faces.X[idx], faces.y[idx]

    return sample


@pytest.fixture
def age_network_wheel():
    """Skip unless the CC0 age network's wheel (the ``pretrained`` extra) is installed."""
    pytest.importorskip("onnx")
    from skage.nn import CydralAgeResNet, PretrainedModelMissing

    try:
        CydralAgeResNet.pretrained()
    except PretrainedModelMissing as exc:
        pytest.skip(str(exc))
