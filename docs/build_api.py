"""Generate docs/api.md from the docstrings of every public name in skage's subpackages.

Run: .venv/bin/python docs/build_api.py   (rewrites docs/api.md)
"""

import importlib
import inspect
import re
import sys
from pathlib import Path

SUBPACKAGES = ["io", "datasets", "alignment", "augment", "parsing", "features", "sampling", "nn", "refine",
               "pipeline", "intervals", "metrics", "compare", "viz"]


def _signature(obj):
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return ""


def _section(module_name):
    module = importlib.import_module(f"skage.{module_name}")
    lines = [f"## skage.{module_name}", "", inspect.getdoc(module) or "", ""]
    for name in getattr(module, "__all__", []):
        obj = getattr(module, name)
        if inspect.isclass(obj) or inspect.isfunction(obj):
            kind = "class" if inspect.isclass(obj) else "function"
            lines += [f"### `{name}{_signature(obj)}`", "", f"*{kind}*", "", "```text",
                      inspect.getdoc(obj) or "(no docstring)", "```", ""]
        else:
            # addresses differ per run: without them the file changes only when the API does
            shown = re.sub(r" at 0x[0-9a-f]+", "", repr(obj))
            lines += [f"### `{name}`", "", f"constant: `{shown}`"[:300], ""]
    return lines


def main(out=Path(__file__).with_name("api.md")):
    lines = ["# API reference", "", "Generated from the docstrings by `docs/build_api.py`; do not edit by hand.", ""]
    for sub in SUBPACKAGES:
        lines += _section(sub)
    Path(out).write_text("\n".join(lines))
    print(f"wrote {out}")


if __name__ == "__main__":
    sys.exit(main())
