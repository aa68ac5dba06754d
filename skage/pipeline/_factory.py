"""``make_age_pipeline``: every ablation row is this one function with other switches."""

import numpy as np
from imblearn.pipeline import Pipeline
from sklearn.utils.validation import check_is_fitted

#: The two model families, the paper's deep network and dlib's pretrained face descriptors, their
#: ensemble (both on dlib's face chips, their ages averaged), and the descriptor model averaged with
#: dlib's CC0 age network (pipeline/_two_networks.py).
MODELS = ("resnet", "descriptor", "ensemble", "two_networks")

# The descriptor model's features and KNN stage. dlib's inner stages 3 and 4 (averaged over
# space, chip and mirror image) carry more age than its identity descriptor; neighbours are
# searched among the standardised features. Chosen on the dev chips' 70/30 split
# (benchmarks/results/descriptor_dev_cpu.md).
_DESCRIPTOR_FEATURES = {"engine": "torch", "layers": ("layer3", "layer4"), "flip": True}
_DESCRIPTOR_KNN = {"n_neighbors": 20, "blend": 0.2}

# Chip geometry per AgeNet backbone: dlib's pretrained face ResNet saw dlib's own 150-px face
# chips (5 CC0 landmarks), so fine-tuning starts from the faces it knows; the ResNets train from
# eyes-aligned chips.
# dlib's CC0 age network saw dlib's 64-px chips with padding 0.2.
_BACKBONE_CHIPS = {"dlib_resnet": dict(geometry="dlib", landmarks=5, size=150),
                   "cydral_age": dict(geometry="dlib", landmarks=5, size=64, margin=0.2)}
_DEFAULT_CHIPS = dict(geometry="eyes", landmarks=68, size=224)

# Steps made once for every model: check, align, faces, equalize (the ensemble's members and the
# bias corrector take the steps after them).
_SHARED = 4

# Fine-tuning defaults per pretrained backbone (net_params override them). dlib's face ResNet
# overfits UTKFace when its first stages train (freeze_stages=1: MAE 6.39 against 4.50 with 3),
# and keeps its features best at a tenth of the head's learning rate; averaging each chip with its
# mirror image at prediction took 0.08-0.15 off its MAE on two dev splits, same fits
# (benchmarks/results/dlib_backbone_cpu.md).
_BACKBONE_RECIPES = {"dlib_resnet": dict(lr=2e-3, backbone_lr_scale=0.1, freeze_stages=3, aug_scale=(0.85, 1.0),
                                         test_time_flip=True)}


class AgePipeline(Pipeline):
    """The pipeline :func:`make_age_pipeline` builds: an imbalanced-learn ``Pipeline`` for image inputs.

    The same steps, parameters and fit; only :meth:`predict` differs: no
    inputs give no ages (scikit-learn's steps, such as the descriptor model's
    ``StandardScaler``, refuse zero samples), so that a batch that happens to
    be empty needs no special case.
    """

    def predict(self, X, **params):
        """Predict the age of each input; an empty ``X`` gives an empty array.

        Parameters
        ----------
        X : sequence of paths or arrays, or ndarray of shape (N, H, W[, C])
        **params
            Passed on as by :meth:`imblearn.pipeline.Pipeline.predict`.

        Returns
        -------
        ages : ndarray of shape (N,)
        """
        # len() only: the steps check what X holds (images, or features when the pipeline is sliced)
        if hasattr(X, "__len__") and not isinstance(X, (str, bytes)) and len(X) == 0:
            check_is_fitted(self)
            return np.empty(0)
        return super().predict(X, **params)


