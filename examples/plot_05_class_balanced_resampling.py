"""
Class-balanced resampling and the per-bin error
===============================================

Most face sets have far more young adults than children or old people, and a model fitted on them is
worst where faces are fewest. :class:`~skage.sampling.AgeBinResampler` is an imbalanced-learn sampler:
inside an :class:`imblearn.pipeline.Pipeline` it evens out the age bins at ``fit`` only (prediction is
untouched).

Here the training faces are drawn skewed towards 20-40 years on purpose; the test faces are uniform over
ages. The model is a strongly regularised SVR (``C=3``) on HOG features, which pulls rare ages toward the
crowded middle. **What to look at:** the per-bin MAE before and after resampling: the rare bins
(children, the old) improve most, CMAE (the mean over bins) and bias drop, and the crowded bins pay a
little.
"""

import matplotlib.pyplot as plt
import numpy as np
from imblearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVR

from skage.datasets import make_synthetic_faces
from skage.features import HOGFeatures
from skage.metrics import age_bin_counts, age_bin_labels, age_report, per_bin_mae
from skage.sampling import AgeBinResampler

faces = make_synthetic_faces(n_samples=1400, image_size=64, random_state=0)
features = HOGFeatures(n_jobs=2).fit_transform(faces.images)  # computed once for both models
rng = np.random.default_rng(0)
test = np.arange(1000, 1400)
# keep every face aged 20-40 of the first 1,000 but only one in six of the others
pool = np.arange(1000)
train = pool[(faces.y[pool] >= 20) & (faces.y[pool] < 40) | (rng.random(1000) < 1 / 6)]
print("training faces per age bin:", dict(zip(age_bin_labels(), age_bin_counts(faces.y[train]).tolist())))

# the same model with and without the sampler in front (it acts in fit only)
plain = make_pipeline(StandardScaler(), SVR(C=3.0, epsilon=1.0))
balanced = make_pipeline(AgeBinResampler(random_state=0), StandardScaler(), SVR(C=3.0, epsilon=1.0))
errors = {}
for name, model in {"as drawn": plain, "AgeBinResampler": balanced}.items():
    predicted = model.fit(features[train], faces.y[train]).predict(features[test])
    report = age_report(faces.y[test], predicted)
    print(f"{name:>16}: MAE {report.mae:.2f}  CMAE {report.cmae:.2f}  bias {report.bias:.2f}")
    errors[name] = per_bin_mae(faces.y[test], predicted)["mae"].to_numpy()

# %%
# Per-bin MAE before and after
# ----------------------------
labels = age_bin_labels()
positions = np.arange(len(labels))
fig, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5), sharex=True, height_ratios=[1, 2])
top.bar(positions, age_bin_counts(faces.y[train]), color="gray")
top.set_ylabel("training faces")
for shift, (name, per_bin) in zip([-0.2, 0.2], errors.items()):
    bottom.bar(positions + shift, per_bin, width=0.4, label=name)
bottom.set_xticks(positions, labels, rotation=45)
bottom.set(xlabel="age bin", ylabel="MAE (years)")
bottom.legend()
fig.tight_layout()
plt.show()
