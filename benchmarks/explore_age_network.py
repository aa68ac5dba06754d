"""Exploration that chose ``make_age_network_pipeline``'s recipe: fine-tuning dlib's CC0 age network by hand.

A plain PyTorch loop (not :class:`skage.nn.AgeNet`) over the 64-px chips of the age network's own
pipeline (``pretrained_model()`` up to its model step, made once and kept in ``--chips``): the seed-0
70/30 split of ``../shared/data/utkface`` (``skage.compare.split_indices``) for training and testing,
all of ``../shared/data/fgnet`` as users' photos. The head is the network's 81-class age layer grown to
101 classes; each training chip is degraded (``skage.augment.degrade_chip``) with probability
``--p-degrade`` and mirrored with probability 0.5; loss: cross-entropy against a Gaussian label
distribution (``--sigma``) plus 0.05 x the absolute error of the expected age, weighted per age bin
(effective number, ``--beta``), plus ``--kd`` x the KL divergence from the untouched network
(distillation), ``--l2sp`` x the squared distance to the starting weights; ``--freeze`` first stages
frozen; AdamW with a one-cycle schedule (head at 3x the rate). Prints UTKFace test and FG-NET figures
every other epoch. Figures: docs/results.md (issue 22 protocol). Run, e.g.::

    .venv/bin/python benchmarks/explore_age_network.py --epochs 8 --lr 1e-4                  # fine-tuned alone
    .venv/bin/python benchmarks/explore_age_network.py --epochs 8 --lr 1e-4 --freeze 3 --p-degrade 0.7
    .venv/bin/python benchmarks/explore_age_network.py --epochs 8 --lr 1e-4 --kd 1.0 --p-degrade 0.7
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
DATA = REPO.parent / "shared" / "data"
sys.path.insert(0, str(Path(__file__).resolve().parent))


def make_chips(path):
    """The age network's 64-px chips of every UTKFace and FG-NET photo, the split and the labels."""
    from cross_dataset import grayscale_photos
    from skage.compare import split_indices
    from skage.datasets import load_fgnet, load_utkface
    from skage.pipeline import pretrained_model

    utk, fg = load_utkface(DATA / "utkface"), load_fgnet(DATA / "fgnet")
    tr, te = split_indices(utk.y, test_size=0.3, random_state=0)
    front = pretrained_model(memory=str(REPO / ".cache" / "xd"), n_jobs=2)[:-1]
    os.makedirs(Path(path).parent, exist_ok=True)
    np.savez(path, cu=front.transform(utk.X), yu=utk.y, tr=tr, te=te, cf=front.transform(fg.X), yf=fg.y,
             gray=grayscale_photos(fg.X))