def make_age_pipeline(*, model="resnet", image_size=None, max_epochs=40, batch_size=64, device="auto", align=True,
                      detector="auto", no_face="blank", equalize=False, attention=True, balance=True, knn=True,
                      regressor=None, bin_weights=False, degrade=None, bias_correction=None, random_state=None,
                      n_jobs=None, memory=None, verbose=1, progress=False, net_params=None):
    """Build the skage pipeline: check inputs → align → parse or describe → balance → model → KNN refine.

    Parameters
    ----------
    model : {"resnet", "descriptor", "ensemble", "two_networks"}, default="resnet"
        ``"resnet"``: the paper's network, :class:`skage.nn.AgeNet` (ResNet
        with parsing attention, trained from the chips; wants a GPU for full
        size). ``"descriptor"``: dlib's pretrained face descriptors
        (:class:`skage.features.FaceDescriptor`) under a scikit-learn
        regressor; trains on thousands of faces in minutes on a CPU.
        ``"ensemble"``: both, on the same dlib face chips, their ages
        averaged by a :class:`sklearn.ensemble.VotingRegressor`; the network
        is fine-tuned from dlib's face ResNet (``backbone="dlib_resnet"``),
        which a CPU trains in about 20 minutes at ``max_epochs=12``. The two
        err differently, so the average beats either (dev split:
        benchmarks/results/dlib_backbone_cpu.md). ``"two_networks"``: the
        descriptor model, trained on one degraded copy of each chip
        (``degrade=1``) with class-balanced sample weights in place of
        over-sampling (``balance``), averaged with equal weights with dlib's
        CC0 age network as shipped (:func:`pretrained_model`, the
        ``pretrained`` extra): the age network, trained on ~110k varied
        faces, carries over to old and scanned photos (FG-NET), the
        descriptor model to the user's own kind of faces; the share is
        ``set_params(model__weights=[1 - w, w])``. Steps ``check`` and
        ``model`` (a VotingRegressor of ``descriptor`` and ``age_network``).
    image_size : int, default=None
        Side of the aligned chips: 224 for ``"resnet"`` (also the network
        input), 150 with ``net_params={"backbone": "dlib_resnet"}``, whose
        chips are dlib's own face chips; ``"descriptor"`` uses dlib's 150-px
        chips and accepts only 150.
    max_epochs, batch_size : int
        Training length and batch size of :class:`skage.nn.AgeNet` (resnet).
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where AgeNet trains (resnet) or the descriptor network runs (descriptor).
    align : bool, default=True
        Detect, landmark and align faces with :class:`skage.alignment.FaceAligner`;
        ``False`` only reads and resizes inputs that are already face crops
        (resnet only: the descriptor needs dlib's alignment).
    detector : {"auto", "hog", "cnn", "none"}, default="auto"
        The aligner's face detector: ``"auto"`` runs HOG, then HOG upsampled,
        then the CNN detector only for faces still missed; ``"none"``
        landmarks whole inputs as faces.
    no_face : {"blank", "center"}, default="blank"
        An image in which the aligner finds no face (or one under 32 px):
        ``"blank"`` gives it a black chip, so its age is NaN, and leaves it
        out of training with a :class:`skage.sampling.NoFaceWarning`;
        ``"center"`` keeps the older behaviour, an age guessed from a centre
        crop (trained on too). The aligner's ``on_failure``; a prediction-time
        switch: ``set_params(align__on_failure=...)``.
    equalize : bool, default=False
        Adaptive histogram equalization (CLAHE) after alignment.
    attention : bool, default=True
        Region masks from :class:`skage.parsing.FaceParser` and the parsing-attention
        network; ``False`` is the CNN-only model on plain RGB chips (resnet).
    balance : bool, default=True
        Resample age bins during ``fit`` with :class:`skage.sampling.AgeBinResampler`.
        Behind the resampler every age bin is equally frequent, so AgeNet's
        class-balanced weights would all be 1: the network gets ``cb_beta=0``
        (unweighted cross-entropy term), unless ``net_params`` hold the bin
        counts before resampling as ``cb_counts``
        (:func:`skage.compare.train_bin_counts`; ``skage fit`` and
        ``skage benchmark`` pass them), which restores the paper's
        class-balanced loss on top of resampling.
    knn : bool, default=True
        Blend in the ages of the nearest training faces with
        :class:`skage.refine.KNNAgeRefiner` (resnet: in the network's
        embedding space; descriptor: in descriptor space, cosine distance).
        For the descriptor model ``knn=False`` keeps the same wrapper with
        ``blend=0``, so that parameter names do not change between rows and
        unreadable inputs still get NaN ages.
    regressor : scikit-learn regressor, default=None
        The descriptor model's regressor, on standardised features; ``None``
        is an RBF SVR (``C=30``, ``epsilon=1`` year).
    bin_weights : bool, default=False
        Descriptor model: fit the regressor with class-balanced per-bin sample
        weights (effective number, as in AgeNet's loss) through
        :class:`skage.sampling.AgeBinWeightedRegressor`.
    degrade : float, default=None
        Descriptor model (and the ensemble's descriptor member): add this many
        degraded copies of each training chip during ``fit``
        (:class:`skage.augment.DegradedCopies`: grayscale, colour casts,
        faded prints, low contrast, blur, low resolution, noise, JPEG), so
        that old, gray or soft photos are not read as old people; ``None``
        keeps the ``degrade`` step as ``"passthrough"``. Features are
        computed for the copies too, so training takes about ``1 + degrade``
        times as long.
    bias_correction : float in (0, 1], default=None
        Wrap the ``model`` step in :class:`skage.refine.AgeBiasCorrector`
        with this ``strength``: the pull of the ages toward the middle of the
        training ages is measured on a held-out fifth of the training faces
        (one extra fit on the other four fifths, so training takes about 1.8
        times as long) and that share of it is undone. It trades MAE for
        evenness across age bins (ensemble, dev split, strength 0.5:
        benchmarks/results/dlib_backbone_cpu.md). The steps after
        ``equalize`` then move into the corrector, resampler included (its
        held-out faces must not be copies of training faces): e.g.
        ``model__estimator__balance__random_state``, or
        ``model__estimator__deep__...`` for the ensemble.
    random_state : int, optional
        Seeds the resampler, the network and the corrector's held-out split.
    n_jobs : int, optional
        Parallel workers of the reading, alignment, parsing and descriptor stages.
    memory : str or joblib.Memory, optional
        Caches the input check, aligned chips and descriptors, so that
        ``GridSearchCV`` computes each once.
    verbose : int, default=1
        The network's training log; 0 is silent.
    progress : bool, default=False
        tqdm progress bars for alignment and for the batches of each training epoch, and
        the network's estimated training time after its first batches.
    net_params : dict, optional
        Further :class:`skage.nn.AgeNet` parameters (e.g. ``backbone``, ``lr``,
        ``lambda_cb``), the same whether or not the net is wrapped by the KNN stage.
        ``backbone="dlib_resnet"`` (dlib's pretrained face ResNet) also switches
        alignment and parsing to dlib's face-chip geometry, and sets the
        fine-tuning defaults measured for it (``lr=2e-3``,
        ``backbone_lr_scale=0.1``, ``freeze_stages=3``, ``aug_scale=(0.85, 1)``,
        ``test_time_flip=True``). ``backbone="cydral_age"`` (dlib's CC0 age
        network) aligns and parses 64-px dlib chips with padding 0.2, the
        chips it was trained on; no fine-tuning defaults are measured for it
        yet.

    Returns
    -------
    pipeline : AgePipeline
        An :class:`imblearn.pipeline.Pipeline` whose ``predict`` also takes
        an empty ``X``. Steps ``check`` (:class:`skage.sampling.DropUnreadable`: unreadable
        training inputs are left out, named in a warning), ``align``,
        ``faces`` (:class:`skage.sampling.DropNoFace`: training images
        without a face found are left out), ``equalize``, ``parse``
        (resnet) or ``degrade``, ``describe`` and ``scale`` (descriptor),
        ``balance``, ``model``. A switched-off stage is ``"passthrough"`` so
        that parameter names stay the same across the ablation rows (e.g.
        ``model__estimator__max_epochs`` when ``knn=True``,
        ``model__max_epochs`` otherwise). ``"ensemble"``: ``check``, ``align``,
        ``faces``, ``equalize`` shared, then ``model``, a VotingRegressor of ``deep``
        (``parse``, ``balance``, ``model``) and ``descriptor`` (``degrade``,
        ``describe``, ``scale``, ``balance``, ``model``), e.g.
        ``model__deep__model__estimator__max_epochs``. With ``bias_correction``
        the steps after ``equalize`` are one ``model`` step, an
        :class:`~skage.refine.AgeBiasCorrector` around them.

    Examples
    --------
    >>> from skage.pipeline import make_age_pipeline
    >>> pipe = make_age_pipeline(image_size=64, max_epochs=2, knn=False)
    >>> [name for name, _ in pipe.steps]
    ['check', 'align', 'faces', 'equalize', 'parse', 'balance', 'model']
    >>> [name for name, _ in make_age_pipeline(model="descriptor").steps]
    ['check', 'align', 'faces', 'equalize', 'degrade', 'describe', 'scale', 'balance', 'model']
    >>> [name for name, _ in make_age_pipeline(model="ensemble").named_steps["model"].estimators]
    ['deep', 'descriptor']
    """
    from ..alignment import HistogramEqualizer
    from ..sampling import AgeBinResampler, DropNoFace, DropUnreadable

    if model not in MODELS:
        raise ValueError(f"model must be one of {MODELS}, got {model!r}")
    if no_face not in ("blank", "center"):
        raise ValueError(f"no_face must be 'blank' (no age) or 'center' (a centre crop's age), got {no_face!r}")
    _check_strength(bias_correction)
    _check_degrade(degrade, model)
    if model == "two_networks":
        return _two_networks_pipeline(detector=detector, no_face=no_face, equalize=equalize, knn=knn,
                                      regressor=regressor, balance=balance, degrade=degrade,
                                      bias_correction=bias_correction,
                                      device=device, random_state=random_state, n_jobs=n_jobs, memory=memory,
                                      progress=progress, image_size=image_size, align=align, net_params=net_params)
    if model == "ensemble":
        pipe = _ensemble(image_size=image_size, max_epochs=max_epochs, batch_size=batch_size, device=device,
                         align=align, detector=detector, no_face=no_face, equalize=equalize, attention=attention,
                         balance=balance, knn=knn, regressor=regressor, bin_weights=bin_weights, degrade=degrade,
                         random_state=random_state, n_jobs=n_jobs, memory=memory, verbose=verbose, progress=progress,
                         net_params=net_params)
        return _bias_corrected(pipe, bias_correction, random_state)
    if model == "descriptor":
        _check_descriptor_options(image_size, align, net_params)
        (align_step, *feature_steps), estimator = _descriptor_steps(
            detector=detector, no_face=no_face, knn=knn, regressor=regressor, bin_weights=bin_weights,
            degrade=degrade, device=device, random_state=random_state, n_jobs=n_jobs, memory=memory,
            progress=progress)
    else:
        if regressor is not None or bin_weights:
            raise ValueError("regressor and bin_weights belong to model='descriptor'; AgeNet balances its loss "
                             "with net_params={'lambda_cb': ...}")
        (align_step, *feature_steps), estimator = _resnet_steps(
            image_size=image_size, max_epochs=max_epochs, batch_size=batch_size, device=device, align=align,
            detector=detector, no_face=no_face, attention=attention, balance=balance, knn=knn,
            random_state=random_state, n_jobs=n_jobs, memory=memory, verbose=verbose, progress=progress,
            net_params=net_params)
    pipe = AgePipeline([
        ("check", DropUnreadable(n_jobs=n_jobs, memory=memory)),
        align_step,
        ("faces", DropNoFace()),  # blank chips: no face found (or unreadable); never trained on
        ("equalize", HistogramEqualizer() if equalize else "passthrough"),
        *feature_steps,
        ("balance", AgeBinResampler(random_state=random_state) if balance else "passthrough"),
        ("model", estimator),
    ])
    return _bias_corrected(pipe, bias_correction, random_state)


