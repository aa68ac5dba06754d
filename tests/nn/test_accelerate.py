"""AcceleratedAgeNet: AgeNet's training under Hugging Face Accelerate, in one CPU process."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

accelerate = pytest.importorskip("accelerate")

from skage.nn import AcceleratedAgeNet, AgeNet  # noqa: E402
from skage.refine import KNNAgeRefiner  # noqa: E402

# One full batch without augmentation: Accelerate's shuffling sampler then cannot change what
# a step sees, so the accelerated net must retrace AgeNet's training exactly.
SAME_STEPS = dict(batch_size=8, augment=False, max_epochs=2)


def accelerator(mixed_precision="no"):
    return accelerate.Accelerator(cpu=True, mixed_precision=mixed_precision)


@pytest.fixture(autouse=True)
def fresh_accelerator_state():
    # Accelerate keeps one process-wide state whose precision cannot change once set (a doctest
    # may have set it); forget it around each test, as accelerate's own tests do.
    accelerate.state.AcceleratorState._reset_state(reset_partial_state=True)
    yield
    accelerate.state.AcceleratorState._reset_state(reset_partial_state=True)


def test_trains_like_agenet_in_fp32(chips, tiny, capsys):
    X, y = chips
    params = {**tiny, **SAME_STEPS}
    plain = AgeNet(device="cpu", amp=False, **params).fit(X, y)
    net = AcceleratedAgeNet(accelerator=accelerator(), **params).fit(X, y)
    np.testing.assert_allclose(net.history[:, "train_loss"], plain.history[:, "train_loss"], rtol=1e-5)
    np.testing.assert_allclose(net.history[:, "event_lr"], plain.history[:, "event_lr"])  # cosine, once an epoch
    np.testing.assert_allclose(net.predict(X), plain.predict(X), rtol=1e-4)
    assert type(net.module_) is type(plain.module_)  # unwrapped after training
    assert clone(net).get_params(deep=False)["callbacks__print_log__sink"] == "auto"  # as given
    assert "train_loss" not in capsys.readouterr().out  # verbose=0 is quiet under Accelerate too


def test_bf16_belongs_to_the_accelerator(chips, tiny):
    X, y = chips
    seen = []
    net = AcceleratedAgeNet(accelerator=accelerator("bf16"), **tiny).fit(X, y)
    net.module_.backbone.conv1.register_forward_hook(lambda module, args, out: seen.append(out.dtype))
    net.partial_fit(X, y)  # one more epoch, watched by the hook
    assert seen and set(seen) == {torch.bfloat16}
    seen.clear()
    ages = net.predict(X)  # prediction autocasts the same way
    assert set(seen) == {torch.bfloat16} and np.isfinite(ages).all()
    with pytest.raises(ValueError, match="mixed_precision"):
        AcceleratedAgeNet(accelerator=accelerator(), amp=True, **tiny).fit(X, y)


def test_knn_refiner_on_gathered_embeddings(chips, tiny):
    X, y = chips
    params = {**tiny, **SAME_STEPS}
    plain = KNNAgeRefiner(AgeNet(device="cpu", amp=False, **params), n_neighbors=3).fit(X, y)
    refiner = KNNAgeRefiner(AcceleratedAgeNet(accelerator=accelerator(), **params), n_neighbors=3).fit(X, y)
    assert isinstance(refiner.estimator_, AcceleratedAgeNet)
    assert refiner.estimator_.accelerator is refiner.estimator.accelerator  # clones share it, never copy it
    np.testing.assert_allclose(refiner.predict(X), plain.predict(X), rtol=1e-4)
    embeddings = refiner.estimator_.transform(X)
    np.testing.assert_allclose(embeddings, plain.estimator_.transform(X), rtol=1e-4, atol=1e-5)


@pytest.mark.slow
def test_two_processes_train_data_parallel_and_gather(tmp_path):
    """torch.distributed.run with 2 CPU processes (gloo): DDP training, then every process holds all outputs."""
    import socket
    import subprocess
    import sys
    from pathlib import Path

    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("torch.distributed with gloo is needed")
    with socket.socket() as s:  # a free port: the machine may run other jobs
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    script = Path(__file__).with_name("ddp_script.py")
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2",
                          "--master_addr", "127.0.0.1", "--master_port", str(port), str(script), str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in (0, 1)]
    assert [int(r["world"]) for r in ranks] == [2, 2]
    for r in ranks:  # all 11 outputs, in input order, the same as the trained network's own forward pass
        np.testing.assert_allclose(r["ages"], ranks[0]["direct_ages"], rtol=1e-4)
        np.testing.assert_allclose(r["embeddings"], ranks[0]["direct_embeddings"], rtol=1e-4, atol=1e-5)
    # DDP kept the replicas identical: each process's own network gives the same outputs
    np.testing.assert_allclose(ranks[1]["direct_ages"], ranks[0]["direct_ages"], rtol=1e-5)
