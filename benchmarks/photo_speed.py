"""Issue 32: seconds, peak memory and faces found per photo, by photo size and detector.

Photos are built at run time from FG-NET (never stored): at 0.3, 2, 12 and 48 MP (4:3), one of

- ``one_face``: one FG-NET photo enlarged to fill the canvas (one large, soft face);
- ``six_faces``: six FG-NET faces pasted on a textured background, each face's box at least
  ``max(120, long side / 32)`` px (120 px at 12 MP, as in the issue);
- ``no_face``: the textured background alone;
- ``gray``: one flat gray.

Each (photo, detector) runs in a fresh process (``FaceAligner.align_faces`` with the ``pretrained``
model's chip settings, aligner loaded and warmed on a small photo first), so that its peak RSS
(``ru_maxrss``) is that photo's; the table gives the RSS before the photo too. Then FG-NET: the
face-found rate of ``detector="auto"`` over all 1,002 photos and photos/s, and ``load_model("pretrained")``
end to end (FG-NET MAE, photos/s, and the 12 MP photos through ``predict``).

Run (one command; prints Markdown tables)::

    python benchmarks/photo_speed.py                 # everything (about 10 min on 2 cores)
    python benchmarks/photo_speed.py --quick         # 2 and 12 MP, auto and hog, 200 FG-NET photos

Times are wall-clock; ``cpu_s`` is the process's CPU time for the photo (all threads), steadier on a
shared machine.
"""

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SIZES_MP = (0.3, 2, 12, 48)
CONTENTS = ("one_face", "six_faces", "no_face", "gray")
DETECTORS = ("auto", "yunet", "hog", "cnn")
# the pretrained model's chips (dlib geometry, 5 landmarks, 64 px, padding 0.2)
CHIPS = dict(landmarks=5, geometry="dlib", output_size=64, margin=0.2)


def canvas_size(mp):
    width = int(round(np.sqrt(mp * 1e6 * 4 / 3)))
    return width, width * 3 // 4


