"""``make_age_pipeline``, which picks the builder of a model family."""

import inspect

from sklearn.utils._param_validation import StrOptions, validate_params

from ._age_network import make_age_network_pipeline
from ._descriptor import make_descriptor_pipeline
from ._ensemble import make_ensemble_pipeline
from ._resnet import make_resnet_pipeline
from ._stacked import make_stacked_pipeline
from ._two_networks import make_two_networks_pipeline

#: The model families, each built by its own function: the paper's network
#: (:func:`make_resnet_pipeline`), dlib's pretrained face descriptors under a regressor
#: (:func:`make_descriptor_pipeline`), both averaged on dlib's face chips
#: (:func:`make_ensemble_pipeline`), and the descriptor model averaged with dlib's CC0 age network
#: (:func:`make_two_networks_pipeline`), and that age network fine-tuned on the user's faces without
#: forgetting what it knew (:func:`make_age_network_pipeline`), and the default: both networks' tops
#: and the shipped age network stacked out of fold (:func:`make_stacked_pipeline`).
MODELS = ("stacked", "resnet", "descriptor", "ensemble", "two_networks", "age_network")

#: What ``make_age_pipeline()`` and ``skage fit`` build when no model is named.
DEFAULT_MODEL = "stacked"


def _builders():
    return dict(zip(MODELS, (make_stacked_pipeline, make_resnet_pipeline, make_descriptor_pipeline, make_ensemble_pipeline,
                             make_two_networks_pipeline, make_age_network_pipeline)))


# nested validation on: the builder called next validates its own options
@validate_params({"model": [StrOptions(set(MODELS))]}, prefer_skip_nested_validation=False)
def make_age_pipeline(*, model=DEFAULT_MODEL, **options):
    """Build the pipeline of one model family: ``make_age_pipeline(model=...)`` calls its builder.

    Parameters
    ----------
    model : {"stacked", "resnet", "descriptor", "ensemble", "two_networks", "age_network"}, default="stacked"
        ``"stacked"``: :func:`make_stacked_pipeline`, one model for every
        kind of photo, trained in minutes on a CPU; ``"resnet"``:
        :func:`make_resnet_pipeline`, the paper's network
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
    >>> [name for name, _ in make_age_pipeline().steps]
    ['check', 'align', 'faces', 'equalize', 'model']
    >>> pipe = make_age_pipeline(model="resnet", image_size=64, max_epochs=2, knn=False)
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
