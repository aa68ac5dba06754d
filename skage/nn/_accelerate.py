"""AcceleratedAgeNet: AgeNet trained under Hugging Face Accelerate (multi-GPU, multi-node, bf16)."""


import torch
from sklearn.base import clone
from sklearn.utils._param_validation import HasMethods, StrOptions
from skorch.hf import AccelerateMixin

from ._estimator import AgeNet
from ._skorch_private import component_names, criteria_hidden


class AcceleratedAgeNet(AccelerateMixin, AgeNet):
    """:class:`AgeNet` whose training runs under an ``accelerate.Accelerator``.

    skorch's :class:`~skorch.hf.AccelerateMixin` on AgeNet: launched with
    ``accelerate launch`` or ``torchrun``, every process trains on its share
    of each epoch's batches and gradients are averaged across processes
    (distributed data parallel), on any number of GPUs and nodes; in a plain
    ``python`` process it trains on one device. Predictions (ages,
    distributions, embeddings) are gathered from all processes, in input
    order, so every process holds all of them: :class:`skage.refine.KNNAgeRefiner`
    builds its index and predicts on the gathered embeddings as it would
    for :class:`AgeNet`.

    The :class:`~accelerate.Accelerator` owns what AgeNet otherwise decides
    itself:

    - device placement: leave ``device=None`` (the accelerator puts the
      network and each batch on its process's device);
    - mixed precision: ``Accelerator(mixed_precision="bf16")`` autocasts
      training and prediction to bfloat16; ``"no"`` keeps fp32. AgeNet's
      ``amp`` must stay ``"auto"`` (it is not consulted).

    The rest is AgeNet's: uint8 chips are normalised and augmented on the
    device, one batch at a time; the loss, its class-balanced weights and
    the cosine learning-rate schedule (stepped once per epoch, whatever the
    number of processes) are unchanged. All parameters of :class:`AgeNet`
    apply, with those below.

    Parameters
    ----------
    accelerator : accelerate.Accelerator
        E.g. ``Accelerator(mixed_precision="bf16")``; ``Accelerator(cpu=True)``
        trains on the CPU. Gradient accumulation:
        ``Accelerator(gradient_accumulation_steps=k)``.
    device : None, default=None
        Must stay None while the accelerator places devices (its default).
    unwrap_after_train : bool, default=True
        Restore the plain network after training (needed to pickle it or to
        save it with :func:`skage.pipeline.save_model`).
    **kwargs
        :class:`AgeNet` parameters.

    Notes
    -----
    ``batch_size`` is per process: with 8 GPUs and ``batch_size=64`` each
    optimiser step sees 512 chips; scale ``lr`` accordingly. Every process
    gets the same seed from ``random_state`` (same initial weights, same
    ``train_split``), so the augmentation draws repeat from one process to
    the next on different chips. Clones (``sklearn.base.clone``, hence
    :class:`~skage.refine.KNNAgeRefiner` and ``GridSearchCV``) share the
    accelerator: one per process. The net keeps a reference to it, which
    does not pickle: save the weights with ``save_params``, or hand
    ``module_`` on to an :class:`AgeNet`.

    Examples
    --------
    >>> import numpy as np
    >>> from accelerate import Accelerator
    >>> from skage.nn import AcceleratedAgeNet
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(8, 32, 32, 5), dtype=np.uint8)  # RGB + 2 masks
    >>> y = rng.uniform(1, 80, size=8)
    >>> net = AcceleratedAgeNet(accelerator=Accelerator(cpu=True, mixed_precision="bf16"), backbone="resnet18",
    ...                         max_epochs=1, batch_size=4, verbose=0, random_state=0).fit(X, y)
    >>> net.predict(X).shape
    (8,)
    """

    _parameter_constraints = {
        **AgeNet._parameter_constraints,
        "accelerator": [HasMethods(["prepare"])],
        "unwrap_after_train": ["boolean"],
        "callbacks__print_log__sink": [StrOptions({"auto"}), callable],
    }

    def _check_params(self):
        super()._check_params()
        if self.amp != "auto":
            raise ValueError("AcceleratedAgeNet: mixed precision is the accelerator's, e.g. "
                             "Accelerator(mixed_precision='bf16'); leave amp='auto'")

    def initialize(self):
        # The mixin's initialize replaces AgeNet's, which checks the parameters first.
        self._check_params()
        return super().initialize()

    def __sklearn_clone__(self):
        # An Accelerator is the process's handle on its device and process group, with the
        # models it prepared: clones (KNNAgeRefiner, GridSearchCV) share it, never copy it.
        params = self.get_params(deep=False)
        return type(self)(**{name: value if name == "accelerator" else clone(value, safe=False)
                             for name, value in params.items()})

    def initialize_callbacks(self):
        # The mixin has just swapped a sink of "auto" for accelerator.print, in the parameter itself;
        # parameters stay as given (get_params, clone).
        auto = self.callbacks__print_log__sink in ("auto", getattr(self.accelerator, "print", print))
        super().initialize_callbacks()
        if auto:
            self.callbacks__print_log__sink = "auto"
        print_log = dict(self.callbacks_).get("print_log")
        if auto and print_log is not None:
            # PrintLog silences verbose=0 only when its sink is print itself; accelerator.print
            # (one process prints) it would call regardless.
            print_log.sink = self.accelerator.print if self.verbose else print
        return self

    def _initialize_accelerator(self):
        # With several processes, accelerator.prepare wraps each module in DistributedDataParallel,
        # which refuses one without trainable parameters: AgeLoss (its bin weights are a buffer).
        # Such a criterion has no gradients to average; it only needs to be on the device.
        # skorch has no public hook between building the components and preparing them (_skorch_private).
        frozen = []
        for name in component_names(self, "criteria"):
            criterion = getattr(self, name + "_")
            if isinstance(criterion, torch.nn.Module) and not any(p.requires_grad for p in criterion.parameters()):
                setattr(self, name + "_", criterion.to(self.accelerator.device))
                frozen.append(name)
        with criteria_hidden(self, frozen):
            return super()._initialize_accelerator()

    def on_train_end(self, net, X=None, y=None, **kwargs):
        # DDP copies process 0's buffers (BatchNorm statistics) to the others at the start of each
        # forward pass, so after the last step each process holds statistics of its own last batch;
        # predictions would then depend on which process a batch went to. Finish with process 0's.
        if self.accelerator.num_processes > 1:
            for name in component_names(self, "modules"):
                module = getattr(self, name + "_")
                if isinstance(module, torch.nn.Module):
                    for buffer in module.buffers():
                        torch.distributed.broadcast(buffer, src=0)
        return super().on_train_end(net, X=X, y=y, **kwargs)

    def _device_is_accelerators(self):
        # AgeNet reads self.device for the loaders' defaults and for the batches' device; with
        # Accelerate the parameter stays None (the mixin requires it), so lend it the accelerator's.
        return self._lend_device(self.accelerator.device)

    def _rng_device(self):
        # AgeNet's seeding on the accelerator's device: the same seed in every process.
        return self.accelerator.device

    def _autocast(self, training):
        return self.accelerator.autocast()

    def _model_input(self, x, augment):
        with self._device_is_accelerators():
            return super()._model_input(x, augment)

    def get_iterator(self, dataset, training=False):
        with self._device_is_accelerators():
            return super().get_iterator(dataset, training=training)

    def train_step_single(self, batch, **fit_params):
        # The mixin's step (it comes first in the MRO), with AgeNet's on-device normalisation and augmentation first.
        return super().train_step_single(self._model_batch(batch), **fit_params)
