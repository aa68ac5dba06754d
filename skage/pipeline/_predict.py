"""``predict_faces``: one row per face of every input photo, errors included."""

import numpy as np

#: Columns of the table :func:`predict_faces` returns.
COLUMNS = ("input", "face", "box", "age", "flag", "detected_by", "error")


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


def predict_faces(model, inputs, *, batch_size=256, progress=False):
    """Predict the age of every face in every input, one row per face, input order kept.

    A photo with several faces gives one row per face (largest first); each
    face is detected once, by the model's own :class:`~skage.alignment.FaceAligner`,
    and the rest of the model predicts from the aligned chips. An input
    without a face found keeps one row with no age (NaN), flag ``"no_face"``
    (``"too_small"`` under 32 px) and the reason in ``error``; an aligner
    with ``on_failure="center"`` gives it the age of a centre crop instead,
    still flagged. An input that cannot be read gets a row with no age, flag
    ``"unreadable"`` and the reason in ``error``; the other rows are intact.

    Parameters
    ----------
    model : fitted estimator
        A pipeline from :func:`make_age_pipeline` (or a meta-estimator with
        such a pipeline in ``estimator_``). A model without an aligner is
        given each readable input whole, one row each.
    inputs : sequence of paths or arrays
    batch_size : int, default=256
        Faces per prediction call.
    progress : bool, default=False
        A tqdm bar over the inputs.

    Returns
    -------
    table : pandas.DataFrame
        Columns ``input``, ``face`` (0-based index within the photo; blank
        without a detected face), ``box`` (``left,top,right,bottom`` in the
        photo), ``age``, ``flag`` (the aligner's: ``ok``, ``no_face``,
        ``too_small``, ``unreadable``), ``detected_by`` (the detection pass)
        and ``error``.

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
    from tqdm.auto import tqdm

    from ..alignment import FaceNotFoundError
    from ..io import ImageReadError, as_image_list, describe_source, read_image

    aligner, rest = _split_at_aligner(_pipeline_of(model))
    rows, items = [], []
    for i, item in enumerate(tqdm(as_image_list(inputs), desc="faces", unit="img", disable=not progress)):
        name = describe_source(item, i)
        row = {"input": name, "face": pd.NA, "box": "", "age": np.nan, "flag": "", "detected_by": "", "error": ""}
        try:
            if aligner is None:
                read_image(item, source=name)
                rows.append(row)
                items.append((len(rows) - 1, item))
                continue
            result = aligner.align_faces(item, source=name)
        except ImageReadError as exc:
            rows.append(dict(row, flag="unreadable", error=exc.reason))
            continue
        except FaceNotFoundError as exc:  # the aligner's on_failure="raise"
            rows.append(dict(row, flag=exc.flag, error=str(exc)))
            continue
        for k in range(len(result)):
            found = result.flags[k] == "ok"
            rows.append(dict(row, face=k if found else pd.NA, box=_box_text(result.boxes[k]), flag=result.flags[k],
                             detected_by=result.detected_by[k], error=result.errors[k]))
            items.append((len(rows) - 1, result.chips[k]))
    predictor = model if aligner is None else rest
    for start in range(0, len(items), batch_size):
        batch = items[start:start + batch_size]
        X = [item for _, item in batch] if aligner is None else np.stack([chip for _, chip in batch])
        for (row, _), age in zip(batch, np.asarray(predictor.predict(X), dtype=float)):
            rows[row]["age"] = age
    table = pd.DataFrame(rows, columns=list(COLUMNS))
    table["face"] = table["face"].astype("Int64")
    return table