def _ensemble(*, image_size, align, max_epochs, batch_size, attention, verbose, regressor, bin_weights, degrade,
              net_params, **shared):
    from sklearn.ensemble import VotingRegressor

    net_params = dict(net_params or {})
    if net_params.setdefault("backbone", "dlib_resnet") != "dlib_resnet":
        raise ValueError("model='ensemble' fine-tunes dlib's face ResNet on the descriptor's face chips; "
                         f"net_params['backbone'] must be 'dlib_resnet', got {net_params['backbone']!r}")
    deep = make_age_pipeline(model="resnet", image_size=image_size, align=align, max_epochs=max_epochs,
                             batch_size=batch_size, attention=attention, verbose=verbose, net_params=net_params,
                             **shared)
    described = make_age_pipeline(model="descriptor", image_size=image_size, align=align, regressor=regressor,
                                  bin_weights=bin_weights, degrade=degrade, **shared)
    # Both members read the same 150-px dlib chips: the chips are made once, before the vote.
    shared_steps, deep_steps = deep.steps[:_SHARED], deep.steps[_SHARED:]
    members = [("deep", Pipeline(deep_steps)), ("descriptor", Pipeline(described.steps[_SHARED:]))]
    return AgePipeline([*shared_steps, ("model", VotingRegressor(members))])


