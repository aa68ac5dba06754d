"""``make_ensemble_pipeline``: the fine-tuned dlib network and the descriptor model, on one set of chips."""

from sklearn.utils._param_validation import validate_params

from ._age_pipeline import AgePipeline
from ._chips import CHIP_CONSTRAINTS, CHIP_STEPS, STRENGTH, bias_corrected, steps_after, steps_through, \
    with_chip_options
from ._descriptor import DESCRIPTOR_CONSTRAINTS, make_descriptor_pipeline
from ._resnet import NET_CONSTRAINTS, make_resnet_pipeline

#: The network the ensemble fine-tunes: dlib's face ResNet, whose chips are the descriptor's.
BACKBONE = "dlib_resnet"


@with_chip_options
@validate_params({**CHIP_CONSTRAINTS, **NET_CONSTRAINTS, **DESCRIPTOR_CONSTRAINTS, "bias_correction": STRENGTH},
                 prefer_skip_nested_validation=True)
def make_ensemble_pipeline(*, attention=True, balance=True, knn=True, max_epochs=40, batch_size=64, device="auto",
                           net_params=None, regressor=None, bin_weights=False, degrade=None, bias_correction=None,
                           verbose=1, detector="auto", no_face="blank", equalize=False, random_state=None,
                           n_jobs=None, memory=None, progress=False):
    """The network fine-tuned from dlib's face ResNet and the descriptor model, their ages averaged.

    Both read the same 150-px dlib face chips, made once: steps ``check`` →
    ``align`` → ``faces`` → ``equalize`` (the chip front-end every model
    shares), then ``model``, a :class:`sklearn.ensemble.VotingRegressor` of
    ``deep`` (the steps of :func:`make_resnet_pipeline` after ``equalize``,
    with ``backbone="dlib_resnet"``: ``parse``, ``balance``, ``model``) and
    ``descriptor`` (those of :func:`make_descriptor_pipeline`: ``degrade``,
    ``describe``, ``scale``, ``balance``, ``model``), e.g.
    ``model__deep__model__estimator__max_epochs``. The two err differently,
    so the average beats either (dev split:
    benchmarks/results/dlib_backbone_cpu.md). At ``max_epochs=12``, with
    ``degrade=1``, ``bin_weights=True`` and the descriptor member not
    over-sampled, it trained on all 15,452 UTKFace chips in 90 minutes on a
    2-core CPU (docs/results.md; peak memory 15.6 GiB); on 4,493 chips, in
    about 20.

    Parameters
    ----------
    attention, balance, knn : bool, default=True
        As in :func:`make_resnet_pipeline`; ``balance`` and ``knn`` apply to
        both members.
    max_epochs, batch_size : int, default=40, 64
        Training length and batch size of the network.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where the network trains and the descriptor network runs.
    net_params : dict, default=None
        Further :class:`skage.nn.AgeNet` parameters; they override dlib's
        fine-tuning defaults. ``backbone`` can only be ``"dlib_resnet"``.
    regressor, bin_weights, degrade
        The descriptor member's, as in :func:`make_descriptor_pipeline`.
    bias_correction : float in (0, 1], default=None
        Wrap the vote in :class:`skage.refine.AgeBiasCorrector` with this
        strength (about 1.8 times the training time): e.g.
        ``model__estimator__deep__model__estimator__max_epochs``.
    verbose : int, default=1
        The network's training log; 0 is silent.
    {chip_options}
    Returns
    -------
    pipeline : AgePipeline

    Examples
    --------
    >>> from skage.pipeline import make_ensemble_pipeline
    >>> pipe = make_ensemble_pipeline(max_epochs=12)
    >>> [name for name, _ in pipe.named_steps["model"].estimators]
    ['deep', 'descriptor']
    """
    from sklearn.ensemble import VotingRegressor


    net_params = dict(net_params or {})
    if net_params.setdefault("backbone", BACKBONE) != BACKBONE:
        raise ValueError(f"the ensemble fine-tunes dlib's face ResNet on the descriptor's face chips; "
                         f"net_params['backbone'] must be {BACKBONE!r}, got {net_params['backbone']!r}")
    shared = dict(detector=detector, no_face=no_face, equalize=equalize, balance=balance, knn=knn, device=device,
                 random_state=random_state, n_jobs=n_jobs, memory=memory, progress=progress)
    deep = make_resnet_pipeline(attention=attention, max_epochs=max_epochs, batch_size=batch_size, verbose=verbose,
                                net_params=net_params, **shared)
    described = make_descriptor_pipeline(regressor=regressor, bin_weights=bin_weights, degrade=degrade, **shared)
    # Both members read the same 150-px dlib chips: the chips are made once, before the vote.
    last = CHIP_STEPS[-1]
    members = [("deep", AgePipeline(steps_after(deep, last))), ("descriptor", AgePipeline(steps_after(described, last)))]
    pipe = AgePipeline([*steps_through(deep, last), ("model", VotingRegressor(members))])
    return bias_corrected(pipe, bias_correction, random_state)
