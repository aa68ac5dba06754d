"""Issue 33, step 2: members trained on the cached activations of stack_features.py, stacked, scored.

    .venv/bin/python benchmarks/stack_explore.py --seed 0
"""
import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
D = REPO / ".cache" / "stack"
AGES = torch.arange(101, dtype=torch.float32)  # classes 0..100


def L(name):
    return np.load(D / f"{name}.npy", mmap_mode="r")


def label_dist(y, sigma=3.0):
    y = torch.as_tensor(y, dtype=torch.float32).clamp(0, 100)
    d = torch.exp(-0.5 * ((AGES[None] - y[:, None]) / sigma) ** 2)
    return d / d.sum(1, keepdim=True)


def AgeTop():
    from skage.nn import AgeNetworkTop
    return AgeNetworkTop()


def FaceTop():
    from skage.nn import FaceNetworkTop
    return FaceNetworkTop()


def train_top(make, maps, flips, y, teacher=None, distill=0.0, epochs=6, lr=3e-4, batch=256, seed=0, wd=1e-4,
              weights=None):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = make()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=wd)
    steps = epochs * int(np.ceil(len(y) / batch))
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    target = label_dist(y)
    model.train()
    for ep in range(epochs):
        order = rng.permutation(len(y))
        for s in range(0, len(y), batch):
            idx = np.sort(order[s:s + batch])
            flip = rng.random(len(idx)) < 0.5
            x = np.where(flip[:, None, None, None], flips[idx], maps[idx]).astype(np.float32)
            with torch.autocast("cpu", dtype=torch.bfloat16):
                out = model(torch.from_numpy(x))
            logp = F.log_softmax(out.float(), 1)
            loss_rows = -(target[idx] * logp).sum(1)
            if weights is not None:
                loss = (loss_rows * torch.as_tensor(weights[idx], dtype=torch.float32)).mean()
            else:
                loss = loss_rows.mean()
            if distill:
                tl = torch.as_tensor(np.where(flip[:, None], teacher[1][idx], teacher[0][idx]), dtype=torch.float32)
                tp = torch.softmax(tl, 1)
                sp = F.log_softmax(model.teacher_view(out.float()), 1)
                loss = loss + distill * F.kl_div(sp, tp, reduction="batchmean")
            opt.zero_grad(); loss.backward(); opt.step(); sched.step()
    model.eval()
    return model


def predict_top(model, maps, flips, batch=1024):
    out = []
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
        for s in range(0, len(maps), batch):
            ps = [torch.softmax(model(torch.from_numpy(np.asarray(m[s:s + batch], np.float32))).float(), 1)
                  for m in (maps, flips)]
            out.append(((ps[0] + ps[1]).float().numpy() / 2) @ AGES.numpy())
    return np.concatenate(out)


def report(name, y, p, extra=""):
    from skage.metrics import acc_at_k, bias_score, cmae_score, age_bin_indices
    ok = np.isfinite(p)
    y, p = y[ok], p[ok]
    b = age_bin_indices(y)
    signed = [np.mean(p[b == k] - y[b == k]) for k in range(7)]
    print(f"{name:34s} MAE {np.abs(p - y).mean():.3f} CMAE {cmae_score(y, p):.3f} Acc5 {acc_at_k(y, p):.3f} "
          f"bias {bias_score(y, p):.2f} signed/bin " + " ".join(f"{s:+.1f}" for s in signed) + extra, flush=True)


def fg_report(name, y, p, gray):
    ok = np.isfinite(p)
    e = np.abs(p - y)
    kid = y <= 9
    print(f"{'  FG ' + name:34s} MAE {e[ok].mean():.3f} gray {e[gray & ok].mean():.2f} ({np.mean((p - y)[gray & ok]):+.2f}) "
          f"colour {e[~gray & ok].mean():.2f} ({np.mean((p - y)[~gray & ok]):+.2f}) 0-9 {e[kid & ok].mean():.2f} "
          f"10-19 {e[(y >= 10) & (y <= 19) & ok].mean():.2f}", flush=True)


def pretrained_age(logits):
    from skage.nn._cydral import CLASS_AGES
    p = torch.softmax(torch.as_tensor(np.asarray(logits, np.float32)), 1).numpy()
    return p @ np.asarray(CLASS_AGES, np.float32)


