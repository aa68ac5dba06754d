"""The documents that promise behaviour name the tests that hold it: those tests must exist."""

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
TEST_REF = re.compile(r"`(tests/[\w/]+\.py)::(test_\w+)`")


def _references(doc):
    return TEST_REF.findall((REPO / doc).read_text())


@pytest.mark.parametrize("doc", ["docs/reliability.md"])
def test_every_promise_names_an_existing_test(doc):
    refs = _references(doc)
    rows = [line for line in (REPO / doc).read_text().splitlines() if line.startswith("| ") and "---" not in line]
    assert len(refs) == len(rows) - 1  # one test per row, the header row aside
    for path, name in refs:
        source = (REPO / path).read_text()
        assert re.search(rf"^def {name}\(", source, re.MULTILINE), f"{doc} names {path}::{name}, which is gone"


def _docs_conf():
    """docs/conf.py as a module (importing it builds nothing; Sphinx calls its ``setup``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("skage_docs_conf", REPO / "docs" / "conf.py")
    conf = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conf)
    return conf


def test_api_reference_lists_exactly_what_all_exports(tmp_path):
    # The site's API pages are autosummary lists written from __all__ at each build; this checks the
    # written source, name for name, and that no subpackage with an __all__ is left out of the reference.
    import importlib
    import pkgutil

    import skage

    conf = _docs_conf()
    conf.write_api_sources(tmp_path)
    public = {m.name for m in pkgutil.iter_modules(skage.__path__) if not m.name.startswith("_")}
    with_all = {name for name in public if hasattr(importlib.import_module(f"skage.{name}"), "__all__")}
    with_all.discard("cli")  # the command line is documented by its --help and the README, not as an API
    assert with_all <= set(conf.SUBPACKAGES), f"add {sorted(with_all - set(conf.SUBPACKAGES))} to docs/conf.py"
    for sub in conf.SUBPACKAGES:
        listed = re.findall(r"^   (\w+)$", (tmp_path / f"{sub}.rst").read_text(), re.MULTILINE)
        assert listed == list(importlib.import_module(f"skage.{sub}").__all__), sub
    index = (tmp_path / "index.rst").read_text()
    assert all(f"   {sub}\n" in index for sub in conf.SUBPACKAGES)


GALLERY = sorted((REPO / "examples").glob("plot_[0-9][0-9]_*.py"))


def test_gallery_has_its_examples_each_saying_what_to_look_at():
    # the suite executes one of them (tests/test_docs_site.py), `make docs` all: this checks every one parses
    # and is a gallery page (an rst title in its docstring) that tells the reader what to look at
    import ast

    assert 8 <= len(GALLERY) <= 10
    assert (REPO / "examples" / "README.txt").is_file()
    for path in GALLERY:
        doc = ast.get_docstring(ast.parse(path.read_text(), str(path)))
        title, underline = doc.splitlines()[:2]
        assert title and set(underline) == {"="} and len(underline) >= len(title), path.name
        assert "**What to look at:**" in doc, path.name


def test_every_public_name_has_an_examples_section():
    # every class and function the API reference lists shows its use in a numpydoc Examples section, which
    # the suite's --doctest-modules run executes; constants (tuples, dicts) and instances such as the
    # metrics' scorers (whose docstring is their class's, scikit-learn's) need none
    import importlib
    import inspect

    missing = []
    for sub in _docs_conf().SUBPACKAGES:
        module = importlib.import_module(f"skage.{sub}")
        for name in module.__all__:
            obj = getattr(module, name)
            needs_one = inspect.isclass(obj) or inspect.isfunction(inspect.unwrap(obj))  # unwrap: functools.cache
            if needs_one and "Examples\n--------" not in (inspect.getdoc(obj) or ""):
                missing.append(f"skage.{sub}.{name}")
    assert not missing, f"{len(missing)} public names lack an Examples section: {missing}"