def main(argv=None):
    from skage.augment import degrade_chip
    from skage.metrics import age_bin_indices, age_report
    from skage.nn import CydralAgeResNet, effective_number_weights

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--chips", default=str(REPO / ".cache" / "xd" / "age_chips.npz"))
    p.add_argument("--epochs", type=int, default=6)
    p.add_argument("--lr", type=float, default=3e-4)
    p.add_argument("--p-degrade", type=float, default=0.5)
    p.add_argument("--sigma", type=float, default=2.0)
    p.add_argument("--beta", type=float, default=0.999)
    p.add_argument("--bf16", type=int, default=1)
    p.add_argument("--classes", type=int, default=101)
    p.add_argument("--limit", type=int, default=0)
    p.add_argument("--kd", type=float, default=0.0)
    p.add_argument("--freeze", type=int, default=0)
    p.add_argument("--l2sp", type=float, default=0.0)
    p.add_argument("--bs", type=int, default=128)
    p.add_argument("--save", default=None)
    a = p.parse_args(argv)
    print(a, flush=True)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    torch.set_num_threads(2)
    if not os.path.exists(a.chips):
        make_chips(a.chips)
    d = np.load(a.chips)
    cu, yu, tr, te = d["cu"], d["yu"].astype(float), d["tr"], d["te"]
    cf, yf, gray = d["cf"], d["yf"].astype(float), d["gray"]
    if a.limit:
        tr = tr[:a.limit]
    net, teacher = CydralAgeResNet.pretrained(), CydralAgeResNet.pretrained().eval()
    K = a.classes
    ages = torch.tensor((0.25,) + tuple(float(i) for i in range(1, K)))
    old, fc = net.fc, torch.nn.Linear(net.fc.in_features, K)
    with torch.no_grad():
        fc.weight[:81], fc.bias[:81] = old.weight, old.bias
        if K > 81:
            fc.weight[81:], fc.bias[81:] = old.weight[80], old.bias[80] - 4.0
    net.fc, net.class_ages = fc, ages
    autocast = lambda: torch.autocast("cpu", torch.bfloat16, enabled=bool(a.bf16))  # noqa: E731

    def predict(chips, flip=True):
        net.eval()
        out = []
        with torch.no_grad(), autocast():
            for i in range(0, len(chips), 512):
                x = net.preprocess(chips[i:i + 512])
                pr = torch.softmax(net(x).float(), 1)
                if flip:
                    pr = (pr + torch.softmax(net(torch.flip(x, [3])).float(), 1)) / 2
                out.append(pr.float().numpy() @ ages.numpy())
        return np.concatenate(out)

    def score(tag):
        pt, pf = predict(cu[te]), predict(cf)
        ok = np.isfinite(pt)
        r, rf, s = age_report(yu[te][ok], pt[ok]), age_report(yf, pf), pf - yf
        k = yf <= 9
        print(f"[{tag}] UTK MAE {r.mae:.2f} CMAE {r.cmae:.2f} Acc5 {r.acc:.3f} bias {r.bias:.2f} | FG MAE {rf.mae:.2f} "
              f"gray {s[gray].mean():+.2f} colour {s[~gray].mean():+.2f} gap {s[gray].mean() - s[~gray].mean():+.2f} "
              f"0-9 {np.abs(s[k]).mean():.2f}", flush=True)
        return pt, pf

    score("pretrained, 101-class head")
    frozen = ["stem", "layer1", "layer2", "layer3"][:a.freeze]
    for n, prm in net.named_parameters():
        if any(n.startswith(f) for f in frozen):
            prm.requires_grad_(False)
    init = {n: prm.detach().clone() for n, prm in net.named_parameters() if not n.startswith("fc.")}
    w_bin = torch.tensor(effective_number_weights(yu[tr], beta=a.beta), dtype=torch.float32)
    bins_tr = age_bin_indices(yu[tr])
    body = [p for n, p in net.named_parameters() if not n.startswith("fc.") and p.requires_grad]
    opt = torch.optim.AdamW([{"params": body, "lr": a.lr}, {"params": net.fc.parameters(), "lr": a.lr * 3}],
                            weight_decay=1e-4)
    steps = a.epochs * int(np.ceil(len(tr) / a.bs))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, [a.lr, a.lr * 3], total_steps=steps, pct_start=0.15)
    grid = ages.numpy()
    for ep in range(a.epochs):
        net.train()
        t, perm, tot = time.time(), rng.permutation(len(tr)), 0
        for i in range(0, len(perm), a.bs):
            idx = perm[i:i + a.bs]
            chips = cu[tr[idx]].copy()
            for j in range(len(chips)):
                if rng.random() < a.p_degrade:
                    chips[j] = degrade_chip(chips[j], rng)
                if rng.random() < 0.5:
                    chips[j] = chips[j, :, ::-1]
            y = torch.tensor(yu[tr[idx]], dtype=torch.float32)
            target = torch.softmax(-(torch.tensor(grid)[None] - y[:, None].clamp(max=grid[-1])) ** 2
                                   / (2 * a.sigma ** 2), 1)
            wt = w_bin[torch.as_tensor(bins_tr[idx])]
            with autocast():
                logits = net(net.preprocess(chips)).float()
            logp = F.log_softmax(logits, 1)
            loss = ((-(target * logp).sum(1) + 0.05 * (logp.exp().float() @ ages - y).abs()) * wt).mean()
            if a.kd:
                with torch.no_grad(), autocast():
                    tp = torch.softmax(teacher(teacher.preprocess(chips)).float(), 1)
                tp = F.pad(tp, (0, K - tp.shape[1]))
                loss = loss + a.kd * (tp * (torch.log(tp + 1e-8) - logp)).sum(1).mean()
            if a.l2sp:
                loss = loss + a.l2sp * sum(((prm - init[n]) ** 2).sum() for n, prm in net.named_parameters()
                                           if n in init and prm.requires_grad)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
        print(f"epoch {ep} loss {tot / len(tr):.3f} {time.time() - t:.0f}s", flush=True)
        if ep % 2 == 1 or ep == a.epochs - 1:
            pt, pf = score(f"ep{ep}")
    if a.save:
        np.savez(a.save, pred_test=pt, pred_fgnet=pf, y_test=yu[te], y_fgnet=yf, gray=gray, test_idx=te)


if __name__ == "__main__":
    main()
