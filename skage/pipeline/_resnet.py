"""``make_resnet_pipeline``: the paper's network, :class:`skage.nn.AgeNet`, on the shared chip front-end."""

from numbers import Integral

from sklearn.utils._param_validation import Interval, validate_params

from ._age_pipeline import AgePipeline
from ._chips import CHIP_CONSTRAINTS, STRENGTH, bias_corrected, chip_steps, with_chip_options

# Chip geometry per AgeNet backbone: dlib's pretrained face ResNet saw dlib's own 150-px face
# chips (5 CC0 landmarks), so fine-tuning starts from the faces it knows; the ResNets train from
# eyes-aligned chips.
# dlib's CC0 age network saw dlib's 64-px chips with padding 0.2.
_BACKBONE_CHIPS = {"dlib_resnet": dict(geometry="dlib", landmarks=5, size=150),
                   "cydral_age": dict(geometry="dlib", landmarks=5, size=64, margin=0.2)}
_DEFAULT_CHIPS = dict(geometry="eyes", landmarks=68, size=224)

# Fine-tuning defaults per pretrained backbone (net_params override them). dlib's face ResNet
# overfits UTKFace when its first stages train (freeze_stages=1: MAE 6.39 against 4.50 with 3),
# and keeps its features best at a tenth of the head's learning rate; averaging each chip with its
# mirror image at prediction took 0.08-0.15 off its MAE on two dev splits, same fits
# (benchmarks/results/dlib_backbone_cpu.md).
_BACKBONE_RECIPES = {"dlib_resnet": dict(lr=2e-3, backbone_lr_scale=0.1, freeze_stages=3, aug_scale=(0.85, 1.0),
                                         test_time_flip=True)}

#: ``validate_params`` constraints of the network's own options (AgeNet checks its parameters at fit).
NET_CONSTRAINTS = {
    "max_epochs": [Interval(Integral, 0, None, closed="left")],
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "device": [str],
    "attention": ["boolean"],
    "balance": ["boolean"],
    "knn": ["boolean"],
    "bias_correction": STRENGTH,
    "verbose": ["verbose"],
    "net_params": [dict, None],
}


@with_chip_options
@validate_params({**CHIP_CONSTRAINTS, **NET_CONSTRAINTS, "image_size": [Interval(Integral, 1, None, closed="left"),
                                                                         None],
                  "align": ["boolean"]}, prefer_skip_nested_validation=True)
def make_resnet_pipeline(*, image_size=None, align=True, attention=True, balance=True, knn=True, max_epochs=40,
                         batch_size=64, device="auto", net_params=None, bias_correction=None, verbose=1,
                         detector="auto", no_face="blank", equalize=False, random_state=None, n_jobs=None,
                         memory=None, progress=False):
    """The paper's model: ResNet with parsing attention, class-balanced loss and KNN refinement.

    Steps ``check`` → ``align`` → ``faces`` → ``equalize`` (the chip
    front-end every model shares) → ``parse``
    (:class:`skage.parsing.FaceParser` region masks) → ``balance``
    (:class:`skage.sampling.AgeBinResampler`, fit only) → ``model``
    (:class:`skage.nn.AgeNet`, inside :class:`skage.refine.KNNAgeRefiner`
    when ``knn``). A switched-off stage is ``"passthrough"``, so that
    parameter names stay the same across the ablation rows. Behind the
    resampler every age bin is equally frequent, so the pipeline hands the
    network the resampler's bin counts (the ages *before* resampling) at
    fit: its class-balanced loss weighs the bins as they were.

    Parameters
    ----------
    image_size : int, default=None
        Side of the chips, also the network input: 224, or the backbone's
        own chips (150 for ``"dlib_resnet"``, 64 for ``"cydral_age"``).
    align : bool, default=True
        Detect, landmark and align faces; ``False`` only reads and resizes
        inputs that are already face crops.
    attention : bool, default=True
        Parsing masks and the parsing-attention network; ``False`` is the
        CNN-only model on plain RGB chips.
    balance : bool, default=True
        Over-sample age bins during ``fit``.
    knn : bool, default=True
        Blend in the ages of the nearest training faces in the network's
        embedding space (``model`` is then a ``KNNAgeRefiner``: e.g.
        ``model__estimator__max_epochs``).
    max_epochs, batch_size : int, default=40, 64
        Training length and batch size of the network.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where the network trains.
    net_params : dict, default=None
        Further :class:`skage.nn.AgeNet` parameters (``backbone``, ``lr``,
        ``lambda_cb``, ...). ``backbone="dlib_resnet"`` (dlib's face ResNet)
        also switches alignment and parsing to dlib's 150-px face chips and
        sets the fine-tuning defaults measured for it (``lr=2e-3``,
        ``backbone_lr_scale=0.1``, ``freeze_stages=3``,
        ``aug_scale=(0.85, 1)``, ``test_time_flip=True``);
        ``backbone="cydral_age"`` aligns and parses dlib's 64-px chips with
        padding 0.2.
    bias_correction : float in (0, 1], default=None
        Undo this share of the ages' pull toward the middle of the training
        ages, measured on a held-out fifth of the training faces
        (:class:`skage.refine.AgeBiasCorrector`; one extra fit). The steps
        after ``equalize`` then move into the corrector:
        ``model__estimator__model__...``.
    verbose : int, default=1
        The network's training log; 0 is silent.
    {chip_options}
    Returns
    -------
    pipeline : AgePipeline

    Examples
    --------
    >>> from skage.pipeline import make_resnet_pipeline
    >>> pipe = make_resnet_pipeline(image_size=64, max_epochs=2, knn=False)
    >>> [name for name, _ in pipe.steps]
    ['check', 'align', 'faces', 'equalize', 'parse', 'balance', 'model']
    """
    from ..nn import AgeNet
    from ..parsing import FaceParser
    from ..refine import KNNAgeRefiner
    from ..sampling import AgeBinResampler

    net_params = {**_BACKBONE_RECIPES.get((net_params or {}).get("backbone"), {}), **(net_params or {})}
    chips = _BACKBONE_CHIPS.get(net_params.get("backbone"), _DEFAULT_CHIPS)
    front = chip_steps(geometry=chips["geometry"], landmarks=chips["landmarks"], margin=chips.get("margin"),
                       size=chips["size"] if image_size is None else image_size, align=align, detector=detector,
                       no_face=no_face, equalize=equalize, n_jobs=n_jobs, memory=memory, progress=progress)
    if progress:
        net_params = with_progress_bar(net_params)
    net = AgeNet(attention=attention, max_epochs=max_epochs, batch_size=batch_size, device=device,
                 random_state=random_state, verbose=verbose, **net_params)
    parse = FaceParser(geometry=chips["geometry"], margin=chips.get("margin"), n_jobs=n_jobs) if attention \
        else "passthrough"
    pipe = AgePipeline([
        *front,
        ("parse", parse),
        ("balance", AgeBinResampler(random_state=random_state) if balance else "passthrough"),
        ("model", KNNAgeRefiner(estimator=net) if knn else net),
    ])
    return bias_corrected(pipe, bias_correction, random_state)


def with_progress_bar(net_params):
    """``net_params`` plus AgeNet callbacks for a bar over each epoch's batches and the estimated training time."""
    from skorch.callbacks import ProgressBar

    from ..nn import TrainingTimeEstimate

    return {**net_params, "callbacks": [*net_params.get("callbacks", []), ("progress", ProgressBar()),
                                        ("time_estimate", TrainingTimeEstimate())]}
