"""Issue 31 item 5: false matches of skage.cli._overlap's fingerprints among distinct UTKFace chips, detection of
altered copies, and hashing cost. Usage: python benchmarks/training_face_hash.py [N [UTKFACE_FOLDER]]; results in
benchmarks/results/training_face_hash_cpu.md"""
import io
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from skage.cli._overlap import MAX_DISTANCE, _bits, face_fingerprints, seen_before

N = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
files = sorted(Path(sys.argv[2] if len(sys.argv) > 2 else "../shared/data/utkface").glob("*.jpg"))
files = [files[i] for i in np.random.default_rng(0).choice(len(files), N, replace=False)]
t = time.perf_counter()
prints = face_fingerprints(files)
print(f"{N} chips: {(time.perf_counter() - t) / N * 1000:.2f} ms/face (read + hash); empty: {(prints == '').sum()}")

# all distinct pairs: Hamming distances
B = _bits(prints)
close = []
hist = np.zeros(B.shape[1] * 64 + 1, np.int64)
for s in range(0, N, 500):
    d = np.bitwise_count(B[s:s + 500, None, :] ^ B[None, :, :]).sum(2)
    rows, cols = np.nonzero(np.arange(s, min(s + 500, N))[:, None] < np.arange(N)[None, :])
    dd = d[rows, cols]
    hist += np.bincount(dd, minlength=len(hist))
    for r, c in zip(rows[dd <= 2 * MAX_DISTANCE], cols[dd <= 2 * MAX_DISTANCE]):
        close.append((int(d[r, c]), s + r, c))
print("distinct pairs:", N * (N - 1) // 2, "; cumulative count at distance <= d:",
      {d: int(c) for d, c in enumerate(np.cumsum(hist)) if d <= 2 * MAX_DISTANCE and d % 2 == 0})

def gray(path):
    return np.asarray(Image.open(path).convert("L").resize((64, 64)), float)

# pairs within MAX_DISTANCE: how alike are the images themselves (mean absolute gray difference, 0-255)?
within = [(d, i, j) for d, i, j in close if d <= MAX_DISTANCE]
mad = np.array([np.abs(gray(files[i]) - gray(files[j])).mean() for _, i, j in within])
identical = sum(files[i].read_bytes() == files[j].read_bytes() for _, i, j in within)
print(f"pairs within {MAX_DISTANCE} bits: {len(within)}; byte-identical: {identical}; mean |gray difference| "
      f"of the others: max {mad.max() if len(mad) else 0:.1f}, 95th {np.percentile(mad, 95) if len(mad) else 0:.1f}")
beyond = [(d, i, j) for d, i, j in close if MAX_DISTANCE < d <= 2 * MAX_DISTANCE]
mad2 = np.array([np.abs(gray(files[i]) - gray(files[j])).mean() for _, i, j in beyond])
print(f"pairs at {MAX_DISTANCE + 1}-{2 * MAX_DISTANCE} bits: {len(beyond)}; mean |gray difference|: "
      f"min {mad2.min() if len(mad2) else 0:.1f}, median {np.median(mad2) if len(mad2) else 0:.1f}")
worst = sorted(zip(mad, within), reverse=True)[:8]
for m, (d, i, j) in worst:
    print(f"  d={d} mad={m:.1f} {files[i].name} {files[j].name}")

# altered copies of 1,000 chips
def altered(path, how):
    img = Image.open(path)
    img.load()
    buf = io.BytesIO()
    if how == "byte appended":
        return np.asarray(Image.open(io.BytesIO(path.read_bytes() + b"\0")).convert("RGB"))
    if how.startswith("JPEG q"):
        img.save(buf, "JPEG", quality=int(how[6:]))
    elif how == "PNG":
        img.save(buf, "PNG")
    elif how.startswith("resized"):
        f = float(how.split()[1][1:])
        img.resize((round(img.width * f), round(img.height * f)), Image.Resampling.LANCZOS).save(buf, "JPEG", quality=90)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))

some = files[:1000]
record = prints[:1000]
for how in ["byte appended", "JPEG q95", "JPEG q75", "JPEG q50", "PNG", "resized x0.5", "resized x0.75", "resized x2"]:
    copies = face_fingerprints([altered(f, how) for f in some])
    found = seen_before(copies, record)
    d = np.bitwise_count(_bits(copies) ^ _bits(record)).sum(1)
    print(f"{how:14s} detected {found.sum()}/{len(some)} ({found.mean():.1%}); bits changed max {d.max()}, mean "
          f"{d.mean():.2f}; within 8/12/16/20 bits: {[(d <= t).sum() for t in (8, 12, 16, 20)]}")

# distinct faces never seen by a record of the first 5,000
fresh = seen_before(prints[5000:], prints[:5000]) if N > 5000 else None
if fresh is not None:
    print(f"chips {5000}-{N} matched against a record of the first 5000: {fresh.sum()} matched")
t = time.perf_counter()
seen_before(prints, prints)
print(f"checking {N} faces against a record of {N}: {time.perf_counter() - t:.2f} s")

# synthetic faces (skage demo without --data): drawn from one template, so alike by construction
from skage.datasets import make_synthetic_faces

for n, size in ((600, 64), (600, 128)):
    synthetic = face_fingerprints(make_synthetic_faces(n_samples=n, image_size=size, random_state=0).images)
    S = _bits(synthetic)
    d = np.bitwise_count(S[:, None, :] ^ S[None, :, :]).sum(2)
    np.fill_diagonal(d, 10**6)
    print(f"{n} synthetic faces of {size} px: nearest other at min {d.min()} bits; faces with another within "
          f"8/12/16/20 bits: {[(d.min(1) <= t).sum() for t in (8, 12, 16, 20)]}")
