"""One tiny fitted AgeNet shared by the nn tests (fitting is the slow part)."""

import numpy as np
import pytest

from skage.nn import AgeNet

N_REGIONS = 2
TINY = dict(backbone="resnet18", max_epochs=1, batch_size=4, verbose=0, random_state=0)


def make_chips(n=8, size=32, n_regions=N_REGIONS, seed=0):
    """Random uint8 chips with ``n_regions`` mask channels, and ages."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 256, size=(n, size, size, 3 + n_regions), dtype=np.uint8)
    y = rng.uniform(1, 90, size=n)
    return X, y


@pytest.fixture(name="make_chips", scope="session")
def make_chips_fixture():
    return make_chips


@pytest.fixture(name="tiny", scope="session")
def tiny_fixture():
    """AgeNet parameters for CPU tests: ResNet-18, one epoch, batch 4, seeded."""
    return dict(TINY)


@pytest.fixture(scope="session")
def chips():
    return make_chips()


@pytest.fixture(scope="session")
def fitted_agenet(chips):
    X, y = chips
    return AgeNet(**TINY).fit(X, y)
