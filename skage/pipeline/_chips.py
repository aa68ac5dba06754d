"""The chip front-end every model family shares (check → align → faces → equalize), and what builders reuse."""

from numbers import Real

from sklearn.utils._param_validation import Interval, StrOptions

from ..alignment import FaceAligner
from ._age_pipeline import AgePipeline

#: The front-end's step names, in order: every trained model's pipeline starts with them, and the
#: ensemble's members take the steps after ``equalize``.
CHIP_STEPS = ("check", "align", "faces", "equalize")

#: ``validate_params`` constraints of the options every family's builder takes: the front-end's, and
#: ``random_state``. The aligner's own constraints where the option is the aligner's parameter.
CHIP_CONSTRAINTS = {
    "detector": FaceAligner._parameter_constraints["detector"],
    # "raise" is the aligner's too, but a pipeline would then stop at the first photo without a face
    "no_face": [StrOptions({"blank", "center"})],
    "equalize": ["boolean"],
    "n_jobs": FaceAligner._parameter_constraints["n_jobs"],
    "memory": FaceAligner._parameter_constraints["memory"],
    "progress": ["boolean"],
    "random_state": ["random_state"],
}

#: Constraint of ``bias_correction`` (the families that take it); a bool is refused apart, see
#: :func:`refuse_bool`.
STRENGTH = [Interval(Real, 0, 1, closed="right"), None]

#: Those options as the builders' docstrings list them (inserted for ``{chip_options}``).
CHIP_OPTIONS_DOC = """\
    detector : {"auto", "yunet", "hog", "cnn", "none"}, default="auto"
        The aligner's face detector (:class:`skage.alignment.FaceAligner`):
        ``"auto"`` runs YuNet on large photos and dlib's HOG on small ones,
        then further passes only for faces still missed; ``"none"``
        landmarks whole inputs as faces.
    no_face : {"blank", "center"}, default="blank"
        An image in which no face is found (or one under 32 px): ``"blank"``
        gives it a black chip, so no age (NaN), and leaves it out of training
        with a :class:`skage.sampling.NoFaceWarning`; ``"center"`` guesses
        from a centre crop (and trains on it). A prediction-time switch too:
        ``set_params(align__on_failure=...)``.
    equalize : bool, default=False
        Adaptive histogram equalization (CLAHE) of the chips.
    random_state : int, RandomState instance or None, default=None
        Seeds every random step (resampler, degraded copies, network, held-out
        splits).
    n_jobs : int, default=None
        Parallel workers of the reading, alignment and feature stages.
    memory : str, path or joblib.Memory, default=None
        Caches the input check, the aligned chips and features, so that
        ``GridSearchCV`` computes each once.
    progress : bool, default=False
        Progress bars (alignment, and the network's training batches).
"""


def with_chip_options(builder):
    """Insert :data:`CHIP_OPTIONS_DOC` at ``{chip_options}`` in ``builder``'s docstring."""
    builder.__doc__ = builder.__doc__.replace("    {chip_options}\n", CHIP_OPTIONS_DOC)
    return builder


def refuse_bool(**options):
    """Refuse ``True``/``False`` for numeric options: scikit-learn's constraints take them as 1 and 0."""
    for name, value in options.items():
        if isinstance(value, bool):
            raise ValueError(f"{name} must be a number or None, got {value!r}")


def chip_steps(*, geometry, landmarks, size, margin=None, align=True, detector="auto", no_face="blank",
               equalize=False, n_jobs=None, memory=None, progress=False):
    """The named front-end steps for chips of one geometry.

    ``check`` (:class:`~skage.sampling.DropUnreadable`), ``align``
    (:class:`~skage.alignment.FaceAligner`, or an
    :class:`~skage.io.ImageLoader` resizing inputs already cropped when
    ``align=False``), ``faces`` (:class:`~skage.sampling.DropNoFace`: blank
    chips are never trained on) and ``equalize`` (CLAHE or ``"passthrough"``,
    so that parameter names stay the same either way).
    """
    from ..alignment import HistogramEqualizer
    from ..io import ImageLoader
    from ..sampling import DropNoFace, DropUnreadable

    if align:
        first = FaceAligner(detector=detector, on_failure=no_face, n_jobs=n_jobs, memory=memory, progress=progress,
                            output_size=size, geometry=geometry, landmarks=landmarks, margin=margin)
    else:
        first = ImageLoader(image_size=size, n_jobs=n_jobs)
    return [("check", DropUnreadable(n_jobs=n_jobs, memory=memory)), ("align", first), ("faces", DropNoFace()),
            ("equalize", HistogramEqualizer() if equalize else "passthrough")]


def steps_after(pipeline, name):
    """The steps of ``pipeline`` after the step called ``name`` (by name, not position)."""
    names = [step_name for step_name, _ in pipeline.steps]
    return pipeline.steps[names.index(name) + 1:]


def steps_through(pipeline, name):
    """The steps of ``pipeline`` up to and including the step called ``name``."""
    names = [step_name for step_name, _ in pipeline.steps]
    return pipeline.steps[:names.index(name) + 1]


def bias_corrected(pipe, strength, random_state):
    """``pipe`` with everything after its chip front-end inside an :class:`~skage.refine.AgeBiasCorrector`."""
    from ..refine import AgeBiasCorrector

    refuse_bool(bias_correction=strength)
    if strength is None:
        return pipe
    # The corrector wraps everything after the shared chips, the resampler included: its held-out
    # faces must be real faces, not the resampler's copies of training faces.
    rest = steps_after(pipe, CHIP_STEPS[-1])
    model = rest[0][1] if len(rest) == 1 else AgePipeline(rest)
    # A fifth held out: one extra fit, where 5 folds would train a network five more times.
    corrector = AgeBiasCorrector(model, strength=strength, cv=0.2, random_state=random_state)
    return AgePipeline([*steps_through(pipe, CHIP_STEPS[-1]), ("model", corrector)])
