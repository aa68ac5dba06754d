"""Issue 33, step 1: every frozen activation the stacked recipe's members train on, computed once.

For all UTKFace chips and all FG-NET photos: dlib's 150-px chips (5 landmarks), one degraded copy
of each UTKFace chip (``DegradedCopies``, seed 0), the 64-px age chips cut from the 150-px ones
(``skage.nn.recrop_chips``: padding 0.25 -> 0.2), and for each chip and its mirror image:
dlib's face ResNet (``layer3`` maps, 128x8x8, and the descriptor) and the CC0 age network
(``layer2`` maps, 128x7x7, pooled features, probabilities, age). Saved to ``--out`` as .npy.

    .venv/bin/python benchmarks/stack_features.py --out .cache/stack
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def activations(net, chips, keep, pooled_names, batch=128):
    maps, rest = [], []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        for s in range(0, len(chips), batch):
            st = net.stages(net.preprocess(np.ascontiguousarray(chips[s:s + batch][..., :3])))
            maps.append(st[keep].to(torch.float16).cpu().numpy())
            rest.append(torch.cat([st[n].float() if st[n].ndim == 2 else st[n].float().mean((2, 3))
                                   for n in pooled_names], 1).numpy())
    return np.concatenate(maps), np.concatenate(rest)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=str(REPO / ".cache" / "stack"))
    ap.add_argument("--limit", type=int, default=None)
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from skage.alignment import FaceAligner
    from skage.augment import DegradedCopies
    from skage.datasets import load_fgnet, load_utkface
    from skage.nn import recrop_chips
    from skage.nn._cydral import _age_net
    from skage.nn._dlib_resnet import _descriptor_net
    from cross_dataset import grayscale_photos

    torch.set_num_threads(2)
    utk, fg = load_utkface(DATA / "utkface"), load_fgnet(DATA / "fgnet")
    sets = {"utk": (np.asarray(utk.X)[:args.limit], np.asarray(utk.y)[:args.limit]),
            "fg": (np.asarray(fg.X), np.asarray(fg.y))}
    np.save(out / "fg_gray.npy", grayscale_photos(sets["fg"][0]))
    np.save(out / "fg_groups.npy", np.asarray(fg.metadata["subject_id"]))
    for col in ("gender", "race"):
        np.save(out / f"utk_{col}.npy", np.asarray(utk.metadata[col])[:args.limit])
    face, age = _descriptor_net(torch.device("cpu")), _age_net(torch.device("cpu"))
    for name, (paths, y) in sets.items():
        t = time.time()
        al = FaceAligner(geometry="dlib", landmarks=5, output_size=150, detector="auto", n_jobs=1)
        c150 = al.fit_transform(paths)[..., :3]
        ok = c150.reshape(len(c150), -1).max(1) > 0
        print(name, "aligned", len(paths), "found", ok.sum(), f"{time.time() - t:.0f}s", flush=True)
        al64 = FaceAligner(geometry="dlib", landmarks=5, output_size=64, margin=0.2, detector="auto", n_jobs=1)
        np.save(out / f"{name}_direct64.npy", al64.fit_transform(paths)[..., :3])
        variants = {"orig": c150}
        if name == "utk":
            deg, _ = DegradedCopies(n_copies=1.0, random_state=0).fit_resample(c150, y)
            variants["deg"] = deg[len(c150):]
        np.save(out / f"{name}_y.npy", y)
        np.save(out / f"{name}_found.npy", ok)
        np.save(out / f"{name}_paths.npy", paths)
        for v, chips in variants.items():
            np.save(out / f"{name}_{v}_c150.npy", chips)
            c64 = recrop_chips(chips)
            np.save(out / f"{name}_{v}_c64.npy", c64)
            for flip in (False, True):
                tag = f"{name}_{v}{'_flip' if flip else ''}"
                a = chips[:, :, ::-1] if flip else chips
                b = c64[:, :, ::-1] if flip else c64
                t = time.time()
                m, r = activations(face, a, "layer3", ("descriptor",))
                np.save(out / f"{tag}_face_l3.npy", m); np.save(out / f"{tag}_face_desc.npy", r)
                m, r = activations(age, b, "layer2", ("pooled", "logits"))
                np.save(out / f"{tag}_age_l2.npy", m); np.save(out / f"{tag}_age_out.npy", r)
                print(tag, f"{time.time() - t:.0f}s", flush=True)


if __name__ == "__main__":
    main()
