"""``AgePipeline``, the pipeline every builder returns, and ``make_age_pipeline``, which picks the builder."""

import inspect

import numpy as np
from imblearn.pipeline import Pipeline
from sklearn.utils._param_validation import StrOptions, validate_params
from sklearn.utils.validation import check_is_fitted

#: The model families, each built by its own function: the paper's network
#: (:func:`make_resnet_pipeline`), dlib's pretrained face descriptors under a regressor
#: (:func:`make_descriptor_pipeline`), both averaged on dlib's face chips
#: (:func:`make_ensemble_pipeline`), and the descriptor model averaged with dlib's CC0 age network
#: (:func:`make_two_networks_pipeline`), and that age network fine-tuned on the user's faces without
#: forgetting what it knew (:func:`make_age_network_pipeline`).
MODELS = ("resnet", "descriptor", "ensemble", "two_networks", "age_network")


def _builders():
    # imported when called: the builders import AgePipeline from here
    from ._age_network import make_age_network_pipeline
    from ._descriptor import make_descriptor_pipeline
    from ._ensemble import make_ensemble_pipeline
    from ._resnet import make_resnet_pipeline
    from ._two_networks import make_two_networks_pipeline

    return dict(zip(MODELS, (make_resnet_pipeline, make_descriptor_pipeline, make_ensemble_pipeline,
                             make_two_networks_pipeline, make_age_network_pipeline)))


class AgePipeline(Pipeline):
    """The pipeline skage's builders return: an imbalanced-learn ``Pipeline`` for image inputs.

    The same steps and parameters; two differences:

    - :meth:`predict`: no inputs give no ages (scikit-learn's steps, such as
      the descriptor model's ``StandardScaler``, refuse zero samples), so
      that a batch that happens to be empty needs no special case;
    - ``fit`` hands the age counts of the ``balance`` step
      (:class:`skage.sampling.AgeBinResampler`'s ``bin_counts_``, the ages
      *before* resampling) to a last step whose ``fit`` takes
      ``bin_counts`` (:class:`skage.nn.AgeNet`, also inside
      :class:`skage.refine.KNNAgeRefiner`): behind the resampler every bin is
      equally frequent, so class-balanced weights counted from the
      network's own input would all be 1.
    """

    def _fit(self, X, y=None, routed_params=None, raw_params=None):
        Xt, yt = super()._fit(X, y, routed_params, raw_params)
        # The samplers have run; imbalanced-learn fits the last step next, with routed_params.
        counts = self._bin_counts_for_last_step()
        if counts is not None:
            step = routed_params[self.steps[-1][0]]
            step["fit"] = {"bin_counts": counts, **step.get("fit", {})}  # one given by the caller wins
        return Xt, yt

    def _bin_counts_for_last_step(self):
        from ..refine import KNNAgeRefiner
        from ..sampling import AgeBinResampler

        balance = dict(self.steps[:-1]).get("balance")
        if not isinstance(balance, AgeBinResampler):  # switched off ("passthrough"), or not skage's
            return None
        learner = self.steps[-1][1]
        if isinstance(learner, KNNAgeRefiner):  # it hands its fit parameters to its estimator
            learner = learner.estimator
        fit = getattr(learner, "fit", None)
        return balance.bin_counts_ if fit and "bin_counts" in inspect.signature(fit).parameters else None

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


# nested validation on: the builder called next validates its own options
@validate_params({"model": [StrOptions(set(MODELS))]}, prefer_skip_nested_validation=False)
def make_age_pipeline(*, model="resnet", **options):
    """Build the pipeline of one model family: ``make_age_pipeline(model=...)`` calls its builder.

    Parameters
    ----------
    model : {"resnet", "descriptor", "ensemble", "two_networks", "age_network"}, default="resnet"
        ``"resnet"``: :func:`make_resnet_pipeline`, the paper's network
        (wants a GPU for full size); ``"descriptor"``:
        :func:`make_descriptor_pipeline`, dlib's face descriptors under an
        SVR (minutes on a CPU); ``"ensemble"``:
        :func:`make_ensemble_pipeline`, both averaged; ``"two_networks"``:
        :func:`make_two_networks_pipeline`, the descriptor model averaged
        with dlib's CC0 age network; ``"age_network"``:
        :func:`make_age_network_pipeline`, that network fine-tuned on the
        training faces, distilled from itself (for photos as users have them).
    **options
        The chosen builder's options; an option it does not take is refused,
        by name.

    Returns
    -------
    pipeline : AgePipeline
        Every family's pipeline starts with the same steps, ``check``,
        ``align``, ``faces``, ``equalize`` (``two_networks``: ``check``),
        and ends with ``model``.

    Examples
    --------
    >>> from skage.pipeline import make_age_pipeline
    >>> pipe = make_age_pipeline(image_size=64, max_epochs=2, knn=False)
    >>> [name for name, _ in pipe.steps]
    ['check', 'align', 'faces', 'equalize', 'parse', 'balance', 'model']
    >>> [name for name, _ in make_age_pipeline(model="descriptor").steps]
    ['check', 'align', 'faces', 'equalize', 'degrade', 'describe', 'scale', 'balance', 'model']
    >>> make_age_pipeline(model="descriptor", max_epochs=2)
    Traceback (most recent call last):
    ...
    ValueError: model='descriptor' does not take max_epochs; see make_descriptor_pipeline for its options
    """
    builder = _builders()[model]
    foreign = sorted(set(options) - set(builder_options(model)))
    if foreign:
        raise ValueError(f"model={model!r} does not take {', '.join(foreign)}; see {builder.__name__} for its "
                         "options")
    return builder(**options)


def builder_options(model):
    """The options ``make_age_pipeline(model=model, ...)`` takes: its builder's keyword arguments."""
    return tuple(inspect.signature(_builders()[model]).parameters)
