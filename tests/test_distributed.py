"""Every parallel stage runs on a dask.distributed cluster through joblib, with the default backend's results.

One local cluster of two worker processes serves the module. Inputs are image *paths*
(synthetic faces written as JPEGs, plus a few real chips where they are present), so
what travels to the workers is file names; the pipeline's cache is a folder every
worker can read, as a shared folder would be on a real cluster.
"""


import numpy as np
import pytest

from skage import _parallel

distributed = pytest.importorskip("distributed")
joblib = pytest.importorskip("joblib")

from sklearn.model_selection import GridSearchCV, KFold  # noqa: E402

from skage.alignment import FaceAligner  # noqa: E402
from skage.datasets import load_utkface, write_synthetic_faces  # noqa: E402
from skage.features import FaceDescriptor, _descriptor  # noqa: E402
from skage.parsing import FaceParser  # noqa: E402
from skage.pipeline import make_age_pipeline  # noqa: E402
from skage.sampling._unreadable import _read_errors  # noqa: E402


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=None, silence_logs=40)
    client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(scope="module")
def faces(tmp_path_factory):
    """24 synthetic faces (160 px JPEGs) and one empty file, as paths; ages."""
    folder = tmp_path_factory.mktemp("faces")
    write_synthetic_faces(folder, n_samples=24, image_size=160, random_state=0)
    data = load_utkface(folder)
    empty = folder / "empty.jpg"
    empty.write_bytes(b"")
    return [*map(str, data.X), str(empty)], np.append(data.y, 30.0)


@pytest.fixture
def small_chunks(monkeypatch):
    # Several tasks and blocks even for a few faces, so the cluster gets more than one task.
    monkeypatch.setattr(_parallel, "CHUNK", 4)
    monkeypatch.setattr(_parallel, "BLOCK", 12)


def on_dask(client, func):
    """``func()`` under joblib's dask backend, and the number of tasks the cluster ran for it."""
    with distributed.get_task_stream(client) as tasks, joblib.parallel_config(backend="dask"):
        result = func()
    return result, len(tasks.data)


def align_both_ways(client, paths):
    """The dlib-chip alignment of ``paths`` with the default backend; asserts the dask backend's is the same."""
    aligner = FaceAligner(detector="hog", landmarks=5, geometry="dlib", output_size=150).fit()
    local = aligner.align(paths)
    remote, n_tasks = on_dask(client, lambda: aligner.align(paths))
    assert n_tasks > 0
    np.testing.assert_array_equal(remote.chips, local.chips)
    np.testing.assert_array_equal(remote.flags, local.flags)
    np.testing.assert_array_equal(remote.landmarks, local.landmarks)
    return local


def test_aligner_same_on_dask(client, faces, small_chunks):
    paths, _ = faces
    local = align_both_ways(client, paths)
    assert local.flags[-1] == "unreadable" and (local.flags[:-1] == "ok").sum() >= 16  # faces found, not crops


def test_parser_same_on_dask(client, faces, small_chunks):
    paths, _ = faces
    chips = FaceAligner(detector="hog", output_size=64).fit().transform(paths)
    parser = FaceParser().fit(chips)
    local = parser.parse(chips)
    remote, n_tasks = on_dask(client, lambda: parser.parse(chips))
    assert n_tasks > 0
    np.testing.assert_array_equal(remote.masks, local.masks)
    np.testing.assert_array_equal(remote.flags, local.flags)
    assert (local.flags == "detected").sum() >= 12  # the check ran on faces, not only the template


def test_descriptor_same_on_dask(client, faces, monkeypatch):
    paths, _ = faces
    # a face HOG misses is centre-cropped: this test compares dask with local runs, on features of every chip
    chips = FaceAligner(detector="hog", landmarks=5, geometry="dlib", output_size=150,
                        on_failure="center").fit().transform(paths)
    monkeypatch.setattr(_descriptor, "_DLIB_BATCH", 8)  # two tasks' worth of work in 24 faces
    describe = FaceDescriptor().fit()
    local = describe.transform(chips)
    remote, n_tasks = on_dask(client, lambda: describe.transform(chips))
    assert n_tasks > 0
    np.testing.assert_allclose(remote, local, rtol=0, atol=1e-6, equal_nan=True)
    assert np.isnan(local[24]).all() and np.isfinite(local[:24]).all()  # the empty file's chip has no face


def test_unreadable_check_on_dask(client, faces):
    paths, _ = faces
    items = paths * 3  # above the 64 inputs from which the check goes parallel
    local = _read_errors(items, None)
    remote, n_tasks = on_dask(client, lambda: _read_errors(items, None))
    assert n_tasks > 0  # n_jobs=None means the cluster's workers under the dask backend
    np.testing.assert_array_equal(remote, local)
    assert (local != "").sum() == 3


def test_grid_search_same_on_dask(client, faces, tmp_path):
    """The descriptor pipeline tuned on paths, its cache in a folder the workers share."""
    paths, y = faces
    X, y = np.array(paths[:-1]), y[:-1]

    def search(cache):
        pipe = make_age_pipeline(model="descriptor", memory=str(cache), device="cpu", random_state=0)
        # HOG only and dlib's own descriptor: quick, and no torch network to load in the workers
        pipe.set_params(align__detector="hog", describe__engine="dlib", describe__layers=("descriptor",),
                        describe__flip=False, model__n_neighbors=5)
        grid = GridSearchCV(pipe, {"model__estimator__C": [1.0, 30.0]},
                            cv=KFold(2, shuffle=True, random_state=0), scoring="neg_mean_absolute_error")
        return grid.fit(X, y)

    local = search(tmp_path / "local")
    remote, n_tasks = on_dask(client, lambda: search(tmp_path / "shared"))
    assert n_tasks >= 4  # the 4 fits of the search at least
    np.testing.assert_allclose(remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"],
                               rtol=1e-5)
    assert remote.best_params_ == local.best_params_
    np.testing.assert_allclose(remote.predict(X), local.predict(X), rtol=1e-5)
    assert any((tmp_path / "shared").rglob("output.pkl"))  # the workers wrote the shared cache


def test_real_chips_same_on_dask(client, utkface_dir, small_chunks):
    paths = sorted(map(str, utkface_dir.glob("*.jpg")))[:12]
    align_both_ways(client, paths)
