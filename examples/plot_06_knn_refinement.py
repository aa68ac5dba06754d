"""
KNN refinement
==============

:class:`~skage.refine.KNNAgeRefiner` blends a model's age with the distance-weighted age of the nearest
training faces: ``(1 - blend) * model + blend * knn``. With ``uncertainty_threshold`` it only steps in
where the model is unsure. In skage's pipelines it is the last step (``knn=True``).

Here the model is an SVR on HOG features of synthetic faces and the neighbours are searched in the same
HOG space. **What to look at:** the test MAE as ``blend`` goes from 0 (the SVR alone) to 1 (the
neighbours alone); the best blend lies in between when the two make different mistakes.
"""

import matplotlib.pyplot as plt
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from skage.datasets import make_synthetic_faces
from skage.features import HOGFeatures
from skage.metrics import age_report
from skage.refine import KNNAgeRefiner

faces = make_synthetic_faces(n_samples=900, image_size=64, random_state=2)
features = HOGFeatures(n_jobs=2).fit_transform(faces.images)
X_train, y_train, X_test, y_test = features[:700], faces.y[:700], features[700:], faces.y[700:]

blends = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
maes = []
for blend in blends:
    refiner = KNNAgeRefiner(make_pipeline(StandardScaler(), SVR(C=30.0, epsilon=1.0)), n_neighbors=10,
                            blend=blend, metric="cosine", embedding="input", random_state=0)
    maes.append(age_report(y_test, refiner.fit(X_train, y_train).predict(X_test)).mae)
    print(f"blend {blend:.1f}: MAE {maes[-1]:.2f}")

# %%
# Test MAE against the blend
# --------------------------
fig, ax = plt.subplots(figsize=(5.5, 3.5))
ax.plot(blends, maes, marker="o")
ax.set(xlabel="blend (0 = SVR alone, 1 = neighbours alone)", ylabel="test MAE (years)",
       title="KNNAgeRefiner over HOG + SVR")
fig.tight_layout()
plt.show()
