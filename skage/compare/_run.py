"""The ablation table: baselines and each pipeline stage switched on in turn, on one split."""

import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.utils import _safe_indexing

from ..metrics import age_report, shot_mae
from ._split import split_indices

#: Row keys in table order, with their titles.
ROW_TITLES = {
    "lbp_svr": "LBP+SVR",
    "hog_svr": "HOG+SVR",
    "hog_tree": "HOG+tree",
    "knn_hog": "KNN-only (HOG)",
    "cnn_only": "CNN-only",
    "knn_only": "KNN-only (CNN embeddings)",
    "balanced": "+balanced",
    "cb_loss": "+class-balanced loss",
    "attention": "+parsing attention",
    "knn_loss": "+KNN loss",
    "full": "+KNN = full",
    "dlib_full": "full, dlib backbone",
    "descriptor_svr": "descriptor+SVR",
    "descriptor_balanced": "+balanced (descriptor)",
    "descriptor_full": "+KNN = descriptor full",
    "ensemble": "ensemble: dlib network + descriptor",
}
DEFAULT_ROWS = ("lbp_svr", "hog_svr", "cnn_only", "knn_only", "balanced", "cb_loss", "attention", "knn_loss",
                "full")

#: Deep rows: ``make_age_pipeline`` switches and ``AgeNet`` parameters. Each row adds one thing to
#: the row before it. CNN-only keeps the Gaussian-label cross-entropy with equal weights
#: (``cb_beta=0``) rather than dropping it (``lambda_cb=0``): it is the loss the bare reference
#: trains with, and "+class-balanced loss" then changes the weights alone.
DEEP_ROWS = {
    "cnn_only": (dict(balance=False, attention=False, knn=False), dict(cb_beta=0.0, gamma_knn=0.0)),
    "balanced": (dict(balance=True, attention=False, knn=False), dict(cb_beta=0.0, gamma_knn=0.0)),
    "cb_loss": (dict(balance=True, attention=False, knn=False), dict(gamma_knn=0.0)),
    "attention": (dict(balance=True, attention=True, knn=False), dict(gamma_knn=0.0)),
    "knn_loss": (dict(balance=True, attention=True, knn=False), {}),
    # Hook for the pretrained dlib face-recognition backbone; built only where skage.nn offers it.
    "dlib_full": (dict(balance=True, attention=True, knn=False), dict(backbone="dlib_resnet")),
}

#: Descriptor rows: ``make_age_pipeline(model="descriptor")`` switches, each adding one stage.
#: Pass ``memory`` in ``pipeline_params`` so that the three rows align and describe each face once.
DESCRIPTOR_ROWS = {
    "descriptor_svr": dict(balance=False, knn=False),
    "descriptor_balanced": dict(balance=True, knn=False),
    "descriptor_full": dict(balance=True, knn=True),
}

#: The ``make_age_pipeline`` options the descriptor rows take from ``pipeline_params``.
_DESCRIPTOR_OPTIONS = ("detector", "equalize", "bin_weights", "device", "random_state", "memory", "progress")

#: Rows that put KNN refinement on another row's trained network, frozen: row -> (base row,
#: KNNAgeRefiner parameters). Fitting them only builds the neighbour index, so they differ from
#: their base row by the refinement alone. KNN-only searches the CNN-only net's embeddings and
#: uses the neighbours' age alone (``blend=1``).
REFINED_ROWS = {
    "knn_only": ("cnn_only", dict(blend=1.0)),
    "full": ("knn_loss", {}),
    "dlib_full": ("dlib_full", {}),
}


#: The options of the ensemble row that pipeline_params cannot change: its chips are dlib's, its
#: network is fine-tuned from dlib's face ResNet.
_ENSEMBLE_FIXED = ("model", "image_size", "align")


def _backbone_available(name):
    from ..nn import _module

    return name in getattr(_module, "BACKBONES", ())


def available_rows():
    """Row keys this installation can build (the dlib backbone row only where ``skage.nn`` has it).

    Examples
    --------
    >>> from skage.compare import available_rows
    >>> available_rows()[:4]
    ['lbp_svr', 'hog_svr', 'hog_tree', 'knn_hog']
    """
    return [row for row in ROW_TITLES if row not in ("dlib_full", "ensemble") or _backbone_available("dlib_resnet")]