def _two_networks_pipeline(*, balance, degrade, bias_correction, **descriptor_options):
    from ._two_networks import DEGRADE, two_networks

    if bias_correction is not None:
        raise ValueError("bias_correction is not measured for model='two_networks'; use 'descriptor' or 'ensemble'")
    # the descriptor member's recipe: degraded copies, and class-balanced weights for the resampler
    descriptor = make_age_pipeline(model="descriptor", balance=False, bin_weights=balance,
                                   degrade=DEGRADE if degrade is None else degrade, **descriptor_options)
    return two_networks(descriptor=Pipeline(descriptor.steps[1:]), age_network_weight=0.5,
                        check=descriptor.named_steps["check"])


def _check_degrade(degrade, model):
    if degrade is None:
        return
    if isinstance(degrade, bool) or not isinstance(degrade, (int, float)) or not degrade > 0:
        raise ValueError(f"degrade must be a number of degraded copies per chip above 0, or None; got {degrade!r}")
    if model == "resnet":
        raise ValueError("degrade adds degraded chips for model='descriptor' (and the ensemble's descriptor member); "
                         "AgeNet is not trained on them yet")


def _check_strength(strength):
    if strength is not None and (isinstance(strength, bool) or not isinstance(strength, (int, float))
                                 or not 0 < strength <= 1):
        raise ValueError(f"bias_correction must be a strength in (0, 1] or None, got {strength!r}")


