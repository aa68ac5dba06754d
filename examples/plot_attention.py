"""Attention heatmaps and Grad-CAM of a tiny AgeNet trained on synthetic faces.

No real faces needed: each synthetic chip is a cartoon face whose "age"
shows in grey hair and forehead wrinkles, with four region masks (skin,
eyes, mouth, hair) in the channels after RGB, as FaceParser would add them.
A ResNet-18 AgeNet with parsing attention trains for a few epochs on the
CPU, then two PNG files are written:

* ``attention_grid.png``: parsing-attention maps over faces, one column per age group;
* ``grad_cam.png``: Grad-CAM of the predicted age.

Run::

    python examples/plot_attention.py --out /tmp/skage_attention

A few epochs on synthetic data do not make a good age model; the point is
to show the plots and the API. Train on parsed UTKFace chips for real maps.
"""

import argparse
from pathlib import Path

import numpy as np

from skage.nn import AgeNet
from skage.viz import plot_attention_grid, plot_grad_cam


def _ellipse(h, w, cy, cx, ry, rx):
    yy, xx = np.mgrid[:h, :w]
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1


def synthetic_faces(n, size=64, seed=0):
    """Cartoon faces ``(n, size, size, 3 + 4)`` uint8 and their ages."""
    rng = np.random.default_rng(seed)
    ages = rng.uniform(1, 90, size=n)
    X = np.zeros((n, size, size, 7), dtype=np.uint8)
    s = size / 64
    for i, age in enumerate(ages):
        cx, cy = size / 2 + rng.normal(0, 2 * s), size / 2 + rng.normal(0, 2 * s)
        skin = _ellipse(size, size, cy + 4 * s, cx, 22 * s, 17 * s)
        hair = _ellipse(size, size, cy - 12 * s, cx, 12 * s, 19 * s) & ~_ellipse(size, size, cy, cx, 18 * s, 15 * s)
        eyes = _ellipse(size, size, cy, cx - 7 * s, 2.5 * s, 4 * s) | _ellipse(size, size, cy, cx + 7 * s, 2.5 * s, 4 * s)
        mouth = _ellipse(size, size, cy + 14 * s, cx, 2.5 * s, 7 * s)
        image = np.full((size, size, 3), rng.integers(30, 90), dtype=float)
        image[skin] = rng.uniform(150, 230) * np.array([1.0, 0.8, 0.65])
        grey = np.clip((age - 30) / 50, 0, 1)  # hair turns grey after 30
        image[hair] = (1 - grey) * np.array([70, 45, 25]) + grey * np.array([215, 215, 215])
        image[eyes] = 30
        image[mouth] = np.array([170, 60, 60])
        for k in range(int(age // 15)):  # one forehead wrinkle per 15 years
            row = int(cy - 9 * s + 2.2 * k * s)
            image[row, int(cx - 9 * s):int(cx + 9 * s)] *= 0.6
        image += rng.normal(0, 6, size=image.shape)
        X[i, :, :, :3] = np.clip(image, 0, 255).astype(np.uint8)
        for channel, mask in enumerate((skin & ~eyes & ~mouth, eyes, mouth, hair)):
            X[i, :, :, 3 + channel] = mask * 255
    return X, ages


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("attention_plots"), help="output folder")
    parser.add_argument("--n", type=int, default=96, help="synthetic training faces")
    parser.add_argument("--epochs", type=int, default=4)
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)

    X, ages = synthetic_faces(args.n)
    net = AgeNet(backbone="resnet18", max_epochs=args.epochs, batch_size=16, lr=1e-3, random_state=0, verbose=1)
    net.fit(X, ages)

    X_show, ages_show = synthetic_faces(48, seed=1)
    grid, cam = args.out / "attention_grid.png", args.out / "grad_cam.png"
    plot_attention_grid(net, X_show, ages_show, path=grid, per_bin=2)
    # layer3 (4x4 at 64 px) rather than layer4 (2x2): tiny chips need the finer map.
    plot_grad_cam(net, X_show[:8], ages_show[:8], path=cam, layer="layer3")
    print(f"wrote {grid} and {cam}")


if __name__ == "__main__":
    main()