def _texture(width, height, seed):
    """Smooth coloured noise with stripes: edges everywhere, as a busy background has."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    small = Image.fromarray(rng.integers(0, 255, (48, 64, 3), dtype=np.uint8)).resize((width, height),
                                                                                     Image.Resampling.BICUBIC)
    fine = Image.fromarray(rng.integers(0, 255, (height // 8 + 1, width // 8 + 1), dtype=np.uint8)).resize(
        (width, height), Image.Resampling.NEAREST)
    return Image.blend(small, fine.convert("RGB"), 0.3)


def _face_boxes(paths):
    """``{path: (left, top, right, bottom)}`` of the largest HOG face of each FG-NET photo that has one."""
    from skage.alignment import detect_faces

    boxes = {}
    for path in paths:
        found, _ = detect_faces(path, detector="hog")
        if len(found):
            boxes[path] = found[0]
    return boxes


def _group(background, boxes, chosen, face):
    """Six FG-NET photos pasted on ``background``, each scaled so its face box is ``face`` px."""
    from PIL import Image

    group = background.copy()
    width, height = group.size
    cols = 3
    for i, path in enumerate(chosen):
        left, top, right, bottom = boxes[path]
        scale = face / (right - left)
        img = Image.open(path).convert("RGB")
        img = img.resize((max(1, round(img.width * scale)), max(1, round(img.height * scale))),
                         Image.Resampling.BICUBIC)
        cell_w, cell_h = width // cols, height // 2
        x, y = (i % cols) * cell_w + (cell_w - img.width) // 2, (i // cols) * cell_h + (cell_h - img.height) // 2
        group.paste(img, (x, y))
    return group


def _people(fgnet):
    paths = sorted(str(p) for p in Path(fgnet).glob("*.JPG"))
    boxes = _face_boxes(paths[::97][:12])  # a spread of people and ages
    return boxes, list(boxes)[:6]


def sweep(fgnet, out, sides=(640, 960, 1280, 1600), faces=(60, 80, 100, 120, 160)):
    """Faces found and CPU seconds of YuNet on 12 MP six-face canvases, by working-copy side and face size."""
    from skage.alignment import FaceAligner, _detect

    boxes, chosen = _people(fgnet)
    background = _texture(*canvas_size(12), seed=120)
    paths = {}
    for face in faces:
        paths[face] = str(Path(out) / f"sweep_{face}.jpg")
        _group(background, boxes, chosen, face).save(paths[face], quality=90)
    aligner = FaceAligner(detector="yunet", **CHIPS).fit()
    rows = ["| working side | " + " | ".join(f"{f}-px faces: found, CPU s" for f in faces) + " |",
            "|---" * (len(faces) + 1) + "|"]
    for side in sides:
        _detect.WORKING_SIDE = side
        cells = []
        for face in faces:
            start = time.process_time()
            result = aligner.align_faces(paths[face])
            cells.append(f"{int((result.flags == 'ok').sum())}, {time.process_time() - start:.2f}")
        rows.append(f"| {side} | " + " | ".join(cells) + " |")
        print(rows[-1], flush=True)
    return rows


def build_photos(fgnet, out, sizes):
    """Write the benchmark photos as JPEGs (quality 90) into ``out``; returns ``{name: (path, faces put)}``."""
    from PIL import Image

    boxes, chosen = _people(fgnet)
    written = {}

    def save(name, img, faces):  # one photo in memory at a time: the children's memory is measured
        path = Path(out) / f"{name}.jpg"
        img.save(path, quality=90)
        written[name] = (str(path), faces)

    for mp in sizes:
        width, height = canvas_size(mp)
        tag = f"{mp:g}MP"
        one = Image.open(chosen[0]).convert("RGB").resize((width, height), Image.Resampling.BICUBIC)
        save(f"one_face_{tag}", one, 1)
        background = _texture(width, height, seed=int(mp * 10))
        save(f"no_face_{tag}", background, 0)
        save(f"gray_{tag}", Image.new("RGB", (width, height), (128, 128, 128)), 0)
        save(f"six_faces_{tag}", _group(background, boxes, chosen, max(120, max(width, height) // 32)), 6)
        del background
    return written


def _rss_mb():
    """Peak resident memory of this process so far, MB: VmHWM (``ru_maxrss`` would keep the parent's
    peak across fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def one_photo(path, detector, warm):
    """Child process: align every face of one photo; JSON with seconds, CPU seconds, RSS and faces found."""
    from skage.alignment import FaceAligner

    aligner = FaceAligner(detector=detector, **CHIPS).fit()
    aligner.align_faces(warm)  # loads every model file and warms the detector
    before = _rss_mb()
    wall, cpu = time.perf_counter(), time.process_time()
    result = aligner.align_faces(path)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    faces = int((result.flags == "ok").sum())
    print(json.dumps(dict(s=wall, cpu_s=cpu, rss_before_mb=before, peak_mb=_rss_mb(), faces=faces,
                          stage=str(result.detected_by[0]))))


def run_child(path, detector, warm, timeout):
    cmd = [sys.executable, __file__, "--one", path, detector, warm]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return dict(error=f"over {timeout} s")
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode or not lines:
        return dict(error=(done.stderr.strip().splitlines() or ["?"])[-1][:80])
    return json.loads(lines[-1])


def photo_table(photos, detectors, warm, timeout):
    rows = ["| photo | faces put | detector | s/photo | CPU s | RSS before (MB) | peak RSS (MB) | faces found "
            "| pass |", "|---|---|---|---|---|---|---|---|---|"]
    for name, (path, put) in photos.items():
        for detector in detectors:
            r = run_child(path, detector, warm, timeout)
            if "error" in r:
                rows.append(f"| {name} | {put} | {detector} | {r['error']} | | | | | |")
            else:
                rows.append(f"| {name} | {put} | {detector} | {r['s']:.2f} | {r['cpu_s']:.2f} | "
                            f"{r['rss_before_mb']:.0f} | {r['peak_mb']:.0f} | {r['faces']} | {r['stage']} |")
            print(rows[-1], flush=True)
    return rows


def fgnet_rate(paths, detector):
    from skage.alignment import FaceAligner

    aligner = FaceAligner(detector=detector, **CHIPS).fit()
    start = time.perf_counter()
    result = aligner.align(paths)
    seconds = time.perf_counter() - start
    return float((result.flags == "ok").mean()), len(paths) / seconds


def pretrained_rows(fgnet, n, photos):
    from skage.datasets import load_fgnet
    from skage.pipeline import load_model

    fg = load_fgnet(fgnet)
    X, y = fg.X[:n], fg.y[:n]
    start = time.perf_counter()
    model = load_model("pretrained")
    load_s = time.perf_counter() - start
    start = time.perf_counter()
    pred = np.asarray(model.predict(X), float)
    seconds = time.perf_counter() - start
    found = np.isfinite(pred)
    rows = [f"| load_model('pretrained') | {load_s:.1f} s |",
            f"| FG-NET {len(y)} photos: predict | {seconds:.1f} s, {len(y) / seconds:.1f} photos/s |",
            f"| FG-NET: age given (face found) | {found.mean():.4f} |",
            f"| FG-NET MAE | {np.abs(pred[found] - y[found]).mean():.3f} |"]
    for name, (path, _) in photos.items():
        if name.endswith("12MP"):
            start = time.perf_counter()
            age = float(model.predict([path])[0])
            rows.append(f"| predict {name} | {time.perf_counter() - start:.2f} s (age {age:.1f}) |")
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fgnet", default=str(DATA / "fgnet"))
    parser.add_argument("--quick", action="store_true", help="2 and 12 MP, auto and hog, 200 FG-NET photos")
    parser.add_argument("--detectors", nargs="+", choices=DETECTORS)
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed for one photo's process")
    parser.add_argument("--sweep", action="store_true",
                        help="only YuNet's faces found and CPU time by working-copy side and face size (12 MP)")
    parser.add_argument("--one", nargs=3, metavar=("PHOTO", "DETECTOR", "WARM"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return one_photo(*args.one)
    if not Path(args.fgnet).is_dir():
        sys.exit(f"FG-NET not found at {args.fgnet} (give --fgnet)")
    if args.sweep:
        with tempfile.TemporaryDirectory() as tmp:
            print("\n".join(sweep(args.fgnet, tmp)))
        return
    sizes = (2, 12) if args.quick else SIZES_MP
    detectors = args.detectors or (("auto", "hog") if args.quick else DETECTORS)
    n_fgnet = 200 if args.quick else None
    with tempfile.TemporaryDirectory() as tmp:
        photos = build_photos(args.fgnet, tmp, sizes)
        warm = str(Path(tmp) / "warm.jpg")
        from PIL import Image

        Image.open(photos[f"six_faces_{sizes[0]:g}MP"][0]).resize((320, 240)).save(warm)
        lines = ["## Photos (one process each)", ""] + photo_table(photos, detectors, warm, args.timeout)
        paths = sorted(str(p) for p in Path(args.fgnet).glob("*.JPG"))[:n_fgnet]
        lines += ["", "## FG-NET face found (pretrained chips)", "", "| detector | found | photos/s |", "|---|---|---|"]
        for detector in detectors:
            if detector == "cnn" and n_fgnet is None:
                continue  # minutes on 1,002 photos; run --detectors cnn alone for it
            rate, speed = fgnet_rate(paths, detector)
            lines.append(f"| {detector} | {rate:.4f} of {len(paths)} | {speed:.1f} |")
            print(lines[-1], flush=True)
        lines += ["", "## load_model('pretrained'), end to end", "", "| what | figure |", "|---|---|"]
        lines += pretrained_rows(args.fgnet, n_fgnet, photos)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