def deep_row_params(row, pipeline_params=None):
    """``make_age_pipeline`` keyword arguments of a deep row (its network unwrapped, ``knn=False``).

    The pipeline hands its resampler's bin counts (the training ages before
    resampling) to the network at fit, so the class-balanced weights of the
    rows that resample are those of the distribution the resampler balances,
    as in any other use of the pipeline (:class:`skage.pipeline.AgePipeline`).

    Parameters
    ----------
    row : str
        A key of :data:`DEEP_ROWS`.
    pipeline_params : dict, optional
        Shared options (image size, epochs, device, ``net_params`` ...); the
        row's own switches and network parameters win.

    Returns
    -------
    params : dict

    Examples
    --------
    >>> from skage.compare import deep_row_params
    >>> params = deep_row_params("cb_loss", {"image_size": 64, "net_params": {"max_epochs": 2}})
    >>> params["image_size"], params["balance"], params["attention"], params["net_params"]
    (64, True, False, {'max_epochs': 2, 'gamma_knn': 0.0})
    """
    switches, net = DEEP_ROWS[row]
    params = dict(pipeline_params or {})
    net_params = {**(params.pop("net_params", None) or {}), **net}
    # the deep rows are the paper's network, whatever make_age_pipeline's default
    return {**params, **switches, "net_params": net_params, "model": "resnet"}


def make_row_estimator(row, pipeline_params=None, n_jobs=None):
    """An unfitted estimator for one row of the table.

    A refined row (:data:`REFINED_ROWS`) built on its own trains its base
    row's network inside the refiner; :func:`run_comparison` instead reuses
    the base row's trained network.

    Examples
    --------
    >>> from skage.compare import make_row_estimator
    >>> [name for name, _ in make_row_estimator("hog_svr").steps]
    ['features', 'scale', 'regressor']
    >>> type(make_row_estimator("knn_only", {"image_size": 64}).steps[-1][1]).__name__
    'KNNAgeRefiner'
    """
    from .. import features

    if row == "lbp_svr":
        return features.make_lbp_svr(n_jobs=n_jobs)
    if row == "hog_svr":
        return features.make_hog_svr(n_jobs=n_jobs)
    if row == "hog_tree":
        return features.make_hog_tree(n_jobs=n_jobs)
    if row == "knn_hog":
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        from ..refine import KNNAgeRefiner

        return make_pipeline(features.HOGFeatures(n_jobs=n_jobs), StandardScaler(),
                             KNNAgeRefiner(estimator=None, n_neighbors=10, metric="euclidean"))
    if row in DESCRIPTOR_ROWS:
        from ..pipeline import make_age_pipeline

        options = {k: v for k, v in (pipeline_params or {}).items() if k in _DESCRIPTOR_OPTIONS}
        return make_age_pipeline(model="descriptor", n_jobs=n_jobs, **options, **DESCRIPTOR_ROWS[row])
    if row in ("dlib_full", "ensemble") and not _backbone_available("dlib_resnet"):
        raise ValueError(f"row {row!r} needs AgeNet(backbone='dlib_resnet'), which this skage.nn does not offer")
    if row == "ensemble":
        from ..pipeline import make_age_pipeline

        params = {k: v for k, v in (pipeline_params or {}).items() if k not in _ENSEMBLE_FIXED}
        net_params = {k: v for k, v in (params.pop("net_params", None) or {}).items() if k != "backbone"}
        params.setdefault("n_jobs", n_jobs)
        return make_age_pipeline(model="ensemble", **params, net_params=net_params)
    if row in DEEP_ROWS or row in REFINED_ROWS:
        from ..pipeline import make_age_pipeline

        base, refiner_params = REFINED_ROWS.get(row, (row, None))
        pipe = make_age_pipeline(**deep_row_params(base, pipeline_params))
        if refiner_params is not None:
            from ..refine import KNNAgeRefiner

            pipe.steps[-1] = ("model", KNNAgeRefiner(estimator=pipe.steps[-1][1], **refiner_params))
        return pipe
    raise ValueError(f"unknown comparison row {row!r}; choose from {list(ROW_TITLES)}")


