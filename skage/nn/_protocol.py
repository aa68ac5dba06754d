"""What a backbone and an age network must offer: the contract AgeResNet, AgeNet and the heatmaps rely on.

Two protocols, checked with ``isinstance`` (they are runtime-checkable, so the
check is on names, not types):

* :class:`Backbone` is what :class:`~skage.nn.AgeResNet` needs from the
  network it wraps. torchvision's ResNets, :class:`~skage.nn.DlibFaceResNet`
  and :class:`~skage.nn.CydralAgeResNet` satisfy it; a third backbone is one file with a class that does, plus its
  name in ``BACKBONES`` and a branch in ``_build_backbone``.
* :class:`AgeModule` is what :class:`~skage.nn.AgeNet` and the heatmaps of
  :mod:`skage.viz` need from the ``module`` they train or read:
  :class:`~skage.nn.AgeResNet` satisfies it with any backbone, and a module
  that does may be passed as ``AgeNet(module=...)``.
"""

from typing import Mapping, Protocol, runtime_checkable

from torch import Tensor, nn

#: The residual stages every backbone has, in order.
STAGE_NAMES = ("layer1", "layer2", "layer3", "layer4")


@runtime_checkable
class Backbone(Protocol):
    """A convolutional backbone in torchvision's ResNet layout.

    Attributes
    ----------
    layer1, layer2, layer3, layer4 : nn.Module
        The residual stages, each halving the resolution (attention and
        Grad-CAM hook their outputs). The last block of a stage tells its
        width as ``out_channels``, or is a torchvision ``BasicBlock`` /
        ``Bottleneck`` (read from ``bn2`` / ``bn3``).
    avgpool : nn.Module
        Global pooling after ``layer4``.
    fc : nn.Linear
        The pretrained output layer; its ``in_features`` is the embedding
        width. AgeResNet replaces it by its head.

    Notes
    -----
    The stem (what maps RGB to the input of ``layer1``) is ``stem``, a
    module, or torchvision's ``conv1``, ``bn1``, ``relu`` and ``maxpool``
    (see :func:`stem_modules`). AgeResNet feeds RGB normalised with
    ImageNet's mean and std; a backbone trained on another scaling converts
    it in a method ``from_imagenet(x)``, as :class:`~skage.nn.DlibFaceResNet`
    does.

    Examples
    --------
    >>> import torchvision
    >>> from skage.nn._protocol import Backbone
    >>> isinstance(torchvision.models.resnet18(), Backbone)
    True
    """

    layer1: nn.Module
    layer2: nn.Module
    layer3: nn.Module
    layer4: nn.Module
    avgpool: nn.Module
    fc: nn.Module


@runtime_checkable
class AgeModule(Protocol):
    """An age network as AgeNet trains it and the heatmaps read it.

    Attributes
    ----------
    backbone : Backbone
        Its parameters are the ones ``AgeNet(backbone_lr_scale=...)`` slows
        down (they are named ``backbone.*``); Grad-CAM hooks its stages.
    attention : mapping of str to nn.Module
        Attention blocks by the stage they follow; empty without attention.

    Examples
    --------
    >>> from skage.nn import AgeResNet
    >>> from skage.nn._protocol import AgeModule
    >>> isinstance(AgeResNet(attention=False, backbone="resnet18"), AgeModule)
    True
    """

    backbone: Backbone
    attention: Mapping[str, nn.Module]

    def __call__(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``(output, embedding)``: head output (DEX logits or ages) and the pooled features, float32."""

    def features(self, x: Tensor, return_attention: bool = False):
        """The embedding of a batch, with ``{stage: attention map}`` when ``return_attention``."""

    def expected_age(self, output: Tensor) -> Tensor:
        """Predicted ages of shape (B,) from the head output (see :func:`skage.nn._heads.expected_age`)."""


def stem_modules(backbone):
    """The modules that map (backbone-scaled) RGB to the input of ``layer1``, in order.

    Examples
    --------
    >>> import torchvision
    >>> from skage.nn._protocol import stem_modules
    >>> [type(m).__name__ for m in stem_modules(torchvision.models.resnet18())]
    ['Conv2d', 'BatchNorm2d', 'ReLU', 'MaxPool2d']
    """
    if hasattr(backbone, "stem"):
        return [backbone.stem]
    return [backbone.conv1, backbone.bn1, backbone.relu, backbone.maxpool]


def run_stem(backbone, rgb):
    """Input of ``layer1`` from RGB normalised with ImageNet's mean and std."""
    x = backbone.from_imagenet(rgb) if hasattr(backbone, "from_imagenet") else rgb
    for module in stem_modules(backbone):
        x = module(x)
    return x
