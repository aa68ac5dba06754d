"""
Fairness audit
==============

:func:`~skage.metrics.fairness_audit` splits the age error by every combination of group features
(gender, race) and age bin, with bootstrap intervals, and flags the groups too small to judge.
:func:`~skage.viz.plot_audit_heatmap` draws it. ``skage audit`` does the same from the command line.

The faces are synthetic (their gender and race change hair, beard and skin tone, not age cues); the
predictions are out-of-fold ones of the HOG + SVR baseline. **What to look at:** which cells of the
group × age-bin heatmap are darker (larger error), and whether a group's gap survives comparing it at the
same ages (the age-standardised gaps printed below). Hatched cells hold fewer than ``min_n`` faces: the
audit makes no claim about them.
"""

from sklearn.model_selection import KFold, cross_val_predict

from skage.datasets import make_synthetic_faces
from skage.features import make_hog_svr
from skage.metrics import fairness_audit
from skage.viz import plot_audit_heatmap

faces = make_synthetic_faces(n_samples=1500, image_size=64, random_state=4)
predicted = cross_val_predict(make_hog_svr(n_jobs=2), faces.images, faces.y,
                              cv=KFold(4, shuffle=True, random_state=0))
audit = fairness_audit(faces.y, predicted, faces.metadata[["gender", "race"]], min_n=30, n_boot=100)
print(audit.gaps.round(2).to_string())

# %%
# The audit heatmap
# -----------------
# skage's plots return their Figure (pyplot does not hold it); the gallery shows it from ``fig``
fig = plot_audit_heatmap(audit)
