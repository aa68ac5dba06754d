"""``make_descriptor_pipeline``: dlib's pretrained face descriptors under a scikit-learn regressor."""

from numbers import Real

from sklearn.utils._param_validation import HasMethods, Interval, validate_params

from ._age_pipeline import AgePipeline
from ._chips import CHIP_CONSTRAINTS, STRENGTH, bias_corrected, chip_steps, refuse_bool, with_chip_options

# The descriptor model's features and KNN stage. dlib's inner stages 3 and 4 (averaged over
# space, chip and mirror image) carry more age than its identity descriptor; neighbours are
# searched among the standardised features. Chosen on the dev chips' 70/30 split
# (benchmarks/results/descriptor_dev_cpu.md).
_DESCRIPTOR_FEATURES = {"engine": "torch", "layers": ("layer3", "layer4"), "flip": True}
_DESCRIPTOR_KNN = {"n_neighbors": 20, "blend": 0.2}

#: ``validate_params`` constraints of the descriptor model's own options.
DESCRIPTOR_CONSTRAINTS = {
    "balance": ["boolean"],
    "knn": ["boolean"],
    "regressor": [HasMethods(["fit", "predict"]), None],
    "bin_weights": ["boolean"],
    "degrade": [Interval(Real, 0, None, closed="neither"), None],
    "device": [str],
}


@with_chip_options
@validate_params({**CHIP_CONSTRAINTS, **DESCRIPTOR_CONSTRAINTS, "bias_correction": STRENGTH},
                 prefer_skip_nested_validation=True)
def make_descriptor_pipeline(*, balance=True, knn=True, regressor=None, bin_weights=False, degrade=None,
                             bias_correction=None, device="auto", detector="auto", no_face="blank", equalize=False,
                             random_state=None, n_jobs=None, memory=None, progress=False):
    """dlib's pretrained face descriptors under a regressor; trains on thousands of faces in minutes on a CPU.

    Steps ``check`` → ``align`` (dlib's 150-px face chips from its 5 CC0
    landmarks, the chip the descriptor is defined on) → ``faces`` →
    ``equalize`` (the chip front-end every model shares) → ``degrade``
    (:class:`skage.augment.DegradedCopies`, fit only) → ``describe``
    (:class:`skage.features.FaceDescriptor`: dlib's stages 3 and 4, chip and
    mirror image) → ``scale`` (``StandardScaler``) → ``balance``
    (:class:`skage.sampling.AgeBinResampler`, fit only) → ``model``
    (:class:`skage.refine.KNNAgeRefiner` around the regressor, cosine
    neighbours among the standardised features). A switched-off stage is
    ``"passthrough"``; ``knn=False`` keeps the refiner with ``blend=0``, so
    that parameter names do not change between rows and unreadable inputs
    still get NaN ages.

    Parameters
    ----------
    balance : bool, default=True
        Over-sample age bins during ``fit``.
    knn : bool, default=True
        Blend in the ages of the 20 nearest training faces (``blend=0.2``).
    regressor : scikit-learn regressor, default=None
        The regressor on standardised features; ``None`` is an RBF SVR
        (``C=30``, ``epsilon=1`` year).
    bin_weights : bool, default=False
        Fit the regressor with class-balanced per-bin sample weights
        (:class:`skage.sampling.AgeBinWeightedRegressor`).
    degrade : float, default=None
        Add this many degraded copies of each training chip during ``fit``
        (gray, colour casts, faded prints, low contrast, blur, low
        resolution, noise, JPEG), so that old, gray or soft photos are not
        read as old people; features are computed for the copies too, so
        training takes about ``1 + degrade`` times as long.
    bias_correction : float in (0, 1], default=None
        Undo this share of the ages' pull toward the middle of the training
        ages, measured on a held-out fifth of the training faces
        (:class:`skage.refine.AgeBiasCorrector`; one extra fit). The steps
        after ``equalize`` then move into the corrector:
        ``model__estimator__balance__...``.
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where the descriptor network runs.
    {chip_options}
    Returns
    -------
    pipeline : AgePipeline

    Examples
    --------
    >>> from skage.pipeline import make_descriptor_pipeline
    >>> [name for name, _ in make_descriptor_pipeline().steps]
    ['check', 'align', 'faces', 'equalize', 'degrade', 'describe', 'scale', 'balance', 'model']
    """
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVR

    from ..augment import DegradedCopies
    from ..features import CHIP_SIZE, FaceDescriptor
    from ..features._baselines import SVR_C, SVR_EPSILON
    from ..refine import KNNAgeRefiner
    from ..sampling import AgeBinResampler, AgeBinWeightedRegressor

    refuse_bool(degrade=degrade)
    # 5 landmarks: dlib's descriptor chip is defined on them, and the 5-point model is CC0.
    front = chip_steps(geometry="dlib", landmarks=5, size=CHIP_SIZE, detector=detector, no_face=no_face,
                       equalize=equalize, n_jobs=n_jobs, memory=memory, progress=progress)
    estimator = SVR(C=SVR_C, epsilon=SVR_EPSILON) if regressor is None else regressor
    if bin_weights:
        estimator = AgeBinWeightedRegressor(estimator)
    knn_params = dict(_DESCRIPTOR_KNN, blend=_DESCRIPTOR_KNN["blend"] if knn else 0.0)
    pipe = AgePipeline([
        *front,
        ("degrade", DegradedCopies(n_copies=degrade, random_state=random_state) if degrade else "passthrough"),
        ("describe", FaceDescriptor(**_DESCRIPTOR_FEATURES, device=device, n_jobs=n_jobs, memory=memory)),
        # standardised for the regressor and for the cosine neighbour search alike
        ("scale", StandardScaler()),
        ("balance", AgeBinResampler(random_state=random_state) if balance else "passthrough"),
        ("model", KNNAgeRefiner(estimator=estimator, metric="cosine", embedding="input", random_state=random_state,
                                **knn_params)),
    ])
    return bias_corrected(pipe, bias_correction, random_state)
