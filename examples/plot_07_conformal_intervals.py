"""
Conformal age intervals and their coverage per age bin
======================================================

:class:`~skage.intervals.ConformalAgeRegressor` wraps any age model so that it also predicts an interval
(``predict_interval(X, alpha=0.1)`` covers the true age 90 % of the time). It keeps part of the training
faces apart for calibration and calibrates each age bin on its own (Mondrian conformal prediction), so
the coverage holds for children and the old as well, not only on average.

**What to look at:** the coverage per age bin, at or above the 90 % line in every bin, children and the
old included. The guarantee is a floor: a face's interval is the hull of the ages every bin's residuals
allow, so with a weak model (HOG + SVR, errors of 5 to 15 years) and about 40 calibration faces per bin
the intervals err wide, above 90 %.
"""

import matplotlib.pyplot as plt
import numpy as np
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from skage.datasets import make_synthetic_faces
from skage.features import HOGFeatures
from skage.intervals import ConformalAgeRegressor
from skage.metrics import age_bin_indices, age_bin_labels

faces = make_synthetic_faces(n_samples=1600, image_size=64, random_state=3)
features = HOGFeatures(n_jobs=2).fit_transform(faces.images)
X_train, y_train, X_test, y_test = features[:1000], faces.y[:1000], features[1000:], faces.y[1000:]

model = ConformalAgeRegressor(make_pipeline(StandardScaler(), SVR(C=30.0, epsilon=1.0)),
                              calibration_size=0.3, random_state=0).fit(X_train, y_train)
low, high = model.predict_interval(X_test, alpha=0.1).T
inside = (low <= y_test) & (y_test <= high)
print(f"coverage {inside.mean():.1%} (asked 90%), median width {np.median(high - low):.1f} years")

# %%
# Coverage and width per true age bin
# -----------------------------------
labels = age_bin_labels()
bins = age_bin_indices(y_test)
present = [b for b in range(len(labels)) if np.any(bins == b)]
coverage = [inside[bins == b].mean() for b in present]
width = [np.median((high - low)[bins == b]) for b in present]
fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.6))
left.bar(range(len(present)), coverage)
left.axhline(0.9, color="red", ls="--", lw=1, label="asked: 90 %")
left.set_xticks(range(len(present)), [labels[b] for b in present], rotation=45)
left.set(ylim=(0, 1), ylabel="share of test faces inside", title="coverage per age bin")
left.legend(loc="lower right")
order = np.argsort(y_test)[::8]
right.vlines(y_test[order], low[order], high[order], alpha=0.5, label="90 % interval")
right.plot([0, 90], [0, 90], color="gray", lw=1)
right.set(xlabel="true age", ylabel="age", title="intervals of every 8th test face")
fig.tight_layout()
plt.show()
