"""Training only the top of a pretrained network, on the activations of its frozen part computed once.

On a CPU, fine-tuning a whole network means running every chip through every layer in every epoch.
The lower layers of a network trained on many faces carry over unchanged (edges, textures, parts of
faces); what makes ages out of them sits in the last stage. So the frozen part runs once per chip
(:func:`trunk_activations`), and :class:`TopBlockRegressor` trains the last stage and a new age layer
on its maps: minutes instead of an hour for 15,000 chips and their degraded copies on 2 cores.
"""

import copy
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from skorch import NeuralNetRegressor
from skorch.callbacks import LRScheduler
from sklearn import get_config
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_parameter_constraints
from torch import nn
from torch.optim.lr_scheduler import OneCycleLR
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler

from .._dlib_networks import AGE_CHIP_PADDING, AGE_CHIP_SIZE, CHIP_SIZE

#: Where each top reads from: the network and the stage whose output is cached. dlib's face ResNet
#: (150-px chips) to its ``layer3`` (128 x 8 x 8), the CC0 age network (64-px chips) to its
#: ``layer2`` (128 x 7 x 7); the stage after is the one trained.
TRUNKS = {"face": "layer3", "age": "layer2"}

#: dlib's face chips carry padding 0.25 around the face; the age network's (0.2) is a centred crop of them.
FACE_CHIP_PADDING = 0.25


def _gaussian_targets(y, n_ages, sigma):
    ages = torch.arange(n_ages, dtype=torch.float32, device=y.device)
    y = y.float().reshape(-1, 1).clamp(0, n_ages - 1)
    weights = torch.exp(-0.5 * ((ages[None] - y) / sigma) ** 2)
    return weights / weights.sum(1, keepdim=True)


class AgeDistributionLoss(nn.Module):
    """Cross-entropy against a Gaussian over whole-year ages centred on the true age (label distribution).

    A face of 30 is also a little 29 and 31: a distribution target, rather than one class, keeps
    neighbouring ages close in the output (Gao et al., DLDL, 2017).

    Parameters
    ----------
    n_ages : int, default=101
        Classes: ages ``0 .. n_ages - 1``; older ages count as the last.
    sigma : float, default=3.0
        Standard deviation of the target, in years.

    Examples
    --------
    >>> import torch
    >>> from skage.nn import AgeDistributionLoss
    >>> loss = AgeDistributionLoss(n_ages=101, sigma=3.0)
    >>> float(loss(torch.zeros(2, 101), torch.tensor([20.0, 60.0]))) > 0
    True
    """

    def __init__(self, n_ages=101, sigma=3.0):
        super().__init__()
        self.n_ages = n_ages
        self.sigma = sigma

    def forward(self, logits, y):
        target = _gaussian_targets(y, self.n_ages, self.sigma)
        return -(target * F.log_softmax(logits.float(), dim=1)).sum(1).mean()


class _Top(nn.Module):
    """A network's last stage with an age layer over whole years: the part :class:`TopBlockRegressor` trains."""

    trunk = None  # key of TRUNKS: which cached maps it reads

    def forward(self, maps, teacher=None):  # ``teacher``: the frozen network's logits, for the loss only
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(self.body(maps.float()), 1), 1))

    def teacher_view(self, logits):
        """``logits`` on the classes of the teacher the distillation compares with (None: no teacher)."""
        return None

    def _take_top(self, net, n_ages):
        """A copy of ``net``'s stage after the cached one (:data:`TRUNKS`), and an age layer of ``n_ages``."""
        from ._protocol import STAGE_NAMES

        self.body = copy.deepcopy(getattr(net, STAGE_NAMES[STAGE_NAMES.index(TRUNKS[self.trunk]) + 1]))
        self.fc = nn.Linear(net.fc.in_features, n_ages)


