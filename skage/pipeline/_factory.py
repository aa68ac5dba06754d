"""``make_age_pipeline``: every ablation row is this one function with other switches."""

from imblearn.pipeline import Pipeline


def make_age_pipeline(*, image_size=224, max_epochs=40, batch_size=64, device="auto", align=True,
                      detector="hog", equalize=False, attention=True, balance=True, knn=True,
                      random_state=None, n_jobs=None, memory=None, verbose=1, progress=False, net_params=None):
    """Build the skage pipeline: read → align → parse → balance → AgeNet → KNN refine.

    Parameters
    ----------
    image_size : int, default=224
        Side of the aligned chips and of the network input.
    max_epochs, batch_size : int
        Training length and batch size of :class:`skage.nn.AgeNet`.
    device : {"auto", "cpu", "cuda"}, default="auto"
    align : bool, default=True
        Detect, landmark and align faces with :class:`skage.alignment.FaceAligner`;
        ``False`` only reads and resizes inputs that are already face crops.
    detector : {"hog", "cnn", "none"}, default="hog"
        The aligner's face detector; ``"none"`` landmarks whole inputs as faces.
    equalize : bool, default=False
        Adaptive histogram equalization (CLAHE) after alignment.
    attention : bool, default=True
        Region masks from :class:`skage.parsing.FaceParser` and the parsing-attention
        network; ``False`` is the CNN-only model on plain RGB chips.
    balance : bool, default=True
        Resample age bins during ``fit`` with :class:`skage.sampling.AgeBinResampler`.
    knn : bool, default=True
        Wrap the network in :class:`skage.refine.KNNAgeRefiner`.
    random_state : int, optional
        Seeds the resampler and the network.
    n_jobs : int, optional
        Parallel workers of the alignment and parsing stages.
    memory : str or joblib.Memory, optional
        Caches aligned chips so that ``GridSearchCV`` aligns each image once.
    verbose : int, default=1
        The network's training log; 0 is silent.
    progress : bool, default=False
        tqdm progress bars for alignment and for the batches of each training epoch.
    net_params : dict, optional
        Further :class:`skage.nn.AgeNet` parameters (e.g. ``backbone``, ``lr``,
        ``lambda_cb``), the same whether or not the net is wrapped by the KNN stage.

    Returns
    -------
    pipeline : imblearn.pipeline.Pipeline
        Steps ``read``/``align``, ``equalize``, ``parse``, ``balance``, ``model``;
        a switched-off stage is ``"passthrough"`` so that parameter names stay the
        same across the ablation rows (e.g. ``model__estimator__max_epochs`` when
        ``knn=True``, ``model__max_epochs`` otherwise).

    Examples
    --------
    >>> from skage.pipeline import make_age_pipeline
    >>> pipe = make_age_pipeline(image_size=64, max_epochs=2, knn=False)
    >>> [name for name, _ in pipe.steps]
    ['align', 'equalize', 'parse', 'balance', 'model']
    """
    from ..alignment import FaceAligner, HistogramEqualizer
    from ..io import ImageLoader
    from ..nn import AgeNet
    from ..parsing import FaceParser
    from ..refine import KNNAgeRefiner
    from ..sampling import AgeBinResampler

    if align:
        first = FaceAligner(detector=detector, output_size=image_size, n_jobs=n_jobs, memory=memory,
                            progress=progress)
    else:
        first = ImageLoader(image_size=image_size, n_jobs=n_jobs)
    net_params = dict(net_params or {})
    if progress:
        from skorch.callbacks import ProgressBar

        net_params["callbacks"] = [*net_params.get("callbacks", []), ("progress", ProgressBar())]
    net = AgeNet(attention=attention, max_epochs=max_epochs, batch_size=batch_size, device=device,
                 random_state=random_state, verbose=verbose, **net_params)
    return Pipeline([
        ("align", first),
        ("equalize", HistogramEqualizer() if equalize else "passthrough"),
        ("parse", FaceParser(n_jobs=n_jobs) if attention else "passthrough"),
        ("balance", AgeBinResampler(random_state=random_state) if balance else "passthrough"),
        ("model", KNNAgeRefiner(estimator=net) if knn else net),
    ])
