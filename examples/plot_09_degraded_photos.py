"""
Gray and old photos: the same faces, degraded
=============================================

Users' photos are not clean training chips: they are gray, faded, blurred, small, noisy or compressed.
:func:`~skage.augment.degrade_chip` makes each of these damages (the ``degrade`` option of the builders
trains on such copies, :class:`~skage.augment.DegradedCopies`). Here the pretrained CC0 age network
(``load_model("pretrained")``) ages one photo as it is and under each damage alone.

The photo is an FG-NET one from ``../shared/data/fgnet`` when present, scikit-image's bundled
``astronaut`` otherwise. **What to look at:** how far each damage moves the predicted age of the same
face; gray photos are the ones FG-NET is full of.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from skimage import data as skdata

from skage.augment import DEGRADATIONS, degrade_chip
from skage.io import read_image
from skage.pipeline import load_model, predict_faces

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
DATA = Path(os.environ.get("SKAGE_DATA", HERE.parent.parent / "shared" / "data"))

annotations = DATA / "fgnet" / "annotations.csv"
if annotations.exists():
    row = pd.read_csv(annotations).query("age >= 25").iloc[0]
    photo, title = read_image(DATA / "fgnet" / row["filename"]), f"FG-NET {row['filename']}, age {row['age']}"
else:
    photo, title = skdata.astronaut(), "astronaut (scikit-image)"

versions = {"as it is": photo}
for name in ["grayscale", "faded", "low_contrast", "blur", "low_resolution", "noise", "jpeg"]:
    only = {other: 0.0 for other in DEGRADATIONS} | {name: 1.0}
    versions[name] = degrade_chip(photo, np.random.default_rng(0), only)

model = load_model("pretrained")
faces = predict_faces(model, list(versions.values()))
largest = faces.groupby("input", sort=False).head(1).reset_index(drop=True)  # one row per version
print(largest.assign(version=list(versions))[["version", "age", "flag"]].round(1).to_string(index=False))

# %%
# The predicted age under each damage
# -----------------------------------
fig, axes = plt.subplots(2, 4, figsize=(10, 5.6))
for ax, (name, image), (_, face) in zip(axes.flat, versions.items(), largest.iterrows()):
    ax.imshow(image)
    ax.set_axis_off()
    age = "no face found" if np.isnan(face["age"]) else f"age {face['age']:.0f}"
    ax.set_title(f"{name}: {age}", fontsize=10)
fig.suptitle(title)
fig.tight_layout()
plt.show()
