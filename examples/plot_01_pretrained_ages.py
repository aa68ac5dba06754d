"""
Ages out of the box
===================

``load_model("pretrained")`` is dlib's CC0 age network (Cydral) as shipped, nothing to train.
:func:`~skage.pipeline.predict_faces` gives one row per face found, with its box, age and flag.

Here it reads a few FG-NET photos (old, scanned, gray, children) from ``../shared/data/fgnet`` when the
checkout has them, and scikit-image's bundled ``astronaut`` photo otherwise. **What to look at:** the
box around each face and the predicted age beside the true one; FG-NET's people are from 0 to 69 years
old, in photos taken over decades.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from skimage import data as skdata

from skage.io import read_image
from skage.pipeline import load_model, predict_faces

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
DATA = Path(os.environ.get("SKAGE_DATA", HERE.parent.parent / "shared" / "data"))

fgnet = DATA / "fgnet" / "annotations.csv"
if fgnet.exists():
    table = pd.read_csv(fgnet)
    # one photo drawn at random (seeded) per age decade, so children, adults and the old are all shown
    picks = table.groupby(table["age"] // 10).sample(1, random_state=0).head(6)
    inputs = [str(DATA / "fgnet" / name) for name in picks["filename"]]
    true_ages = picks["age"].tolist()
else:
    print(f"{fgnet} not found: using scikit-image's astronaut photo")
    inputs, true_ages = [skdata.astronaut()], [None]

model = load_model("pretrained")
# one call per photo, so each table's rows are that photo's faces (largest first)
tables = [predict_faces(model, [source]) for source in inputs]
print(pd.concat(tables, ignore_index=True)[["input", "face", "box", "age", "flag"]].round(1).to_string())

# %%
# Each photo with its faces boxed
# -------------------------------
# The title gives the true age (FG-NET's annotation) and the predicted age of the largest face.
fig, axes = plt.subplots(1, len(inputs), figsize=(2.6 * len(inputs), 3.2), squeeze=False)
for ax, source, true_age, faces in zip(axes[0], inputs, true_ages, tables):
    ax.imshow(read_image(source))
    ax.set_axis_off()
    for _, face in faces[faces["flag"].eq("ok")].iterrows():
        left, top, right, bottom = map(int, face["box"].split(","))
        ax.add_patch(plt.Rectangle((left, top), right - left, bottom - top, fill=False, color="yellow", lw=2))
        ax.text(left, top - 4, f"{face['age']:.0f}", color="yellow", fontsize=12, weight="bold")
    predicted = faces["age"].iloc[0]
    shown = "no face found" if np.isnan(predicted) else f"predicted {predicted:.0f}"
    ax.set_title(shown if true_age is None else f"true {true_age}, {shown}", fontsize=10)
fig.tight_layout()
plt.show()