def refine_fitted(fitted_pipeline, **refiner_params):
    """A pipeline that adds KNN refinement to a fitted pipeline's network, frozen.

    The net is wrapped in :class:`sklearn.frozen.FrozenEstimator` (fitting the
    new pipeline only builds the neighbour index), so the result differs from
    ``fitted_pipeline`` by the refinement alone.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.linear_model import Ridge
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skage.compare import refine_fitted
    >>> X, y = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.9, 1.1]]), np.array([10.0, 60.0, 30.0, 34.0])
    >>> base = make_pipeline(StandardScaler(), Ridge()).fit(X, y)
    >>> refined = refine_fitted(base, n_neighbors=2, metric="euclidean").fit(X, y)  # Ridge is not refitted
    >>> base.predict([[1.0, 1.05]]).round(1).tolist(), refined.predict([[1.0, 1.05]]).round(1).tolist()
    ([33.3], [32.3])
    """
    from sklearn.base import clone
    from sklearn.frozen import FrozenEstimator

    from ..refine import KNNAgeRefiner

    name, net = fitted_pipeline.steps[-1]
    pipe = clone(fitted_pipeline)
    pipe.steps[-1] = (name, KNNAgeRefiner(estimator=FrozenEstimator(net), **refiner_params))
    return pipe


def _device_of(estimator):
    from ..pipeline import fitted_model

    model = fitted_model(estimator)
    device = getattr(model, "device_", None) or getattr(model, "device", None)
    return device if isinstance(device, str) and device != "auto" else "cpu"


def run_comparison(X, y, metadata=None, rows=DEFAULT_ROWS, split="random", test_size=0.3, random_state=0,
                   pipeline_params=None, n_jobs=None, out_dir=None, log=print, return_models=False):
    """Fit and score every row on one seeded split.

    Parameters
    ----------
    X : array-like of image paths, or uint8 images (N, H, W, 3)
    y : array-like of ages
    metadata : DataFrame, optional
        ``gender``, ``race`` (group gaps) and ``subject_id`` (person split).
    rows : sequence of str
        Keys of :data:`ROW_TITLES`.
    split : {"random", "stratified", "person"}
    test_size : float
    random_state : int
        Seed of the split (and of the models through ``pipeline_params``).
    pipeline_params : dict, optional
        Keyword arguments of :func:`skage.pipeline.make_age_pipeline` for the
        deep rows (image size, epochs, device, ...).
    n_jobs : int, optional
        Parallel feature extraction in the handcrafted baselines.
    out_dir : path, optional
        Writes ``results.md``, ``results.csv`` and ``per_bin_mae.png`` there.
    log : callable
        Receives progress lines; ``None`` for silence.
    return_models : bool, default=False
        Also return the fitted estimators, keyed by row.

    Returns
    -------
    table : DataFrame, one row per model
    models : dict of str to estimator
        Only with ``return_models=True``.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.compare import run_comparison
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.integers(0, 256, size=(20, 32, 32, 3), dtype=np.uint8), rng.uniform(1, 80, 20)
    >>> table = run_comparison(X, y, rows=("hog_tree",), log=None)
    >>> table[["model", "n"]].to_dict("records")
    [{'model': 'HOG+tree', 'n': 6}]
    """
    log = log or (lambda *a, **k: None)
    unknown = [row for row in rows if row not in ROW_TITLES]
    if unknown:  # before any fitting: a typo must not cost the rows ahead of it
        raise ValueError(f"unknown comparison row(s) {unknown}; choose from {list(ROW_TITLES)}")
    y = np.asarray(y, dtype=float)
    metadata = pd.DataFrame(index=range(len(y))) if metadata is None else metadata.reset_index(drop=True)
    subject_ids = metadata["subject_id"] if "subject_id" in metadata else None
    train, test = split_indices(y, split, test_size, random_state, subject_ids)
    log(f"split={split} seed={random_state}: {len(train)} train / {len(test)} test")
    groups = {g: metadata[g].to_numpy()[test] for g in ("gender", "race")
              if g in metadata and metadata[g].notna().any()}
    X_train, X_test = _safe_indexing(X, train), _safe_indexing(X, test)
    records, predictions, fitted = [], {}, {}
    for row in rows:
        base, refiner_params = REFINED_ROWS.get(row, (None, None))
        if base in fitted and base != row:
            model = refine_fitted(fitted[base], **refiner_params)
        else:
            model = make_row_estimator(row, pipeline_params, n_jobs)
        log(f"[{ROW_TITLES[row]}] fitting on {len(train)} faces ...")
        t0 = time.perf_counter()
        model.fit(X_train, y[train])
        fit_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        y_pred = np.asarray(model.predict(X_test), dtype=float)
        pred_s = time.perf_counter() - t0
        fitted[row], predictions[ROW_TITLES[row]] = model, y_pred
        report = age_report(y[test], y_pred, groups=groups or None)
        shots = shot_mae(y[test], y_pred, y[train])
        record = {"model": ROW_TITLES[row], **report.to_dict(),
                  "dir_many": shots["many"], "dir_medium": shots["medium"], "dir_few": shots["few"],
                  "fit_s": fit_s, "predict_img_s": len(test) / max(pred_s, 1e-9), "device": _device_of(model)}
        records.append(record)
        log(f"[{ROW_TITLES[row]}] MAE {report.mae:.2f} CMAE {report.cmae:.2f} Acc@5 {100 * report.acc:.1f}% "
            f"bias {report.bias:.2f} (fit {fit_s:.0f} s)")
    table = pd.DataFrame.from_records(records)
    if out_dir is not None:
        write_comparison(table, out_dir, y[test], predictions,
                         header=f"split={split}, seed={random_state}, {len(train)} train / {len(test)} test")
    return (table, fitted) if return_models else table


