"""
Fit, predict, save and load
===========================

Every skage model is a scikit-learn estimator: ``fit`` on faces and ages, ``predict`` ages.
:func:`~skage.pipeline.save_model` writes it as data (skops + safetensors, checksummed), not as a pickle,
and :func:`~skage.pipeline.load_model` reads it back in a later session.

The faces are cartoon faces drawn in code by :func:`~skage.datasets.make_synthetic_faces`: their age
shows in proportions, wrinkles and grey hair. The model is the HOG + SVR baseline, which fits in seconds.
**What to look at:** the predicted ages against the true ones, and the reloaded model predicting exactly
what the fitted one did.
"""

import tempfile
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from skage.datasets import make_synthetic_faces
from skage.features import make_hog_svr
from skage.metrics import age_report
from skage.pipeline import load_model, save_model

faces = make_synthetic_faces(n_samples=400, image_size=64, random_state=0)
X_train, y_train, X_test, y_test = faces.images[:300], faces.y[:300], faces.images[300:], faces.y[300:]

model = make_hog_svr().fit(X_train, y_train)
predicted = model.predict(X_test)
print(age_report(y_test, predicted))

# %%
# Save, then load in a "later session"
# ------------------------------------
with tempfile.TemporaryDirectory() as folder:
    path = Path(folder) / "age.skage"
    save_model(model, path, note="HOG + SVR on synthetic faces")
    reloaded, info = load_model(path, return_info=True)
    print(f"{path.name}: {path.stat().st_size / 1e6:.2f} MB, saved by skage {info['skage_version']}")
    assert np.array_equal(reloaded.predict(X_test), predicted)
    print("the reloaded model predicts exactly what the fitted one did")

# %%
# A few test faces with their ages
# --------------------------------
fig, axes = plt.subplots(2, 6, figsize=(9, 3.6))
for ax, image, true, pred in zip(axes.flat, X_test, y_test, predicted):
    ax.imshow(image)
    ax.set_title(f"{true:.0f} → {pred:.0f}", fontsize=10)
    ax.set_axis_off()
fig.suptitle("true age → predicted age (HOG + SVR)")
fig.tight_layout()

fig, ax = plt.subplots(figsize=(4.5, 4.5))
ax.scatter(y_test, predicted, s=12, alpha=0.7)
ax.plot([0, 90], [0, 90], color="gray", lw=1)
ax.set(xlabel="true age", ylabel="predicted age", title="100 test faces")
plt.show()
