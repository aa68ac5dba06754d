# Two entry points: `make demo` and `make test`. Both create or reuse .venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.skage-installed
DATA ?=
DEMO_ARGS ?=

.PHONY: demo test install clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/skage demo $(if $(DATA),--data $(DATA)) $(DEMO_ARGS)

test: $(STAMP)
	$(PY) -m pytest -q --doctest-modules skage tests

clean:
	rm -rf $(VENV) .pytest_cache
