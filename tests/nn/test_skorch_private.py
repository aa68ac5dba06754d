"""skorch's private API that skage.nn._skorch_private relies on: these fail when a skorch upgrade changes it.

When one fails, re-check every entry of the module's docstring against the new skorch, adapt the
module (or drop a workaround skorch made unneeded), then bump SKORCH_CHECKED.
"""

import copy
import inspect

import numpy as np

import pytest
import skorch
import torch
from skorch import NeuralNetRegressor
from skorch.hf import AccelerateMixin

from skage.nn._skorch_private import (LOADER_PREFIXES, SKORCH_CHECKED, component_names, criteria_hidden,
                                      reinitialize)


class _Linear(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 1)

    def forward(self, x):
        return self.fc(x)


@pytest.fixture
def plain_net():
    return NeuralNetRegressor(_Linear, max_epochs=1, verbose=0).initialize()


def test_the_checked_skorch_is_installed():
    assert skorch.__version__ == SKORCH_CHECKED, (
        f"skorch {skorch.__version__} is not the {SKORCH_CHECKED} whose private API skage.nn._skorch_private "
        "was checked against: re-check the list in its docstring, then bump SKORCH_CHECKED")


def test_component_registries(plain_net):
    assert component_names(plain_net, "modules", "criteria", "optimizers") == ["module", "criterion", "optimizer"]
    assert isinstance(plain_net.module_, _Linear)


def test_reinitialize_rebuilds_each_part(plain_net):
    old = plain_net.module_, plain_net.criterion_, plain_net.optimizer_
    for name in ("_initialize_module", "_initialize_criterion", "_initialize_optimizer"):
        assert "reason" in inspect.signature(getattr(plain_net, name)).parameters
    reinitialize(plain_net, "criterion", "optimizer")
    assert plain_net.module_ is old[0] and plain_net.criterion_ is not old[1] and plain_net.optimizer_ is not old[2]
    reinitialize(plain_net, "module")
    assert plain_net.module_ is not old[0]


def test_the_accelerate_mixin_prepares_the_registered_criteria(plain_net):
    # AcceleratedAgeNet hides its frozen criteria from this method through _criteria.
    source = inspect.getsource(AccelerateMixin._initialize_accelerator)
    assert "for name in self._criteria" in source and "self.accelerator.prepare(criterion)" in source
    assert "self._initialize_accelerator()" in inspect.getsource(AccelerateMixin.initialize)
    with criteria_hidden(plain_net, ["criterion"]):
        assert component_names(plain_net, "criteria") == []
    assert component_names(plain_net, "criteria") == ["criterion"]


def test_the_accelerate_mixin_swaps_the_auto_sink_before_building_callbacks():
    # AcceleratedAgeNet.initialize_callbacks puts "auto" back after this swap.
    source = inspect.getsource(AccelerateMixin._initialize_callbacks)
    assert "self.callbacks__print_log__sink = print_func" in source
    assert source.index("print_func") < source.index("super()._initialize_callbacks()")


def test_skorch_still_refuses_loader_parameters_on_an_initialized_net(plain_net):
    # The reason AgeNet.set_params stores LOADER_PREFIXES itself; when this stops raising, drop that.
    for prefix in LOADER_PREFIXES[:2]:
        with pytest.raises(ValueError, match="Something went wrong"):
            plain_net.set_params(**{prefix + "batch_size": 3})


def test_agenet_takes_loader_parameters_once_initialized(fitted_agenet, chips):
    X, _ = chips
    net = copy.deepcopy(fitted_agenet)
    before = net.predict(X)
    net.set_params(iterator_valid__batch_size=3)
    assert net.get_params()["iterator_valid__batch_size"] == 3
    np.testing.assert_allclose(net.predict(X), before, rtol=1e-5)


def test_neuralnet_fit_goes_on_to_partial_fit():
    # AgeNet.fit calls NeuralNet.fit, which must reach self.partial_fit (AgeNet skips its checks there).
    assert "self.partial_fit(" in inspect.getsource(skorch.NeuralNet.fit)
