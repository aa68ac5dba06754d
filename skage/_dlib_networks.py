"""What skage's two pretrained dlib networks take and give: chip geometry and output widths.

Defined once here, below both of their users: :mod:`skage.features` (torch-free
transformers, which check their inputs and size their outputs without importing
torch) and :mod:`skage.nn` (the networks in PyTorch). :mod:`skage.features`
exports them.
"""

#: Chip side dlib's face-recognition network takes.
CHIP_SIZE = 150

#: Outputs of dlib's face-recognition network and their widths: the globally averaged maps of its
#: last three residual stages, and the 128-d descriptor (its identity embedding).
LAYER_WIDTHS = {"layer2": 64, "layer3": 128, "layer4": 256, "descriptor": 128}

#: Side of the age network's chips and dlib's padding around the face: ``FaceAligner(geometry="dlib",
#: landmarks=5, output_size=AGE_CHIP_SIZE, margin=AGE_CHIP_PADDING)``.
AGE_CHIP_SIZE = 64
AGE_CHIP_PADDING = 0.2

#: Outputs of the age network and their widths: the maps of its first two stages averaged over
#: space, the 256-d pooled features, the 81 class probabilities and the expected age.
AGE_OUTPUT_WIDTHS = {"layer1": 64, "layer2": 128, "pooled": 256, "probabilities": 81, "age": 1}