def _bias_corrected(pipe, strength, random_state):
    from ..refine import AgeBiasCorrector

    if strength is None:
        return pipe
    # The corrector wraps everything after the shared chips, the resampler included: its held-out
    # faces must be real faces, not the resampler's copies of training faces.
    shared, rest = pipe.steps[:_SHARED], pipe.steps[_SHARED:]
    model = rest[0][1] if len(rest) == 1 else Pipeline(rest)
    # A fifth held out: one extra fit, where 5 folds would train a network five more times.
    corrector = AgeBiasCorrector(model, strength=strength, cv=0.2, random_state=random_state)
    return AgePipeline([*shared, ("model", corrector)])


def _aligner(detector, no_face, n_jobs, memory, progress, **geometry):
    from ..alignment import FaceAligner

    return FaceAligner(detector=detector, on_failure=no_face, n_jobs=n_jobs, memory=memory, progress=progress,
                       **geometry)


def _resnet_steps(*, image_size, max_epochs, batch_size, device, align, detector, no_face, attention, balance, knn,
                  random_state, n_jobs, memory, verbose, progress, net_params):
    from ..io import ImageLoader
    from ..nn import AgeNet
    from ..parsing import FaceParser
    from ..refine import KNNAgeRefiner

    net_params = {**_BACKBONE_RECIPES.get((net_params or {}).get("backbone"), {}), **(net_params or {})}
    chips = _BACKBONE_CHIPS.get(net_params.get("backbone"), _DEFAULT_CHIPS)
    image_size = chips["size"] if image_size is None else image_size
    if align:
        first = _aligner(detector, no_face, n_jobs, memory, progress, output_size=image_size,
                         geometry=chips["geometry"], landmarks=chips["landmarks"], margin=chips.get("margin"))
    else:
        first = ImageLoader(image_size=image_size, n_jobs=n_jobs)
    if balance and "cb_counts" not in net_params:
        # Resampled bins are equally frequent: say "unweighted" outright instead of computing
        # weights that are all 1 (and warning about it); cb_counts restore the weighting.
        net_params.setdefault("cb_beta", 0.0)
    if progress:
        from skorch.callbacks import ProgressBar

        from ..nn import TrainingTimeEstimate

        net_params["callbacks"] = [*net_params.get("callbacks", []), ("progress", ProgressBar()),
                                   ("time_estimate", TrainingTimeEstimate())]
    net = AgeNet(attention=attention, max_epochs=max_epochs, batch_size=batch_size, device=device,
                 random_state=random_state, verbose=verbose, **net_params)
    parse = FaceParser(geometry=chips["geometry"], margin=chips.get("margin"), n_jobs=n_jobs) if attention \
        else "passthrough"
    return (("align", first), ("parse", parse)), KNNAgeRefiner(estimator=net) if knn else net


