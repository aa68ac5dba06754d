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
