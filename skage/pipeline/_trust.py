"""Which types a model file may name: an explicit allowlist handed to ``skops.io.loads``.

skops itself trusts plain containers and numbers, numpy arrays, dtypes and ufuncs, and
scikit-learn's estimator classes. Beyond those, a model file may name only the exact types listed
here: what skage's own pipelines hold once fitted. A name is trusted for what it *is* (this
class), never for the package it comes from: a whole package also holds functions, and one
function reference wrapped in ``functools.partial`` under a ``FunctionTransformer`` is enough
to run a shell command at prediction time.
"""

import functools
import importlib

# Each entry is where the type is imported from (public paths, so that moving a class between
# private modules keeps it trusted); the trusted name is the type's own ``module.qualname``.
_SKAGE_TYPES = {
    "skage.alignment": ("FaceAligner", "HistogramEqualizer"),
    "skage.augment": ("DegradedCopies",),
    "skage.io": ("ImageLoader",),
    "skage.parsing": ("FaceParser",),
    "skage.features": ("FaceDescriptor", "HOGFeatures", "LBPFeatures", "CydralAgeFeatures", "CydralAgeRegressor"),
    "skage.sampling": ("DropUnreadable", "DropNoFace", "AgeBinResampler", "AgeBinWeightedRegressor"),
    "skage.refine": ("KNNAgeRefiner", "AgeBiasCorrector"),
    "skage.intervals": ("ConformalAgeRegressor",),
    "skage.intervals._conformal": ("_Predictions",),
    # classes given to AgeNet as parameters (module, criterion, dataset) and its callbacks
    "skage.nn": ("AgeResNet", "AgeLoss", "ChipDataset", "TrainingTimeEstimate", "AgeNetworkTop", "FaceNetworkTop",
                 "AgeDistributionLoss"),
    "skage.stacking": ("StackedAgeRegressor",),
    # how networks, neighbour indices and pandas objects are stored (pipeline/_records.py)
    "skage.pipeline._records": ("NetRecord", "IndexRecord", "FrameRecord"),
    "skage.pipeline": ("AgePipeline",),
}

#: Classes of other packages that skage's pipelines hold: AgeNet's optimizer, LR policy, data
#: loader, validation split and callbacks, splitters and scorers of the meta-estimators, sklearn's
#: ``Bunch`` (``VotingRegressor.named_estimators_``), and paths given as parameters.
_OTHER_TYPES = {
    "torch.optim": ("AdamW", "Adam", "SGD"),
    "torch.optim.lr_scheduler": ("CosineAnnealingLR", "StepLR", "OneCycleLR", "ReduceLROnPlateau"),
    "torch.utils.data": ("DataLoader",),
    "skorch.dataset": ("ValidSplit", "Dataset"),
    # not Checkpoint: it writes files where its ``dirname`` says (AgeNet's ``checkpoint``, a location, is
    # reset to None instead; see LOCATION_PARAMS)
    "skorch.callbacks": ("LRScheduler", "ProgressBar", "EarlyStopping"),
    "sklearn.utils": ("Bunch",),
    # the fitted trees of a gradient-boosting combiner (StackedAgeRegressor); checked by check_trees on load
    "sklearn.tree._tree": ("Tree",),
    "sklearn.model_selection": ("KFold", "ShuffleSplit", "StratifiedKFold", "GroupShuffleSplit", "GroupKFold"),
    "sklearn.metrics._scorer": ("_Scorer", "_PassthroughScorer"),
    "imblearn.pipeline": ("Pipeline",),
    # samplers AgeBinResampler may wrap (its ``sampler`` and fitted ``sampler_``)
    "imblearn.over_sampling": ("RandomOverSampler", "SMOTE", "BorderlineSMOTE", "SVMSMOTE", "ADASYN"),
    "imblearn.under_sampling": ("RandomUnderSampler", "TomekLinks", "EditedNearestNeighbours"),
    "imblearn.combine": ("SMOTEENN", "SMOTETomek"),
    "pathlib": ("Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath", "PureWindowsPath"),
    # not bytearray or range: skops builds them by calling them with numbers from the file
    "builtins": ("frozenset", "slice"),
}

