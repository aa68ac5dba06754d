"""The baseline pipelines learn age: on real chips (when present) and on synthetic faces."""

import numpy as np
import pytest

from skage.datasets import load_utkface, make_synthetic_faces
from skage.features import make_hog_svr, make_hog_tree, make_lbp_svr


@pytest.fixture(scope="module")
def real_subset(utkface_dir):
    data = load_utkface(utkface_dir)
    idx = np.random.default_rng(0).choice(len(data.y), size=300, replace=False)
    return data.X[idx[:200]], data.y[idx[:200]], data.X[idx[200:]], data.y[idx[200:]]


@pytest.mark.parametrize("factory", [make_lbp_svr, make_hog_svr])
def test_svr_baselines_beat_the_mean_on_real_faces(real_subset, factory):
    X_train, y_train, X_test, y_test = real_subset
    pred = factory().fit(X_train, y_train).predict(X_test)
    assert pred.shape == y_test.shape
    mean_mae = np.abs(y_test - y_train.mean()).mean()
    mae = np.abs(y_test - pred).mean()
    assert mae < 0.85 * mean_mae, (mae, mean_mae)


def test_hog_tree_learns_synthetic_ages():
    faces = make_synthetic_faces(n_samples=160, image_size=32, random_state=0)
    model = make_hog_tree(image_size=32, pixels_per_cell=4, random_state=0, min_samples_leaf=5)
    model.fit(faces.images[:120], faces.y[:120])
    pred = model.predict(faces.images[120:])
    assert pred.shape == (40,)
    mean_mae = np.abs(faces.y[120:] - faces.y[:120].mean()).mean()
    assert np.abs(faces.y[120:] - pred).mean() < mean_mae
