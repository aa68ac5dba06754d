"""Take networks and approximate-neighbour indices out of an estimator tree, and put them back.

skops stores estimators as data, but not torch modules (their state is pickled) nor
pynndescent indices (numba-compiled functions). :func:`swap_out` returns a copy of the tree
in which every skorch network is a :class:`NetRecord` (parameters, learned attributes,
training history; the tensors go to a separate ``safetensors`` dict), every pynndescent
index an :class:`IndexRecord` (its training embeddings) and every pandas object a
:class:`FrameRecord` (numpy columns). :func:`swap_in` rebuilds them.
"""

import copy
import json
import warnings

import numpy as np

from ._trust import network_names, without_locations

# What skorch's initialize() recreates: never stored, rebuilt on load.
_SKORCH_RUNTIME = {"history_", "initialized_", "virtual_params_", "init_context_", "callbacks_", "prefixes_",
                   "cuda_dependent_attributes_"}


class UnsupportedObjectError(TypeError):
    """The estimator holds an object the safe format cannot store."""


class NetRecord:
    """A skorch network as data: class name, parameters, learned attributes, history.

    ``key`` prefixes its tensors in the weights file (``"<key>.<component>.<name>"``).
    """

    def __init__(self, cls, params, learned, key, initialized, history):
        self.cls = cls
        self.params = params
        self.learned = learned
        self.key = key
        self.initialized = initialized
        self.history = history


class IndexRecord:
    """A pynndescent index as the embeddings it indexes, in training order; rebuilt on load."""

    def __init__(self, embeddings):
        self.embeddings = embeddings


class FrameRecord:
    """A pandas DataFrame or Series as numpy columns (skops stores no pandas objects)."""

    def __init__(self, kind, columns, index, name=None):
        self.kind = kind
        self.columns = columns
        self.index = index
        self.name = name

    @classmethod
    def of(cls, obj):
        import pandas as pd

        index = obj.index.to_numpy()
        if isinstance(obj, pd.Series):
            return cls("series", {"values": obj.to_numpy()}, index, obj.name)
        if not all(isinstance(c, (str, int)) for c in obj.columns) or obj.columns.has_duplicates:
            raise UnsupportedObjectError("a DataFrame with column names other than unique str/int")
        return cls("frame", {c: obj[c].to_numpy() for c in obj.columns}, index)

    def rebuild(self):
        import pandas as pd

        if self.kind == "series":
            return pd.Series(self.columns["values"], index=self.index, name=self.name)
        return pd.DataFrame(dict(self.columns), index=self.index)


def _is_frame(obj):
    module = type(obj).__module__ + "."
    return module.startswith("pandas.") and type(obj).__name__ in ("DataFrame", "Series")


def _is_net(obj):
    from skorch import NeuralNet

    return isinstance(obj, NeuralNet)


def _is_nndescent(obj):
    return type(obj).__module__.startswith("pynndescent")


def _torch_kind(obj):
    """'module', 'tensor', 'optimizer' or None."""
    import torch

    if isinstance(obj, torch.nn.Module):
        return "module"
    if isinstance(obj, torch.Tensor):
        return "tensor"
    if isinstance(obj, torch.optim.Optimizer):
        return "optimizer"
    return None


def _cast(tensor, dtype):
    """``tensor`` in ``dtype``, unless that overflows a finite value (kept in its own precision then)."""
    import torch

    cast = tensor.to(dtype)
    if (torch.isinf(cast) & torch.isfinite(tensor)).any():
        return tensor
    return cast


def _unfitted_callbacks(value):
    """``value`` with skorch callbacks cloned: the instances given as parameters carry their fit state
    (an LR scheduler holds the optimizer, a progress bar its bar), which is rebuilt, not stored."""
    from sklearn.base import clone
    from skorch.callbacks import Callback

    if isinstance(value, Callback):
        return clone(value, safe=False)
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_unfitted_callbacks(v) for v in value)
    return value


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _components(net):
    """(name, torch module) of the network's modules and criteria, uncompiled."""
    from ..nn._skorch_private import component_names  # a net is at hand: torch is loaded already

    for name in component_names(net, "modules", "criteria"):
        component = getattr(net, name + "_", None)
        component = getattr(component, "_orig_mod", component)
        if component is not None and _torch_kind(component) == "module":
            yield name, component


