"""Train AgeNet data-parallel on several GPUs (and nodes) with Hugging Face Accelerate, then refine it with KNN.

    accelerate launch --multi_gpu --num_processes 8 --mixed_precision bf16 examples/train_multigpu.py \\
        --data utkface:PATH --cache /shared/skage-cache --image-size 224 --max-epochs 40 --backbone resnet50
    torchrun --nproc_per_node 8 examples/train_multigpu.py --bf16 --data utkface:PATH --cache /shared/skage-cache
    torchrun --nproc_per_node 2 examples/train_multigpu.py --cpu             # two CPU processes (gloo)
    .venv/bin/python examples/train_multigpu.py                             # one process: synthetic faces, tiny net

Every process runs this script. The main process aligns and parses the faces first, into
memory-mapped caches under --cache (a folder every process reads: on several nodes, a shared
one); the others then read them. Each training batch of --batch-size chips is per process;
predictions and embeddings are gathered from all processes, so the KNN stage and the metrics
see every face in every process, and only the main process prints.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
from accelerate import Accelerator
from sklearn.model_selection import train_test_split

from skage.alignment import FaceAligner
from skage.metrics import age_report
from skage.nn import AcceleratedAgeNet
from skage.parsing import FaceParser
from skage.refine import KNNAgeRefiner


def load_paths(args, cache):
    """Image paths and ages: the data set named by --data, else synthetic faces written under the cache."""
    if args.data:
        from skage.datasets import load_dataset

        data = load_dataset(args.data)
        keep = np.random.default_rng(0).permutation(len(data.y))[: args.faces] if args.faces else slice(None)
        return np.asarray(data.X)[keep], np.asarray(data.y)[keep]
    from skage.datasets import load_utkface, write_synthetic_faces

    folder = cache / "synthetic"
    if not folder.is_dir():
        write_synthetic_faces(folder, n_samples=args.faces or 96, image_size=160, random_state=0)
    data = load_utkface(folder)
    return np.asarray(data.X), np.asarray(data.y)


def chips(paths, args, cache):
    """Aligned chips with the parsing masks appended, cached as memmaps under ``cache``."""
    aligned = FaceAligner(output_size=args.image_size, cache_dir=cache / "chips", n_jobs=args.n_jobs).fit()
    parser = FaceParser(cache_dir=cache / "parsed", n_jobs=args.n_jobs)
    X = aligned.transform(paths)
    return parser.fit(X).transform(X)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="KIND:PATH, e.g. utkface:../shared/data/utkface (default: synthetic faces)")
    parser.add_argument("--faces", type=int, default=None, help="faces to use (default: all; 96 synthetic)")
    parser.add_argument("--cache", help="folder every process can read (default: a temporary one, one node only)")
    parser.add_argument("--image-size", type=int, default=48)
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--max-epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=16, help="per process")
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--bf16", action="store_true", help="bf16 mixed precision (or accelerate launch's flag)")
    parser.add_argument("--cpu", action="store_true", help="train on the CPU even with a GPU present")
    parser.add_argument("--n-jobs", type=int, default=None, help="alignment and parsing workers (main process)")
    parser.add_argument("--out", help="save the trained weights here (params.pt, by the main process)")
    args = parser.parse_args()

    # mixed_precision=None leaves the choice to `accelerate launch --mixed_precision` (default: fp32)
    accelerator = Accelerator(mixed_precision="bf16" if args.bf16 else None, cpu=args.cpu)
    if args.cache:
        cache = Path(args.cache)
    else:  # one temporary folder for all processes of this node: the main process names it
        name = [tempfile.mkdtemp(prefix="skage-") if accelerator.is_main_process else None]
        if accelerator.num_processes > 1:
            from accelerate.utils import broadcast_object_list

            broadcast_object_list(name)
        cache = Path(name[0])

    with accelerator.main_process_first():  # the main process fills the caches, the others read them
        X, y = load_paths(args, cache)
        X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0)
        chips_train, chips_test = chips(X_train, args, cache), chips(X_test, args, cache)

    net = AcceleratedAgeNet(accelerator=accelerator, backbone=args.backbone, max_epochs=args.max_epochs,
                            batch_size=args.batch_size, lr=args.lr, random_state=0, verbose=1)
    model = KNNAgeRefiner(net, n_neighbors=min(20, len(y_train) - 1)).fit(chips_train, y_train)
    ages = model.predict(chips_test)  # gathered: every process holds all of them
    accelerator.print(f"{accelerator.num_processes} process(es) on {accelerator.device}, "
                      f"mixed precision {accelerator.mixed_precision}: {len(y_train)} training faces, "
                      f"{len(y_test)} test faces")
    report = age_report(y_test, ages)
    accelerator.print(f"test MAE {report.mae:.2f}, CMAE {report.cmae:.2f}")
    if args.out:
        model.estimator_.save_params(f_params=str(Path(args.out) / "params.pt"))  # main process writes


if __name__ == "__main__":
    main()
