"""
Baselines compared
==================

The hand-crafted baselines (LBP + SVR, HOG + SVR, HOG + tree) against predicting the mean age, on the
same seeded split, scored by MAE, CMAE, Acc@5 and the bias score (:func:`~skage.metrics.age_report`).
With UTKFace chips in ``../shared/data/utkface`` it also fits the ``descriptor`` model (dlib's face
descriptors under an SVR, :func:`~skage.pipeline.make_descriptor_pipeline`) and scores the pretrained CC0
age network (``load_model("pretrained")``, no training) on the same 120 test chips; on the synthetic
cartoon faces these two are left out (they detect and describe real faces).

400 chips are few: the measured figures of every model on the whole of UTKFace and FG-NET are in
:doc:`/results` (``skage benchmark``). **What to look at:** how far each model is below the mean-age line, and that CMAE
and bias rank models differently from MAE.
"""

import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.dummy import DummyRegressor
from sklearn.model_selection import train_test_split

from skage.datasets import load_utkface, make_synthetic_faces
from skage.features import make_hog_svr, make_hog_tree, make_lbp_svr
from skage.metrics import age_report
from skage.pipeline import load_model, make_descriptor_pipeline

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
DATA = Path(os.environ.get("SKAGE_DATA", HERE.parent.parent / "shared" / "data"))

models = {"mean age": DummyRegressor(), "LBP + SVR": make_lbp_svr(n_jobs=2),
          "HOG + SVR": make_hog_svr(n_jobs=2), "HOG + tree": make_hog_tree(random_state=0, n_jobs=2)}
if (DATA / "utkface").is_dir():
    chips = load_utkface(DATA / "utkface")
    keep = np.random.default_rng(0).permutation(len(chips.y))[:400]
    X, y, source = chips.X[keep], chips.y[keep], "400 UTKFace chips"
    # chips are photos: dlib's face descriptors under an SVR, and the CC0 age network as shipped
    models["descriptor"] = make_descriptor_pipeline(random_state=0, n_jobs=2)
    models["pretrained (no training)"] = None
else:
    faces = make_synthetic_faces(n_samples=400, image_size=64, random_state=0)
    X, y, source = faces.images, faces.y, "400 synthetic faces"

X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0)
rows = []
for name, model in models.items():
    fitted = load_model("pretrained") if model is None else model.fit(X_train, y_train)
    report = age_report(y_test, fitted.predict(X_test))
    rows.append({"model": name, "MAE": report.mae, "CMAE": report.cmae, "Acc@5 %": 100 * report.acc,
                 "bias": report.bias})
table = pd.DataFrame(rows).set_index("model")
print(f"{source}: {len(y_train)} training, {len(y_test)} test")
print(table.round(2).to_string())

# %%
# The comparison as a plot
# ------------------------
ax = table[["MAE", "CMAE", "bias"]].plot.barh(figsize=(7, 3.8), width=0.8)
ax.axvline(table.loc["mean age", "MAE"], color="gray", ls="--", lw=1, label="MAE of the mean age")
ax.invert_yaxis()
ax.set(xlabel="years (lower is better)", title=f"baselines on {source}")
ax.legend(loc="lower right", fontsize=8)
plt.tight_layout()
plt.show()