#: The only functions a model file may name: the metrics behind :func:`skage.metrics.get_age_scorer`
#: (scorers of a saved search). They compute a number from two arrays and nothing else.
_FUNCTIONS = {
    "skage.metrics": ("cmae_score", "bias_score", "acc_at_k"),
    "sklearn.metrics": ("mean_absolute_error",),
}

#: The only classes a model file may build by calling them with arguments it supplies (skops'
#: ``ConstructorFromReduceNode``): paths, whose arguments are the strings stored in the file. Any
#: other class called so would take its sizes, or a file to read, from the file
#: (``bytearray(2000000000)``, ``AgeResNet(n_classes=10**9)``, ``AgeResNet(weights="/some/file")``).
_CONSTRUCTED = {"pathlib": ("Path", "PosixPath", "WindowsPath", "PurePath", "PurePosixPath", "PureWindowsPath")}


def schema_refusals(schema):
    """``{name: reason}`` for what a skops schema may not do even with trusted types.

    Build an object by calling its class with arguments from the file (skops'
    ``ConstructorFromReduceNode``), bar paths; hold a bytearray; name skorch's ``LRScheduler`` policy
    by a string, which skorch resolves by name in its module when the network is built (give the class:
    it is then checked like any other).

    Parameters
    ----------
    schema : dict
        The parsed ``schema.json`` of a skops archive.
    """
    from skorch.callbacks import LRScheduler

    allowed, scheduler, refused, stack = _names(_CONSTRUCTED), _qualified(LRScheduler), {}, [schema]
    while stack:  # iterative: a deep schema must not exhaust Python's recursion limit
        node = stack.pop()
        if isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, dict):
            loader, name = node.get("__loader__"), f"{node.get('__module__')}.{node.get('__class__')}"
            if loader == "ConstructorFromReduceNode" and name not in allowed:
                refused[name] = "built by calling it with arguments from the file"
            elif loader == "BytearrayNode":
                refused[name] = "a bytearray (skage stores none)"
            elif name == scheduler and _policy_loader(node) == "JsonNode":
                refused[name] = "its policy is a string, resolved by name when training; give the class"
            stack.extend(node.values())
    return refused


def _policy_loader(node):
    state = node.get("content")
    fields = state.get("content") if isinstance(state, dict) else None
    policy = fields.get("policy") if isinstance(fields, dict) else None
    return policy.get("__loader__") if isinstance(policy, dict) else None


#: Parameters that name a place on disk: ``memory`` (a joblib cache: joblib unpickles the ``output.pkl``
#: files it finds there, and writes chips and embeddings there), ``cache_dir`` (memory-mapped chips) and
#: ``checkpoint`` (where AgeNet's training writes). Where an estimator reads and writes is the user's
#: choice at run time, never a model file's: they are saved as None and set to None again on load, whatever
#: the file says (``set_params(align__memory=...)`` after loading turns a cache back on).
LOCATION_PARAMS = ("memory", "cache_dir", "checkpoint")

#: What AgeNet's ``weights`` may stay in a model file; any other value is a file to read (set to None).
#: ``"imagenet"`` names torchvision's own download, used only when a loaded network is fitted again.
_WEIGHT_KEYWORDS = ("random", "imagenet")


def without_locations(params, network=False):
    """Set every location parameter in ``params`` to None, in place, and return it.

    Parameters
    ----------
    params : dict
        An estimator's ``__dict__`` or a network's parameters.
    network : bool, default=False
        ``params`` are a skorch network's: its ``weights``, when a file, is
        reset too (other estimators' ``weights`` are not files).
    """
    for name in LOCATION_PARAMS:
        if params.get(name) is not None:
            params[name] = None
    weights = params.get("weights")
    if network and weights is not None and not (isinstance(weights, str) and weights in _WEIGHT_KEYWORDS):
        params["weights"] = None
    return params


