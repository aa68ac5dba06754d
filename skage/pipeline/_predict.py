"""``predict_faces``: one row per face of every input photo, errors included, produced as photos finish."""

import collections
import collections.abc
import itertools
from concurrent.futures.process import BrokenProcessPool
from numbers import Integral

import numpy as np

#: Columns of the table :func:`predict_faces` returns.
COLUMNS = ("input", "face", "box", "age", "flag", "detected_by", "error")

#: Photos in flight per worker process: enough to keep each one busy, few enough that memory stays bounded.
_IN_FLIGHT_PER_JOB = 2


def _pipeline_of(model):
    """The fitted pipeline inside ``model`` (itself, or a meta-estimator's fitted ``estimator_``)."""
    if hasattr(model, "steps"):
        return model
    inner = getattr(model, "estimator_", None)
    return inner if hasattr(inner, "steps") else None


def _split_at_aligner(pipeline):
    """``(aligner, rest)``: the pipeline's FaceAligner and the steps after it, or ``(None, None)``."""
    from ..alignment import FaceAligner

    if pipeline is None:
        return None, None
    for i, (_, step) in enumerate(pipeline.steps):
        if isinstance(step, FaceAligner):
            return step, pipeline[i + 1:]
    return None, None


def _box_text(box):
    return ",".join(f"{v:.0f}" for v in box) if np.isfinite(box).all() else ""


def _row(name, **fields):
    """A row of the table, without a face or an age unless ``fields`` give them."""
    import pandas as pd

    return {"input": name, "face": pd.NA, "box": "", "age": np.nan, "flag": "", "detected_by": "", "error": "",
            **fields}


def _detect(aligner, item, name):
    """``(rows, X)`` of one photo: its rows without ages, and what the model predicts from (one per row
    that gets an age). Never raises (bar Ctrl-C): any failure is the photo's error row, so that one odd
    file cannot end a batch, and nothing needs to travel back from a worker process as an exception."""
    import pandas as pd

    from ..alignment import FaceNotFoundError
    from ..io import ImageReadError, read_image

    row = _row(name)
    try:
        if aligner is None:
            read_image(item, source=name)
            return [row], [(0, item)]
        result = aligner.align_faces(item, source=name)
    except ImageReadError as exc:
        return [dict(row, flag="unreadable", error=exc.reason)], []
    except FaceNotFoundError as exc:  # the aligner's on_failure="raise"
        return [dict(row, flag=exc.flag, error=str(exc))], []
    except Exception as exc:  # MemoryError (std::bad_alloc), a detector's RuntimeError, ...
        return [dict(row, flag="error", error=f"{type(exc).__name__}: {exc}".removesuffix(": "))], []
    rows = [dict(row, face=k if result.flags[k] == "ok" else pd.NA, box=_box_text(result.boxes[k]),
                 flag=result.flags[k], detected_by=result.detected_by[k], error=result.errors[k])
            for k in range(len(result))]
    return rows, [(k, result.chips[k]) for k in range(len(result))]


# ---------------------------------------------------------------- worker processes

def _died(name):
    return [_row(name, flag="error", error="the worker process reading it died (killed, e.g. for lack of memory)")], []