class _Writer:
    """State of one :func:`swap_out` walk: collected tensors and per-network training state."""

    def __init__(self, dtype, for_training):
        self.dtype = dtype
        self.for_training = for_training
        self.tensors = {}
        self.training = {}
        self.memo = {}
        self.n_nets = 0

    def net(self, net, where):
        key = f"net{self.n_nets}"
        self.n_nets += 1
        params = {k: v for k, v in net.get_params(deep=False).items() if not k.startswith("_")}
        without_locations(params, network=True)
        for name, value in params.items():
            if _torch_kind(value) is not None:
                raise UnsupportedObjectError(
                    f"{where}: parameter {name!r} of {type(net).__name__} is a torch {_torch_kind(value)} "
                    "instance; pass the class (and its arguments as parameters) to save it safely, or use "
                    "joblib.dump and load_model(..., trusted=True)")
        params = {k: self.walk(_unfitted_callbacks(v), f"{where}.{k}") for k, v in params.items()}
        initialized = bool(getattr(net, "initialized_", False))
        learned, history = {}, "[]"
        if initialized:
            from ..nn._skorch_private import component_names

            skip = _SKORCH_RUNTIME | {n + "_" for n in component_names(net, "modules", "criteria", "optimizers")}
            learned = {k: self.walk(v, f"{where}.{k}") for k, v in vars(net).items()
                       if k.endswith("_") and not k.startswith("_") and k not in skip}
            history = json.dumps(net.history_.to_list(), default=_json_default)
            for name, component in _components(net):
                for pname, tensor in component.state_dict().items():
                    tensor = tensor.detach().to("cpu")
                    if tensor.is_floating_point() and self.dtype is not None:
                        tensor = _cast(tensor, self.dtype)
                    self.tensors[f"{key}.{name}.{pname}"] = tensor.contiguous().clone()
            if self.for_training:
                self.training[key] = {name: getattr(net, name + "_").state_dict()
                                      for name in component_names(net, "optimizers")}
        cls = f"{type(net).__module__}.{type(net).__qualname__}"
        return NetRecord(cls, params, learned, key, initialized, history)

    def walk(self, obj, where="estimator"):
        if id(obj) in self.memo:
            return self.memo[id(obj)][1]
        if _is_net(obj):
            out = self.net(obj, where)
        elif _is_nndescent(obj):
            raise UnsupportedObjectError(f"{where}: a pynndescent index outside KNNAgeRefiner.index_")
        elif _is_frame(obj):
            try:
                out = FrameRecord.of(obj)
            except UnsupportedObjectError as exc:
                raise UnsupportedObjectError(f"{where}: {exc}") from None
        elif _torch_kind(obj) is not None:
            raise UnsupportedObjectError(
                f"{where}: a torch {_torch_kind(obj)} ({type(obj).__name__}) outside a skorch network cannot be "
                "stored in the safe format; use joblib.dump and load_model(..., trusted=True)")
        elif isinstance(obj, list):
            out = [self.walk(v, f"{where}[{i}]") for i, v in enumerate(obj)]
        elif isinstance(obj, tuple) and not hasattr(obj, "_fields"):
            out = tuple(self.walk(v, f"{where}[{i}]") for i, v in enumerate(obj))
        elif _is_mapping(obj):
            out = type(obj)()
            out.update({k: self.walk(v, f"{where}[{k!r}]") for k, v in obj.items()})
        elif _is_estimator_like(obj):
            try:
                out = object.__new__(type(obj))
            except TypeError:  # classes with their own __new__
                out = copy.copy(obj)
            state = {}
            for k, v in vars(obj).items():
                if k == "index_" and _is_nndescent(v) and hasattr(obj, "_build_index"):
                    state[k] = IndexRecord(_indexed_embeddings(v))
                else:
                    state[k] = self.walk(v, f"{where}.{k}")
            out.__dict__.update(without_locations(state))
        else:
            return obj
        self.memo[id(obj)] = (obj, out)  # holding obj keeps its id from being reused
        return out


#: Packages whose objects' attributes are walked (estimators, callbacks, result holders); arrays
#: and other library objects are left to skops.
_WALKED_PREFIXES = ("skage.", "sklearn.", "imblearn.", "skorch.")


def _is_mapping(obj):
    """Plain dicts, and the estimator packages' dicts such as ``Bunch`` (``VotingRegressor.named_estimators_``)."""
    return type(obj) is dict or (isinstance(obj, dict) and type(obj).__module__.startswith(_WALKED_PREFIXES))


def _is_estimator_like(obj):
    """Objects of the estimator packages whose attributes may hold networks, indices or frames."""
    module = type(obj).__module__ + "."
    return (hasattr(obj, "__dict__") and not isinstance(obj, (type, np.ndarray))
            and module.startswith(_WALKED_PREFIXES))