#: skorch networks skage rebuilds from a :class:`~skage.pipeline._records.NetRecord` (parameters and
#: safetensors weights); never from a state in the skops tree, which skorch would unpickle.
_NETWORKS = {"skage.nn": ("AgeNet", "AcceleratedAgeNet", "TopBlockRegressor")}


def _qualified(obj):
    return f"{obj.__module__}.{obj.__qualname__}"


def _names(table):
    return frozenset(_qualified(getattr(importlib.import_module(module), attr))
                     for module, attrs in table.items() for attr in attrs)


@functools.cache
def trusted_names():
    """The exact type and function names a model file may name beyond skops' own defaults.

    Built on first use (importing skage's subpackages and torch), not at import time.
    """
    return _names(_SKAGE_TYPES) | _names(_OTHER_TYPES) | _names(_FUNCTIONS)


@functools.cache
def network_names():
    """Class names of the skorch networks a :class:`NetRecord` may rebuild."""
    return _names(_NETWORKS)


def refusal(name):
    """Why ``name`` may not be loaded from a model file, or None when it is trusted."""
    if name in trusted_names():
        return None
    if name in network_names():
        return "a skorch network object (its state would be unpickled); skage stores networks as weights"
    return "not one of the types skage's pipelines hold (skage.pipeline._trust)"


def trusted_types(names):
    """Split skops' untrusted type names into (trusted, {refused name: reason})."""
    trusted, refused = [], {}
    for name in names:
        reason = refusal(name)
        if reason is None:
            trusted.append(name)
        else:
            refused[name] = reason
    return trusted, refused


def check_trees(estimator, where):
    """Refuse fitted scikit-learn trees whose node arrays point outside themselves (checked on load).

    A tree's prediction follows child indices and reads feature columns without bounds checks
    (Cython): a crafted file could make it read outside its arrays. scikit-learn checks the arrays'
    dtype and shape when it rebuilds a tree, not where they point, so this does: every child is a
    later node or -1 (a leaf, both children), every split's feature is a column the tree was fitted on.
    """
    import numpy as np
    from sklearn.tree._tree import TREE_LEAF, Tree

    seen = set()

    def walk(obj, depth=0):
        if id(obj) in seen or depth > 50:
            return
        seen.add(id(obj))
        if isinstance(obj, Tree):
            _check_tree_nodes(obj, where)
        elif type(obj) is dict:
            for value in obj.values():
                walk(value, depth + 1)
        elif type(obj) in (list, tuple) or (isinstance(obj, np.ndarray) and obj.dtype == object):
            for value in (obj.ravel() if isinstance(obj, np.ndarray) else obj):
                walk(value, depth + 1)
        elif hasattr(obj, "get_params") and hasattr(obj, "__dict__") and not isinstance(obj, type):
            # estimators hold the trees (a tree's estimator its ``tree_``); other objects (indices, modules) none
            for value in vars(obj).values():
                walk(value, depth + 1)

    def _check_tree_nodes(tree, where):
        n = tree.node_count
        left, right, feature = tree.children_left, tree.children_right, tree.feature
        nodes = np.arange(n)
        leaf = (left == TREE_LEAF) & (right == TREE_LEAF)
        inner = ~leaf
        ok = (len(left) == len(right) == len(feature) == n and n >= 1
              and np.all((left[inner] > nodes[inner]) & (left[inner] < n))
              and np.all((right[inner] > nodes[inner]) & (right[inner] < n))
              and np.all((feature[inner] >= 0) & (feature[inner] < tree.n_features))
              and tree.value.shape[0] == n)
        if not ok:
            raise UnsafeTreeError(f"{where}: a decision tree's nodes point outside the tree; not loaded")

    walk(estimator)


class UnsafeTreeError(ValueError):
    """A fitted tree in a model file whose nodes point outside its arrays."""