class AgeNetworkTop(_Top):
    """The CC0 age network's last stage (``layer3``) and its age layer, widened to ages 0-100.

    Starts as the network as shipped: its classes are ages 0.25, 1, ...,
    80, the new whole-year classes 0-80 take their weights, and the classes
    above 80 those of class 80, less likely by 0.15 per year beyond (so
    they start with a share of class 80's chance and training can move
    old faces past 80, where UTKFace has ages up to 116). Reads the cached
    ``layer2`` maps (128 x 7 x 7) of 64-px chips.

    Parameters
    ----------
    n_ages : int, default=101

    Examples
    --------
    >>> import torch
    >>> from skage.nn import AgeNetworkTop
    >>> top = AgeNetworkTop()  # doctest: +SKIP
    >>> top(torch.zeros(2, 128, 7, 7)).shape  # doctest: +SKIP
    torch.Size([2, 101])
    """

    trunk = "age"

    def __init__(self, n_ages=101):
        super().__init__()
        from ._cydral import CLASS_AGES, CydralAgeResNet

        net = CydralAgeResNet.pretrained()
        self._take_top(net, n_ages)
        class_ages = np.asarray(CLASS_AGES)
        nearest = np.abs(class_ages[None, :] - np.arange(n_ages)[:, None]).argmin(1)
        beyond = np.maximum(np.arange(n_ages) - class_ages.max(), 0)
        with torch.no_grad():
            self.fc.weight.copy_(net.fc.weight[nearest])
            self.fc.bias.copy_(net.fc.bias[nearest] - torch.as_tensor(0.15 * beyond, dtype=torch.float32))
        # the whole-year class nearest to each of the teacher's classes
        self.register_buffer("teacher_classes", torch.as_tensor(
            np.clip(np.rint(class_ages), 0, n_ages - 1).astype(np.int64)), persistent=False)

    def teacher_view(self, logits):
        return logits[:, self.teacher_classes]


class FaceNetworkTop(_Top):
    """dlib's face ResNet's last stage (``layer4``) and a new age layer over ages 0-100.

    The face-recognition network knows identity, not age: its last stage
    is trained anew from dlib's weights, the age layer from zero. Reads the
    cached ``layer3`` maps (128 x 8 x 8) of 150-px chips.

    Parameters
    ----------
    n_ages : int, default=101

    Examples
    --------
    >>> import torch
    >>> from skage.nn import FaceNetworkTop
    >>> FaceNetworkTop()(torch.zeros(2, 128, 8, 8)).shape
    torch.Size([2, 101])
    """

    trunk = "face"

    def __init__(self, n_ages=101):
        super().__init__()
        from ._dlib_resnet import DlibFaceResNet

        self._take_top(DlibFaceResNet.from_dlib_file(), n_ages)
        nn.init.zeros_(self.fc.weight)
        nn.init.zeros_(self.fc.bias)