def _detected_photos(aligner, named_items, n_jobs):
    """``_detect`` over ``(item, name)`` pairs, results in input order.

    With ``n_jobs > 1``, in worker processes started by joblib's loky (which,
    unlike multiprocessing's spawn, does not re-run an unguarded script in
    each worker); a pool of its own, not joblib's shared one, so that a pool
    broken here never breaks joblib's. Processes, not threads: dlib's
    detectors shared between threads corrupt the heap. At most
    ``_IN_FLIGHT_PER_JOB * n_jobs`` photos are submitted ahead of the one
    awaited, so memory stays bounded however many inputs there are. A photo
    whose worker dies (e.g. killed for lack of memory) is retried alone once
    in a fresh pool and gets an error row if it kills that one too.
    """
    if n_jobs == 1:
        for item, name in named_items:
            yield _detect(aligner, item, name)
        return
    from joblib.externals.loky.process_executor import ProcessPoolExecutor

    named_items, pending = iter(named_items), collections.deque()
    executor = ProcessPoolExecutor(max_workers=n_jobs)
    try:
        while True:
            for item, name in itertools.islice(named_items, _IN_FLIGHT_PER_JOB * n_jobs - len(pending)):
                pending.append([item, name, executor.submit(_detect, aligner, item, name)])
            if not pending:
                return
            item, name, future = pending.popleft()
            try:
                photo = future.result()
            except BrokenProcessPool:  # one of the photos in flight killed its worker: which one is unknown
                executor.shutdown(wait=False, kill_workers=True)
                executor = ProcessPoolExecutor(max_workers=n_jobs)
                try:
                    photo = executor.submit(_detect, aligner, item, name).result()
                except BrokenProcessPool:
                    photo = _died(name)
                    executor.shutdown(wait=False, kill_workers=True)
                    executor = ProcessPoolExecutor(max_workers=n_jobs)
                for entry in pending:
                    entry[2] = executor.submit(_detect, aligner, entry[0], entry[1])
            yield photo
    finally:  # also on Ctrl-C, or when the caller stops early: nothing goes on running
        executor.shutdown(wait=False, kill_workers=True)


# ---------------------------------------------------------------- public

def _named_items(inputs):
    """``(item, name)`` of each input, lazily where ``inputs`` is an iterator (a generator of paths is
    not read ahead of the photos being predicted)."""
    from ..io import as_image_list, describe_source

    if isinstance(inputs, collections.abc.Iterator):
        items = inputs
    else:
        items = as_image_list(inputs)
    return ((item, describe_source(item, i)) for i, item in enumerate(items))


def _check_n_jobs(n_jobs):
    import os

    if n_jobs is None:
        return 1
    if not isinstance(n_jobs, Integral) or isinstance(n_jobs, bool) or n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs must be a positive int, -1 (all cores) or None, got {n_jobs!r}")
    return (os.cpu_count() or 1) if n_jobs == -1 else int(n_jobs)


def _table(rows, index=None):
    import pandas as pd

    table = pd.DataFrame(rows, columns=list(COLUMNS), index=index)
    table["face"] = table["face"].astype("Int64")
    return table


def iter_predict_faces(model, inputs, *, batch_size=256, n_jobs=None, progress=False):
    """Rows of :func:`predict_faces`, a table at a time, as the photos finish; input order kept.

    The inputs are read, detected and aligned one photo at a time (in
    ``n_jobs`` processes); the faces' chips wait for the model in batches of
    ``batch_size``. A table is yielded each time a batch has been predicted,
    holding every row of the photos finished since the last one (a photo's
    rows are never split between tables). Only those photos' chips are held
    in memory, never every input's pixels: a folder of 100,000 photos runs in
    the memory of a few, and what is done is there when a run is stopped.

    Parameters
    ----------
    model : fitted estimator
        As in :func:`predict_faces`.
    inputs : sequence or iterator of paths or arrays
        An iterator (e.g. a generator) is consumed as the photos are
        predicted, not read ahead (beyond the photos in flight with
        ``n_jobs``).
    batch_size : int, default=256
        Faces per prediction call, and photos per table at most.
    n_jobs : int, default=None
        Processes that read and detect photos in parallel (``None``: 1, in
        this process; ``-1``: one per core). Each holds a copy of the
        aligner; at most two photos per process are in flight.
    progress : bool, default=False
        A tqdm bar counting photos, with photos/s and the time left.

    Yields
    ------
    table : pandas.DataFrame
        Rows of :func:`predict_faces`, columns :data:`COLUMNS`; the index
        is the input's position (0-based), repeated for each face of a photo.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.pipeline import iter_predict_faces
    >>> class Constant:  # any fitted estimator without an aligner
    ...     def predict(self, X):
    ...         return np.full(len(X), 30.0)
    >>> photos = (np.zeros((40, 40, 3), np.uint8) for _ in range(3))  # read one at a time
    >>> [table.index.tolist() for table in iter_predict_faces(Constant(), photos, batch_size=2)]
    [[0, 1], [2]]
    """
    from tqdm.auto import tqdm

    if not isinstance(batch_size, Integral) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
    n_jobs = _check_n_jobs(n_jobs)
    aligner, rest = _split_at_aligner(_pipeline_of(model))
    predictor = model if aligner is None else rest
    total = len(inputs) if hasattr(inputs, "__len__") else None
    # photo: the input's position of each row; waiting: (row, what the model predicts from) of rows to get an age
    rows, photo, waiting = [], [], []

    def flush():
        nonlocal rows, photo, waiting
        for first in range(0, len(waiting), batch_size):
            batch = waiting[first:first + batch_size]
            X = [x for _, x in batch] if aligner is None else np.stack([x for _, x in batch])
            for (row, _), age in zip(batch, np.asarray(predictor.predict(X), dtype=float)):
                rows[row]["age"] = age
        table = _table(rows, index=photo)
        rows, photo, waiting = [], [], []
        return table

    with tqdm(total=total, desc="predict", unit="photo", disable=not progress) as bar:
        n_photos = 0
        for i, (photo_rows, X) in enumerate(_detected_photos(aligner, _named_items(inputs), n_jobs)):
            waiting += [(len(rows) + k, x) for k, x in X]
            rows += photo_rows
            photo += [i] * len(photo_rows)
            n_photos += 1
            bar.update()
            if len(waiting) >= batch_size or n_photos >= batch_size:
                yield flush()
                n_photos = 0
        if rows:
            yield flush()


