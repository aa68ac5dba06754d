"""Models combined out of fold: the members' ages on faces they did not train on teach a combiner whom to believe.

``StackedAgeRegressor`` trains the tops of both pretrained dlib networks on their cached activations
(:class:`skage.nn.TopBlockRegressor`) and combines their ages with the shipped age network's and
the photo's kind (``photo_kind``: gray, soft, low contrast). ``make_stacked_pipeline`` in
:mod:`skage.pipeline` puts it behind the chip front-end: the default model.
"""

from ._kind import KIND_NAMES, photo_kind
from ._stacked import StackedAgeRegressor, default_combiner, default_members

__all__ = ["StackedAgeRegressor", "default_combiner", "default_members", "photo_kind", "KIND_NAMES"]