class TopBlockRegressor(NeuralNetRegressor):
    """A pretrained network's last stage trained for age on cached activations (skorch).

    ``X`` is what :func:`trunk_activations` gives for the module's trunk:
    a dict with ``"maps"`` (the frozen part's output, float16 is fine) and,
    for :class:`AgeNetworkTop`, ``"teacher"`` (the frozen network's own
    logits). The module outputs logits over whole-year ages; training
    minimises :class:`AgeDistributionLoss` plus, with ``distill``, the
    divergence from the teacher's age distribution (so that what the
    network knew about faces unlike the training ones is kept); ``predict``
    gives the expected age. bfloat16 autocast on CPUs that have it
    (measured 1.3-1.75x faster on this project's CPU); one cycle of the
    learning rate per fit (15 % warm-up, then cosine), stepped every batch.

    Parameters
    ----------
    module : class, default=FaceNetworkTop
        :class:`FaceNetworkTop` or :class:`AgeNetworkTop` (or a module with
        their interface); its arguments as ``module__n_ages`` etc.
    max_epochs : int, default=3
    lr : float, default=1e-3
    batch_size : int, default=256
    distill : float, default=0.0
        Weight of the distillation term (modules with a teacher only).
    label_sigma : float, default=3.0
        Width of the age targets (``criterion__sigma``).
    bf16 : bool, default=True
        bfloat16 autocast where the device has it natively.
    random_state : int, RandomState instance or None, default=None
        Seeds torch for the weights of new layers and the batches' order.
    optimizer__weight_decay : float, default=1e-4
        AdamW's weight decay.
    **kwargs
        Any other skorch parameter (``device``, ``iterator_train__...``).

    Attributes
    ----------
    module_ : torch module
        The trained top.
    total_steps_ : int
        Batches of the last fit (the learning-rate cycle's length).

    Examples
    --------
    >>> import numpy as np
    >>> from skage.nn import FaceNetworkTop, TopBlockRegressor
    >>> X = {"maps": np.zeros((8, 128, 8, 8), np.float16)}
    >>> net = TopBlockRegressor(FaceNetworkTop, max_epochs=1, random_state=0).fit(X, np.linspace(10, 80, 8))
    >>> net.predict(X).shape
    (8,)
    """

    _parameter_constraints = {
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "distill": [Interval(Real, 0, None, closed="left")],
        "label_sigma": [Interval(Real, 0, None, closed="neither")],
        "bf16": ["boolean"],
        "random_state": ["random_state"],
        "module": [type],
        "criterion": [type],
        "optimizer": [type],
        "train_split": [callable, None],
        "verbose": ["verbose"],
        "iterator_train__shuffle": ["boolean"],
        "optimizer__weight_decay": [Interval(Real, 0, None, closed="left")],
    }

    def __init__(self, module=None, max_epochs=3, lr=1e-3, batch_size=256, distill=0.0, label_sigma=3.0,
                 bf16=True, random_state=None, criterion=AgeDistributionLoss, optimizer=torch.optim.AdamW,
                 optimizer__weight_decay=1e-4, train_split=None, verbose=0, iterator_train__shuffle=True, **kwargs):
        super().__init__(FaceNetworkTop if module is None else module, criterion=criterion,
                         optimizer=optimizer, optimizer__weight_decay=optimizer__weight_decay, max_epochs=max_epochs,
                         lr=lr, batch_size=batch_size,
                         train_split=train_split, verbose=verbose, iterator_train__shuffle=iterator_train__shuffle,
                         **kwargs)
        self.distill = distill
        self.label_sigma = label_sigma
        self.bf16 = bf16
        self.random_state = random_state

    def get_default_callbacks(self):
        # One cycle per fit, stepped every batch: a short warm-up keeps the first large steps from
        # wrecking the pretrained stage (a new, zero age layer gives large gradients at first; with a
        # cosine schedule from lr 1e-3 the face top collapsed to the mean age).
        steps = getattr(self, "total_steps_", None) or self.max_epochs
        return [*super().get_default_callbacks(),
                ("one_cycle", LRScheduler(OneCycleLR, max_lr=self.lr, total_steps=steps, pct_start=0.15,
                                          step_every="batch"))]

    def get_iterator(self, dataset, training=False):
        # Whole batches by fancy indexing: skorch's loader fetches and collates row by row, which cost
        # more than the top's forward pass on cached maps. Same batches in the same order (the
        # shuffle draws its permutation from torch's generator as skorch's loader does).
        order = RandomSampler(dataset) if training else SequentialSampler(dataset)
        return DataLoader(dataset, sampler=BatchSampler(order, self.batch_size, drop_last=False), batch_size=None)

    def initialize_criterion(self, *args, **kwargs):
        self.set_params(criterion__sigma=self.label_sigma)
        return super().initialize_criterion(*args, **kwargs)

    def fit(self, X, y=None, **fit_params):
        if not get_config()["skip_parameter_validation"]:
            validate_parameter_constraints(self._parameter_constraints, {name: getattr(self, name) for name in
                                           self._parameter_constraints}, caller_name=type(self).__name__)
        y = np.asarray(y, np.float32)
        self.total_steps_ = self.max_epochs * int(np.ceil(len(y) / self.batch_size))
        if self.random_state is None:
            return super().fit(X, y, **fit_params)
        with torch.random.fork_rng():
            torch.manual_seed(int(check_random_state(self.random_state).randint(2**31 - 1)))
            return super().fit(X, y, **fit_params)

    def infer(self, x, **fit_params):
        device = torch.device(self.device)
        native = device.type == "cuda" or (device.type == "cpu" and _cpu_bf16())
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bool(self.bf16 and native)):
            return super().infer(x, **fit_params).float()

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        if self.distill and isinstance(X, dict) and "teacher" in X:
            student = self.module_.teacher_view(y_pred)
            if student is not None:
                teacher = torch.softmax(torch.as_tensor(X["teacher"], device=y_pred.device).float(), dim=1)
                loss = loss + self.distill * F.kl_div(F.log_softmax(student, dim=1), teacher,
                                                      reduction="batchmean")
        return loss

    def predict_distribution(self, X):
        """Probabilities over whole-year ages, shape ``(n_samples, n_ages)``."""
        return torch.softmax(torch.as_tensor(self.forward(X, training=False)).float(), dim=1).numpy()

    def predict(self, X):
        """The expected age of each row's distribution."""
        proba = self.predict_distribution(X)
        return proba @ np.arange(proba.shape[1], dtype=np.float64)


def _cpu_bf16():
    from ._estimator import cpu_supports_bf16

    return cpu_supports_bf16()