def _check_descriptor_options(image_size, align, net_params):
    from ..features import CHIP_SIZE

    if image_size not in (None, CHIP_SIZE):
        raise ValueError(f"model='descriptor' uses dlib's {CHIP_SIZE}-px face chips; image_size must be "
                         f"{CHIP_SIZE} or None, got {image_size!r}")
    if not align:
        raise ValueError("model='descriptor' needs align=True: dlib's descriptor is defined on its own face chip")
    if net_params:
        raise ValueError("net_params configure AgeNet (model='resnet'); the descriptor model has no network to "
                         "train: pass regressor= or set_params(model__estimator__...) instead")


def _descriptor_steps(*, detector, no_face, knn, regressor, bin_weights, degrade, device, random_state, n_jobs,
                      memory, progress):
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    from ..augment import DegradedCopies
    from ..features import CHIP_SIZE, FaceDescriptor
    from ..features._baselines import SVR_C, SVR_EPSILON
    from ..refine import KNNAgeRefiner
    from ..sampling import AgeBinWeightedRegressor

    # 5 landmarks: dlib's descriptor chip is defined on them, and the 5-point model is CC0.
    aligner = _aligner(detector, no_face, n_jobs, memory, progress, landmarks=5, geometry="dlib",
                       output_size=CHIP_SIZE)
    describe = FaceDescriptor(**_DESCRIPTOR_FEATURES, device=device, n_jobs=n_jobs, memory=memory)
    estimator = SVR(C=SVR_C, epsilon=SVR_EPSILON) if regressor is None else regressor
    if bin_weights:
        estimator = AgeBinWeightedRegressor(estimator)
    knn_params = dict(_DESCRIPTOR_KNN, blend=_DESCRIPTOR_KNN["blend"] if knn else 0.0)
    refiner = KNNAgeRefiner(estimator=estimator, metric="cosine", embedding="input", random_state=random_state,
                            **knn_params)
    copies = DegradedCopies(n_copies=degrade, random_state=random_state) if degrade else "passthrough"
    # standardised for the regressor and for the cosine neighbour search alike
    return (("align", aligner), ("degrade", copies), ("describe", describe), ("scale", StandardScaler())), refiner
