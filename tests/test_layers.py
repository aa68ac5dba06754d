"""Imports between skage's subpackages point down its layers (``skage._LAYERS``), with no cycles.

Every module is parsed with ``ast``: module-level imports and those inside
functions, relative and absolute, all count.
"""

import ast
from collections import defaultdict
from pathlib import Path

import skage

ROOT = Path(skage.__file__).parent


def _module_name(path):
    parts = ["skage", *path.relative_to(ROOT).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(ROOT.rglob("*.py"))}


def _imports(name, path):
    """The skage modules ``name`` imports, wherever the import statement is."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            # ``from .. import viz`` imports the subpackage, ``from ..viz import plot`` the package.
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for target in targets:
            if target == "skage" or target.startswith("skage."):
                while target not in MODULES:  # ``import skage.nn._loss.x`` style paths: the module that exists
                    target = target.rpartition(".")[0]
                yield target, node.lineno


GRAPH = {name: sorted(set(_imports(name, path))) for name, path in MODULES.items()}


def _unit(module):
    """The subpackage (``"nn"``), root module (``"_stateless"``) or ``"skage"`` a module belongs to."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "skage"


def _rank(unit):
    for rank, layer in enumerate(skage._LAYERS):
        if unit in layer:
            return rank
    raise AssertionError(f"{unit!r} is in no layer of skage._LAYERS; add it there")


def test_every_subpackage_has_a_layer():
    for module in MODULES:
        _rank(_unit(module))


def test_imports_point_down_the_layers():
    wrong = []
    for module, targets in GRAPH.items():
        source = _unit(module)
        for target, line in targets:
            unit = _unit(target)
            if unit != source and _rank(unit) >= _rank(source):
                kind = "a peer" if _rank(unit) == _rank(source) else "a higher layer"
                wrong.append(f"{MODULES[module].relative_to(ROOT.parent)}:{line} imports {target} ({kind})")
    assert not wrong, "imports against skage._LAYERS:\n" + "\n".join(wrong)


def _cycles(edges):
    """One cycle through each strongly connected component of more than one node (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_cycle_between_subpackages():
    edges = defaultdict(set)
    for module, targets in GRAPH.items():
        edges[_unit(module)] |= {_unit(t) for t, _ in targets} - {_unit(module)}
    assert not _cycles(edges)


def test_no_cycle_between_modules_of_a_subpackage():
    # A package's __init__ imports its modules; a module importing its own package (``from . import x``
    # where x is a name, not a module) would close a loop through __init__ that Python resolves fine
    # as long as __init__ comes first, so only module-to-module edges count here.
    edges = defaultdict(set)
    for module, targets in GRAPH.items():
        for target, _ in targets:
            same = _unit(target) == _unit(module) and MODULES[target].name != "__init__.py"
            if same and MODULES[module].name != "__init__.py":
                edges[module].add(target)
    assert not _cycles(edges)


def test_the_check_sees_imports_inside_functions():
    # Guards the parser: the cli imports most subpackages only inside its command functions.
    cli = {_unit(t) for module, targets in GRAPH.items() if _unit(module) == "cli" for t, _ in targets}
    assert {"pipeline", "viz", "compare"} <= cli
