"""
Scaling with dask
=================

Every parallel stage of skage and scikit-learn's searches go through joblib, so a
``joblib.parallel_config(backend="dask")`` block sends the work to a dask cluster without changing the
code (``pip install "skage[cluster]"``; :doc:`/scaling` covers real clusters and multi-GPU training).

The cluster here is a tiny in-process one (``LocalCluster(processes=False)``, two threads): it shows the
API, not what a cluster of many machines gains. **What to look at:** the same search picks the same
setting on both backends; the times are those of the machine that built this page, and on a search this
small they mostly measure start-up (joblib's default backend starts worker processes, the in-process
cluster's threads are already there).
"""

import time

import joblib
import matplotlib.pyplot as plt
from dask.distributed import Client, LocalCluster
from sklearn.model_selection import GridSearchCV, KFold

from skage.datasets import make_synthetic_faces
from skage.features import make_hog_svr
from skage.metrics import get_age_scorer

faces = make_synthetic_faces(n_samples=240, image_size=64, random_state=5)


def search():
    grid = GridSearchCV(make_hog_svr(), {"regressor__C": [3.0, 30.0]}, scoring=get_age_scorer("neg_cmae"),
                        cv=KFold(2, shuffle=True, random_state=0), n_jobs=-1)
    return grid.fit(faces.images, faces.y)


timings = {}
start = time.perf_counter()
local = search()
timings["joblib (local)"] = time.perf_counter() - start

with LocalCluster(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as cluster, \
        Client(cluster) as client:
    start = time.perf_counter()
    with joblib.parallel_config(backend="dask"):
        on_dask = search()
    timings["dask (in-process cluster)"] = time.perf_counter() - start

print("best C, local:", local.best_params_, " on dask:", on_dask.best_params_)
for name, seconds in timings.items():
    print(f"{name}: {seconds:.1f} s")

# %%
# Time of the same search on each backend
# ---------------------------------------
fig, ax = plt.subplots(figsize=(5.5, 2.4))
ax.barh(list(timings), list(timings.values()))
ax.set(xlabel="seconds", title="GridSearchCV, 2 settings x 2 folds")
fig.tight_layout()
plt.show()