def comparison_markdown(table, header=""):
    """The table as Markdown, numbers rounded for reading.

    Examples
    --------
    >>> import pandas as pd
    >>> from skage.compare import comparison_markdown
    >>> print(comparison_markdown(pd.DataFrame({"model": ["HOG+SVR"], "mae": [9.876], "acc@5": [0.25]})))
    | model | mae | acc@5 |
    |---|---|---|
    | HOG+SVR | 9.88 | 25.0% |
    <BLANKLINE>
    """
    shown = table.copy()
    for col in shown.columns:
        if col.startswith("acc@"):
            shown[col] = (100 * shown[col]).map("{:.1f}%".format)
        elif shown[col].dtype.kind == "f":
            shown[col] = shown[col].map(lambda v: "" if pd.isna(v) else f"{v:.2f}")
    lines = [header, ""] if header else []
    lines.append("| " + " | ".join(shown.columns) + " |")
    lines.append("|" + "---|" * len(shown.columns))
    lines += ["| " + " | ".join(str(v) for v in r) + " |" for r in shown.itertuples(index=False)]
    return "\n".join(lines) + "\n"


#: Files :func:`write_comparison` writes, by the keys of the paths it returns.
COMPARISON_FILES = {"csv": "results.csv", "markdown": "results.md", "per_bin_png": "per_bin_mae.png"}


def write_comparison(table, out_dir, y_test, predictions, header=""):
    """Write results.md, results.csv and per_bin_mae.png into ``out_dir``, each whole or not at all
    (:func:`skage.io.atomic_write`); returns the paths.

    Examples
    --------
    >>> import tempfile
    >>> import pandas as pd
    >>> from skage.compare import write_comparison
    >>> table = pd.DataFrame({"model": ["HOG+SVR"], "mae": [1.0]})
    >>> with tempfile.TemporaryDirectory() as out:
    ...     paths = write_comparison(table, out, [20.0, 40.0], {"HOG+SVR": [21.0, 39.0]})
    ...     print(sorted(path.name for path in paths.values()), paths["markdown"].read_text().splitlines()[2])
    ['per_bin_mae.png', 'results.csv', 'results.md'] | HOG+SVR | 1.00 |
    """
    from ..io import atomic_write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {key: out / name for key, name in COMPARISON_FILES.items()}
    with atomic_write(paths["csv"], newline="") as f:
        table.to_csv(f, index=False)
    with atomic_write(paths["markdown"]) as f:
        f.write(comparison_markdown(table, header))
    from ..viz import plot_per_bin_mae

    plot_per_bin_mae(y_test, predictions, path=paths["per_bin_png"])
    return paths
