# Three entry points: `make demo`, `make test` and `make docs`. Each creates or reuses .venv.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.skage-installed
BROWSER_STAMP := $(VENV)/.chromium-installed
DATA ?=
DEMO_ARGS ?=
SPHINXOPTS ?=

.PHONY: demo test docs install browser clean

$(STAMP): setup.cfg pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,docs]"
	touch $(STAMP)

install: $(STAMP)

# Debian's chromium and chromedriver for the docs' browser test (tests/test_docs_browser.py); installed
# with apt-get when missing and this runs as root (CI does), else that test skips and says why.
$(BROWSER_STAMP):
	@if command -v chromium >/dev/null && command -v chromedriver >/dev/null; then \
		touch $(BROWSER_STAMP); \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
			chromium chromium-driver >/dev/null && touch $(BROWSER_STAMP); \
	else \
		echo "chromium/chromedriver missing and not root: the browser test will skip"; \
	fi

browser: $(BROWSER_STAMP)

demo: $(STAMP)
	$(VENV)/bin/skage demo $(if $(DATA),--data $(DATA)) $(DEMO_ARGS)

test: $(STAMP) $(BROWSER_STAMP)
	$(PY) -m pytest -q --doctest-modules skage tests

# The site, every gallery example executed, into docs/_build/html; a warning or a failing example fails it.
docs: $(STAMP)
	$(PY) -m sphinx -b html -W --keep-going $(SPHINXOPTS) docs docs/_build/html

clean:
	rm -rf $(VENV) .pytest_cache docs/_build docs/api docs/auto_examples docs/gen_modules docs/sg_execution_times.rst