def recrop_chips(chips, output_size=AGE_CHIP_SIZE, margin=AGE_CHIP_PADDING, from_margin=FACE_CHIP_PADDING):
    """dlib face chips with another padding, cut from chips of a larger one and resized (area-filtered).

    dlib's chip geometry puts the face's landmarks at fixed places scaled by
    ``1 + 2 * padding``: a chip with less padding is the centred part of one
    with more. One 150-px chip (padding 0.25) thus gives the age network's
    64-px chip (0.2) without aligning the photo a second time; it is
    resampled from 140 px rather than from the photo, which is smoother,
    and the age network read it better (UTKFace MAE 6.02 vs 6.14, FG-NET
    3.36 vs 3.71, benchmarks/results/stacked_cpu.md).

    Parameters
    ----------
    chips : ndarray of shape (N, S, S, C), uint8
    output_size : int, default=64
    margin, from_margin : float, default=0.2, 0.25
        Padding of the chips wanted and of the chips given.

    Returns
    -------
    chips : ndarray of shape (N, output_size, output_size, 3), uint8

    Examples
    --------
    >>> import numpy as np
    >>> from skage.nn import recrop_chips
    >>> recrop_chips(np.zeros((2, 150, 150, 3), np.uint8)).shape
    (2, 64, 64, 3)
    """
    from PIL import Image

    if margin > from_margin:
        raise ValueError(f"a chip with padding {margin} cannot be cut from one with less ({from_margin})")
    side = chips.shape[1]
    keep = side * (1 + 2 * margin) / (1 + 2 * from_margin)
    low = (side - keep) / 2
    out = np.empty((len(chips), output_size, output_size, 3), np.uint8)
    for i, chip in enumerate(chips):
        out[i] = np.asarray(Image.fromarray(np.ascontiguousarray(chip[..., :3])).resize(
            (output_size, output_size), Image.BILINEAR, box=(low, low, low + keep, low + keep), reducing_gap=None))
    return out


def trunk_activations(chips, *, flip=False, batch_size=128, device="cpu"):
    """What the frozen parts of both networks make of 150-px dlib chips, for :class:`TopBlockRegressor`.

    Parameters
    ----------
    chips : ndarray of shape (N, 150, 150, C), uint8
        dlib's face chips (padding 0.25); the age network's 64-px chips are
        cut from them (:func:`recrop_chips`).
    flip : bool, default=False
        Run the mirror images instead.
    batch_size : int, default=128
    device : str, default="cpu"

    Returns
    -------
    activations : dict
        ``{"face": {"maps": (N, 128, 8, 8)}, "age": {"maps": (N, 128, 7, 7),
        "teacher": (N, 81)}}``: float16 maps, float32 logits of the age
        network as shipped.

    Examples
    --------
    >>> import numpy as np
    >>> from skage.nn import trunk_activations
    >>> out = trunk_activations(np.zeros((2, 150, 150, 3), np.uint8))  # doctest: +SKIP
    >>> out["face"]["maps"].shape, out["age"]["teacher"].shape  # doctest: +SKIP
    ((2, 128, 8, 8), (2, 81))
    """
    from ._cydral import _age_net
    from ._dlib_resnet import _descriptor_net

    chips = np.asarray(chips)
    if chips.dtype != np.uint8 or chips.ndim != 4 or chips.shape[1:3] != (CHIP_SIZE, CHIP_SIZE) \
            or chips.shape[3] < 3:
        raise ValueError(f"chips must be uint8 of shape (N, {CHIP_SIZE}, {CHIP_SIZE}, 3) in dlib's chip geometry "
                         f"(padding {FACE_CHIP_PADDING}), got dtype {chips.dtype} and shape {chips.shape}")
    device = torch.device(device)
    face, age = _descriptor_net(device), _age_net(device)
    native = device.type == "cuda" or (device.type == "cpu" and _cpu_bf16())
    parts = {"face": [], "age": [], "teacher": []}
    with torch.inference_mode(), torch.autocast(device.type, dtype=torch.bfloat16, enabled=native):
        for start in range(0, len(chips), batch_size):
            batch = np.ascontiguousarray(chips[start:start + batch_size, :, :, :3])
            if flip:
                batch = np.ascontiguousarray(batch[:, :, ::-1])
            small = recrop_chips(batch)
            parts["face"].append(_through(face, face.preprocess(batch), TRUNKS["face"]).to(torch.float16).cpu())
            maps = _through(age, age.preprocess(small), TRUNKS["age"])
            parts["age"].append(maps.to(torch.float16).cpu())
            parts["teacher"].append(age.fc(torch.flatten(age.avgpool(age.layer4(age.layer3(maps))), 1))
                                    .float().cpu())
    cat = {name: torch.cat(values).numpy() for name, values in parts.items()}
    return {"face": {"maps": cat["face"]}, "age": {"maps": cat["age"], "teacher": cat["teacher"]}}


def _through(net, x, stage):
    """``net``'s output after ``stage`` (its stem and the stages up to it)."""
    from ._protocol import STAGE_NAMES

    x = net.stem(x)
    for name in STAGE_NAMES[:STAGE_NAMES.index(stage) + 1]:
        x = getattr(net, name)(x)
    return x