class Data:
    """Cached rows: UTKFace originals (index i), their degraded copies (n + i), FG-NET."""

    def __init__(self):
        self.y = np.asarray(L("utk_y"), float)
        self.found = np.asarray(L("utk_found"))
        self.fg_y = np.asarray(L("fg_y"), float)
        self.fg_gray = np.asarray(L("fg_gray"))
        self.fg_found = np.asarray(L("fg_found"))
        self.n = len(self.y)
        cat = lambda a, b: np.concatenate([np.asarray(L(a)), np.asarray(L(b))])
        self.age_l2 = cat("utk_orig_age_l2", "utk_deg_age_l2")
        self.age_l2f = cat("utk_orig_flip_age_l2", "utk_deg_flip_age_l2")
        self.face_l3 = cat("utk_orig_face_l3", "utk_deg_face_l3")
        self.face_l3f = cat("utk_orig_flip_face_l3", "utk_deg_flip_face_l3")
        self.desc = (cat("utk_orig_face_desc", "utk_deg_face_desc") + cat("utk_orig_flip_face_desc",
                                                                         "utk_deg_flip_face_desc")) / 2
        self.age_out = cat("utk_orig_age_out", "utk_deg_age_out")
        self.age_outf = cat("utk_orig_flip_age_out", "utk_deg_flip_age_out")
        self.fg = dict(age_l2=np.asarray(L("fg_orig_age_l2")), age_l2f=np.asarray(L("fg_orig_flip_age_l2")),
                       face_l3=np.asarray(L("fg_orig_face_l3")), face_l3f=np.asarray(L("fg_orig_flip_face_l3")),
                       desc=(np.asarray(L("fg_orig_face_desc")) + np.asarray(L("fg_orig_flip_face_desc"))) / 2,
                       age_out=np.asarray(L("fg_orig_age_out")), age_outf=np.asarray(L("fg_orig_flip_age_out")))
        # what kind of photo: gray (channels equal) and sharpness, of the 150-px chip
        self.kind = np.concatenate([photo_kind(L("utk_orig_c150")), photo_kind(L("utk_deg_c150"))])
        self.fg_kind = photo_kind(L("fg_orig_c150"))

    def rows(self, idx):
        """Originals and degraded copies of the chips ``idx``."""
        return np.r_[idx, idx + self.n]


def photo_kind(chips):
    from skage.stacking import photo_kind as kind
    return kind(chips)


def members(data, train_rows, cfg):
    """Fit every member on ``train_rows``; return a function of (which, rows) -> predictions."""
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    y = np.r_[data.y, data.y][train_rows]
    fitted = {}
    t = time.time()
    teacher = (data.age_out[train_rows][:, 256:], data.age_outf[train_rows][:, 256:])
    fitted["age_top"] = train_top(AgeTop, data.age_l2[train_rows], data.age_l2f[train_rows], y, teacher=teacher,
                                  distill=cfg.get("distill", 1.0), epochs=cfg.get("age_epochs", 6),
                                  lr=cfg.get("age_lr", 3e-4))
    t1 = time.time()
    fitted["face_top"] = train_top(FaceTop, data.face_l3[train_rows], data.face_l3f[train_rows], y,
                                   epochs=cfg.get("face_epochs", 6), lr=cfg.get("face_lr", 1e-3))
    t2 = time.time()
    if cfg.get("svr", True):
        fitted["descriptor"] = make_pipeline(StandardScaler(), SVR(C=30, epsilon=1.0)).fit(data.desc[train_rows], y)
    t3 = time.time()
    print(f"   members fitted on {len(train_rows)} rows: age {t1 - t:.0f}s face {t2 - t1:.0f}s svr {t3 - t2:.0f}s",
          flush=True)

    def predict(src, rows=None):
        s = data.fg if src == "fg" else dict(age_l2=data.age_l2, age_l2f=data.age_l2f, face_l3=data.face_l3,
                                             face_l3f=data.face_l3f, desc=data.desc, age_out=data.age_out,
                                             age_outf=data.age_outf)
        take = (lambda a: a) if rows is None else (lambda a: a[rows])
        cols = {"pretrained": (pretrained_age(take(s["age_out"])[:, 256:]) +
                               pretrained_age(take(s["age_outf"])[:, 256:])) / 2,
                "age_top": predict_top(fitted["age_top"], take(s["age_l2"]), take(s["age_l2f"])),
                "face_top": predict_top(fitted["face_top"], take(s["face_l3"]), take(s["face_l3f"]))}
        if "descriptor" in fitted:
            cols["descriptor"] = fitted["descriptor"].predict(take(s["desc"]))
        return cols
    return predict


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--folds", type=int, default=0)
    ap.add_argument("--no-svr", action="store_true")
    ap.add_argument("--distill", type=float, default=1.0)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--save", default=None)
    args = ap.parse_args()
    from skage.compare import split_indices
    torch.set_num_threads(2)
    data = Data()
    tr, te = split_indices(data.y, random_state=args.seed)
    tr = tr[data.found[tr]]
    cfg = dict(distill=args.distill, age_epochs=args.epochs, face_epochs=args.epochs, svr=not args.no_svr)
    predict = members(data, data.rows(tr), cfg)
    test, fg = predict("utk", te), predict("fg")
    for name in test:
        p = np.where(data.found[te], test[name], np.nan)
        report(name, data.y[te], p)
        fg_report(name, data.fg_y, np.where(data.fg_found, fg[name], np.nan), data.fg_gray)
    out = dict(te=te, tr=tr, **{f"test_{k}": v for k, v in test.items()}, **{f"fg_{k}": v for k, v in fg.items()})
    if args.folds:
        from sklearn.model_selection import KFold
        oof = {}
        for k, (a, b) in enumerate(KFold(args.folds, shuffle=True, random_state=args.seed).split(tr)):
            pf = members(data, data.rows(tr[a]), cfg)(None, data.rows(tr[b]))
            for name, v in pf.items():
                oof.setdefault(name, np.full(2 * data.n, np.nan))[data.rows(tr[b])] = v
            print(f"   fold {k} done", flush=True)
        out.update({f"oof_{k}": v for k, v in oof.items()})
    if args.save:
        np.savez(args.save, **out)


if __name__ == "__main__":
    main()