def _indexed_embeddings(index):
    """The embeddings of an NNDescent index in their original order (prepare() permutes them).

    pynndescent's private API, used nowhere else: it keeps the indexed data as ``_raw_data`` and,
    after ``prepare()``, their order as ``_vertex_order``, with no public accessor; storing the
    embeddings a second time in the refiner would double its memory. Checked by
    ``tests/pipeline/test_third_party_privates.py``.
    """
    data = np.asarray(index._raw_data)
    order = getattr(index, "_vertex_order", None)
    if order is None:
        return data.copy()
    out = np.empty_like(data)
    out[np.asarray(order)] = data
    return out


def swap_out(estimator, dtype=None, for_training=False):
    """A copy of ``estimator`` safe for skops, the tensors, and per-network optimizer state.

    Returns
    -------
    tree, tensors, training : object, dict of str to Tensor, dict
        ``training`` maps network keys to optimizer state dicts (only with
        ``for_training``; empty otherwise).
    """
    writer = _Writer(dtype, for_training)
    tree = writer.walk(estimator)
    return tree, writer.tensors, writer.training


# ----------------------------------------------------------------- loading

def _net_class(name):
    import importlib

    if name not in network_names():
        raise UnsupportedObjectError(f"network class {name} is not one skage rebuilds "
                                     f"({', '.join(sorted(network_names()))})")
    module, _, attr = name.rpartition(".")
    return getattr(importlib.import_module(module), attr)


def _device_here(device):
    import torch

    if isinstance(device, str) and device.startswith("cuda") and not torch.cuda.is_available():
        warnings.warn(f"the model was saved with device={device!r}, but CUDA is not available here; "
                      "loading it on the CPU", UserWarning, stacklevel=4)
        return "cpu"
    return device


def _rebuild_net(record, tensors, training):
    from skorch.history import History

    cls = _net_class(record.cls)
    params = without_locations(dict(record.params), network=True)  # before the net is built
    if "device" in params:
        params["device"] = _device_here(params["device"])
    net = cls(**params)
    if not record.initialized:
        return net
    for name, value in record.learned.items():
        setattr(net, name, value)
    # The stored weights replace any initial ones: don't download or read them again.
    weights = net.__dict__.get("weights")
    if weights is not None:
        net.__dict__["weights"] = None
    try:
        net.initialize()
    finally:
        if weights is not None:
            net.__dict__["weights"] = weights
    for name, component in _components(net):
        prefix = f"{record.key}.{name}."
        state = {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}
        component.load_state_dict(state, strict=True)
    net.history_ = History(json.loads(record.history))
    for name, state in (training.get(record.key) or {}).items():
        getattr(net, name + "_").load_state_dict(state)
    return net


class _Reader:
    def __init__(self, tensors, training):
        self.tensors = tensors
        self.training = training
        self.memo = {}

    def walk(self, obj):
        if id(obj) in self.memo:
            return self.memo[id(obj)][1]
        if isinstance(obj, NetRecord):
            out = _rebuild_net(obj, self.tensors, self.training)
        elif isinstance(obj, FrameRecord):
            out = obj.rebuild()
        elif isinstance(obj, list):
            obj[:] = [self.walk(v) for v in obj]
            out = obj
        elif isinstance(obj, tuple) and not hasattr(obj, "_fields"):
            out = tuple(self.walk(v) for v in obj)
        elif _is_mapping(obj):
            for k in list(obj):
                obj[k] = self.walk(obj[k])
            out = obj
        elif _is_estimator_like(obj):
            self.memo[id(obj)] = (obj, obj)  # before the walk: cycles end here
            without_locations(obj.__dict__)  # before anything uses the object
            for k, v in list(vars(obj).items()):
                obj.__dict__[k] = self.walk(v)
            index = obj.__dict__.get("index_")
            if isinstance(index, IndexRecord):
                _rebuild_index(obj, index)
            out = obj
        else:
            return obj
        self.memo[id(obj)] = (obj, out)  # holding obj keeps its id from being reused
        return out


def _rebuild_index(refiner, record):
    """Index the stored embeddings again with the refiner's own settings (pynndescent is not data)."""
    saved = refiner.__dict__.get("algorithm_")
    refiner._build_index(np.asarray(record.embeddings))
    if refiner.algorithm_ != saved:
        warnings.warn(f"{type(refiner).__name__}: the {saved} index could not be rebuilt; "
                      f"using {refiner.algorithm_} search", UserWarning, stacklevel=4)


def swap_in(tree, tensors, training):
    """Rebuild the networks and indices that :func:`swap_out` took out of ``tree``."""
    return _Reader(tensors, training).walk(tree)
