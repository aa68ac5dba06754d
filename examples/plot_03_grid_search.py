"""
Tuning a pipeline with GridSearchCV
===================================

A skage model is a scikit-learn pipeline, so :class:`~sklearn.model_selection.GridSearchCV` tunes any of
its steps' parameters by name (``step__parameter``). The score is CMAE (the mean of the per-age-bin
MAEs, :func:`~skage.metrics.get_age_scorer`), which does not reward a model for being good only on the
ages most faces have.

**What to look at:** the heatmap of cross-validated CMAE over the HOG cell size and the SVR's ``C``; the
best cell is the one the search picked.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.model_selection import GridSearchCV, KFold

from skage.datasets import make_synthetic_faces
from skage.features import make_hog_svr
from skage.metrics import get_age_scorer

faces = make_synthetic_faces(n_samples=300, image_size=64, random_state=1)
grid = {"features__pixels_per_cell": [8, 16], "regressor__C": [3.0, 30.0, 100.0]}
search = GridSearchCV(make_hog_svr(), grid, scoring=get_age_scorer("neg_cmae"),
                      cv=KFold(3, shuffle=True, random_state=0), n_jobs=2)
search.fit(faces.images, faces.y)
print("best:", search.best_params_, f"CMAE {-search.best_score_:.2f}")

# %%
# Cross-validated CMAE per setting
# --------------------------------
results = pd.DataFrame(search.cv_results_["params"]).assign(cmae=-search.cv_results_["mean_test_score"])
table = results.pivot(index="features__pixels_per_cell", columns="regressor__C", values="cmae")
fig, ax = plt.subplots(figsize=(5, 3.2))
image = ax.imshow(table.values, cmap="viridis_r")
ax.set_xticks(range(table.shape[1]), [f"C={c:g}" for c in table.columns])
ax.set_yticks(range(table.shape[0]), [f"{p} px cells" for p in table.index])
for (i, j), value in np.ndenumerate(table.values):
    dark = value > table.values.mean()  # viridis_r is dark at high values
    ax.text(j, i, f"{value:.1f}", ha="center", va="center", color="white" if dark else "black")
fig.colorbar(image, label="CMAE (years, lower is better)")
ax.set_title("HOG + SVR, 3-fold CMAE")
fig.tight_layout()
plt.show()
