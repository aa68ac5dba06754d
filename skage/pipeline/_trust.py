"""Which types a model file may name: the trusted-types policy handed to ``skops.io.loads``."""

import importlib

#: Packages whose estimators, functions and array types a model file may name. Loading names a
#: type's module and attribute only; skops never runs code stored in the file.
TRUSTED_PREFIXES = (
    "skage.", "sklearn.", "imblearn.", "skorch.", "numpy.", "scipy.",
    # classes given as skorch parameters: optimizer, iterator, criterion, LR policies
    "torch.optim.", "torch.utils.data.", "torch.nn.modules.",
)

#: Standard-library types that hold plain data (parameters such as ``checkpoint=Path(...)``).
TRUSTED_NAMES = frozenset({
    "builtins.frozenset", "builtins.range", "builtins.slice", "builtins.bytearray", "functools.partial",
    "pathlib.Path", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePath", "pathlib.PurePosixPath",
    "pathlib.PureWindowsPath",
})


def resolve(name):
    """The object a dotted ``module.attr`` name refers to, or None (imports only trusted modules)."""
    parts = name.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        try:
            for attr in parts[cut:]:
                obj = getattr(obj, attr)
        except AttributeError:
            return None
        return obj
    return None


def refusal(name):
    """Why ``name`` may not be loaded from a model file, or None when it is trusted.

    A skorch network is never rebuilt from its pickled state (skorch's
    ``__setstate__`` unpickles the tensors, which can run code): skage
    stores networks as parameters plus ``safetensors`` weights instead.
    """
    if name in TRUSTED_NAMES:
        return None
    if not name.startswith(TRUSTED_PREFIXES):
        return "outside the trusted packages " + ", ".join(p.rstrip(".") for p in TRUSTED_PREFIXES)
    obj = resolve(name)
    if obj is None:
        return "not found in the installed packages"
    from skorch import NeuralNet

    if isinstance(obj, type) and issubclass(obj, NeuralNet):
        return "a skorch network object (its state would be unpickled); skage stores networks as weights"
    return None


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
