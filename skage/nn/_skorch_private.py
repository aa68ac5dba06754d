"""Every use of skorch's private API in skage, in one place.

skorch has public hooks for most of what AgeNet changes (``initialize_module``,
``initialize_criterion``, ``initialize_callbacks``, ``get_params_for_optimizer``,
``get_iterator``, ``infer``, ``fit`` -> ``partial_fit``). For the rest it has
none; this module is the only place that touches skorch's private names, and
``tests/nn/test_skorch_private.py`` fails when an upgrade changes any of them
(and on any skorch other than :data:`SKORCH_CHECKED`, to make the check happen):

- ``NeuralNet._modules``, ``_criteria``, ``_optimizers``: the names of a
  net's torch components (skorch registers extra ones there too); read by
  :func:`component_names` (AgeNet's compiled components, AcceleratedAgeNet's
  buffers, and ``skage.pipeline``'s model files).
- ``NeuralNet._initialize_module``, ``_initialize_criterion``,
  ``_initialize_optimizer`` (``reason=``): re-initialise one part of an
  initialized net, device and ``torch.compile`` included, as skorch's own
  ``set_params`` does for ``module__*`` parameters; :func:`reinitialize`
  does it for AgeNet's top-level parameters.
- ``AccelerateMixin._initialize_accelerator`` prepares every criterion of
  ``_criteria``; :func:`criteria_hidden` hides those without trainable
  parameters from it (AcceleratedAgeNet overrides that method: skorch has no
  public hook between building the components and preparing them).
- ``NeuralNet.set_params`` raises on an initialized net for parameters that
  re-initialize nothing (``iterator_train__*``, ``iterator_valid__*``,
  ``dataset__*``), which AgeNet reads at each fit and predict:
  :data:`LOADER_PREFIXES` are stored directly (no private name, but skorch
  behaviour the test pins, so that the workaround goes when skorch fixes it).
"""

from contextlib import contextmanager

#: The skorch version whose private names this module was checked against.
SKORCH_CHECKED = "1.4.0"

#: Parameters skorch's set_params refuses on an initialized net; AgeNet reads them at each fit/predict.
LOADER_PREFIXES = ("iterator_train__", "iterator_valid__", "dataset__")

_KINDS = {"modules": "_modules", "criteria": "_criteria", "optimizers": "_optimizers"}


def component_names(net, *kinds):
    """Names of the net's components of ``kinds`` (``"modules"``, ``"criteria"``, ``"optimizers"``), in order."""
    return [name for kind in kinds for name in getattr(net, _KINDS[kind])]


def reinitialize(net, *parts):
    """Re-initialise ``parts`` (``"module"``, ``"criterion"``, ``"optimizer"``) of an initialized net, in that order."""
    for part in ("module", "criterion", "optimizer"):
        if part in parts:
            getattr(net, f"_initialize_{part}")(reason=f"Re-initializing {part}.")


@contextmanager
def criteria_hidden(net, names):
    """Inside the block, the net's criteria leave out ``names``."""
    criteria = net._criteria
    net._criteria = [name for name in criteria if name not in names]
    try:
        yield
    finally:
        net._criteria = criteria