def predict_faces(model, inputs, *, batch_size=256, n_jobs=None, progress=False):
    """Predict the age of every face in every input, one row per face, input order kept.

    A photo with several faces gives one row per face (largest first); each
    face is detected once, by the model's own :class:`~skage.alignment.FaceAligner`,
    and the rest of the model predicts from the aligned chips. An input
    without a face found keeps one row with no age (NaN), flag ``"no_face"``
    (``"too_small"`` under 32 px) and the reason in ``error``; an aligner
    with ``on_failure="center"`` gives it the age of a centre crop instead,
    still flagged. An input that cannot be read gets a row with no age, flag
    ``"unreadable"`` and the reason in ``error``; any other failure on one
    photo (out of memory, an exception in the detector) flag ``"error"``. The
    other rows are intact: one photo never ends the batch.

    Photos are read and detected one at a time and their chips predicted in
    batches (:func:`iter_predict_faces` yields the rows as they come); only
    the table is held, never every input's pixels.

    Parameters
    ----------
    model : fitted estimator
        A pipeline from :func:`make_age_pipeline` (or a meta-estimator with
        such a pipeline in ``estimator_``). A model without an aligner is
        given each readable input whole, one row each.
    inputs : sequence or iterator of paths or arrays
    batch_size : int, default=256
        Faces per prediction call.
    n_jobs : int, default=None
        Processes that read and detect photos in parallel (``None``: 1, in
        this process; ``-1``: one per core); the table is the same.
    progress : bool, default=False
        A tqdm bar over the photos (photos/s, time left).

    Returns
    -------
    table : pandas.DataFrame
        Columns ``input``, ``face`` (0-based index within the photo; blank
        without a detected face), ``box`` (``left,top,right,bottom`` in the
        photo), ``age``, ``flag`` (``ok``; the aligner's ``no_face``,
        ``too_small``, ``unreadable``; ``error`` for any other failure),
        ``detected_by`` (the detection pass) and ``error`` (why, for every
        flag but ``ok``). :func:`skage.viz.draw_faces` draws a photo's rows.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.pipeline import predict_faces
    >>> class Constant:  # any fitted estimator without an aligner
    ...     def predict(self, X):
    ...         return np.full(len(X), 30.0)
    >>> table = predict_faces(Constant(), ["missing.jpg", np.zeros((40, 40, 3), np.uint8)])
    >>> table[["age", "flag"]].values.tolist()
    [[nan, 'unreadable'], [30.0, '']]
    """
    import pandas as pd

    tables = list(iter_predict_faces(model, inputs, batch_size=batch_size, n_jobs=n_jobs, progress=progress))
    return pd.concat(tables, ignore_index=True) if tables else _table([])
