"""Run by test_accelerate.py under ``torch.distributed.run`` with 2 CPU processes (not a test module itself).

Trains an AcceleratedAgeNet data-parallel, predicts through KNNAgeRefiner (gathered outputs), and
saves what each process holds, plus the trained network's own forward pass on all chips (rank 0).
"""

import sys

import numpy as np
import torch
from accelerate import Accelerator

from skage.nn import AcceleratedAgeNet, to_model_input
from skage.refine import KNNAgeRefiner


def main(folder):
    accelerator = Accelerator(cpu=True)
    rng = np.random.default_rng(0)
    X = rng.integers(0, 256, size=(11, 32, 32, 5), dtype=np.uint8)  # 11: batches do not split evenly
    y = rng.uniform(1, 80, size=11)
    net = AcceleratedAgeNet(accelerator=accelerator, backbone="resnet18", max_epochs=1, batch_size=4, verbose=0,
                            random_state=0)
    model = KNNAgeRefiner(net, n_neighbors=3, blend=0.0).fit(X, y)  # blend 0: the network's own ages
    out = {"ages": model.predict(X), "embeddings": model.estimator_.transform(X),
           "world": accelerator.num_processes}
    module = model.estimator_.module_.eval()
    with torch.no_grad():
        logits, embeddings = module(to_model_input(torch.as_tensor(X), "cpu"))
    out["direct_ages"] = (torch.softmax(logits, 1) @ torch.arange(logits.shape[1], dtype=torch.float32)).numpy()
    out["direct_embeddings"] = embeddings.numpy()
    np.savez(f"{folder}/rank{accelerator.process_index}.npz", **out)


if __name__ == "__main__":  # never on import (pytest --doctest-modules imports every module)
    main(sys.argv[1])
