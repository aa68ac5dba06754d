"""``model="stacked"``, the default: both pretrained dlib networks' tops and the shipped age network, stacked."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, validate_params

from ._age_pipeline import AgePipeline
from ._chips import CHIP_CONSTRAINTS, chip_steps, refuse_bool, with_chip_options


@with_chip_options
@validate_params(
    {
        **CHIP_CONSTRAINTS,
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "degrade": [Interval(Real, 0, None, closed="neither"), None],
        "distill": [Interval(Real, 0, None, closed="left")],
        "device": [str],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def make_stacked_pipeline(*, max_epochs=3, cv=5, degrade=1.0, distill=1.0, device="cpu", verbose=0,
                          detector="auto", no_face="blank", equalize=False, random_state=None, n_jobs=None,
                          memory=None, progress=False):
    """One model for every kind of photo, trained in minutes on a CPU: the chip front-end → ``model``.

    ``model`` is a :class:`skage.stacking.StackedAgeRegressor` on dlib's
    150-px chips: the last stages of the CC0 age network (distilled from
    itself) and of dlib's face ResNet, trained on activations of their
    frozen stages computed once per chip, its mirror image and a degraded
    copy; a combiner fitted on their out-of-fold ages, the shipped
    network's age and the photo's kind, every age bin weighing the same.
    The face ResNet's top reads the user's kind of faces best, the shipped
    network old, gray and scanned photos; the combiner learns whom to
    believe where. Measured figures: docs/results.md.

    Parameters
    ----------
    max_epochs : int, default=3
        Epochs of each member (over chips, mirror images and copies).
    cv : int, default=5
        Folds of the out-of-fold ages.
    degrade : float or None, default=1.0
        Degraded copies per training chip.
    distill : float, default=1.0
        Weight of the age network's distillation from its shipped self.
    device : str, default="cpu"
        Torch device of the networks.
    verbose : int, default=0
        A line per member fit on stderr (also with ``progress``).
    {chip_options}
    Returns
    -------
    pipeline : AgePipeline
        Steps ``check``, ``align`` (dlib's 150-px chips, 5 landmarks),
        ``faces``, ``equalize``, ``model``; e.g.
        ``set_params(model__cv=3)``, ``model__members`` for other members.

    Examples
    --------
    >>> from skage.pipeline import make_stacked_pipeline
    >>> pipe = make_stacked_pipeline(random_state=0)
    >>> [name for name, _ in pipe.steps]
    ['check', 'align', 'faces', 'equalize', 'model']
    >>> [name for name, _ in pipe.named_steps["model"].members]  # doctest: +SKIP
    ['age_network', 'face_network']
    """
    from .._dlib_networks import CHIP_SIZE
    from ..stacking import StackedAgeRegressor, default_members

    refuse_bool(degrade=degrade)
    members = default_members(random_state=random_state)
    for _, member in members:
        member.set_params(max_epochs=max_epochs, device=device)
    members[0][1].set_params(distill=distill)
    # progress (the command line's default): a line per member fit as well as the aligner's bar
    model = StackedAgeRegressor(members=members, cv=cv, degrade=degrade, device=device, random_state=random_state,
                                verbose=max(int(verbose), int(progress)))
    chips = chip_steps(geometry="dlib", landmarks=5, size=CHIP_SIZE, detector=detector, no_face=no_face,
                       equalize=equalize, n_jobs=n_jobs, memory=memory, progress=progress)
    return AgePipeline([*chips, ("model", model)])
