# The two commands a newcomer runs: `make serve` (site only, no GPU stack) and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PIP    := $(BIN)/python -m pip install --disable-pip-version-check -q

.PHONY: help serve site test test-fast check export bench-smoke clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/:.*## /\t/'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.site: pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $@

$(VENV)/.all: pyproject.toml | $(BIN)/python
	$(PIP) -e ".[harness,dev]"
	@touch $@ $(VENV)/.site

serve: $(VENV)/.site  ## build the site from the catalog and serve it on 127.0.0.1
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs serve --dev-addr $(HOST):$(PORT)

site: $(VENV)/.site  ## build the site into build/site (strict: any warning fails)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

check: $(VENV)/.site  ## validate the catalog
	$(BIN)/latent check

export: $(VENV)/.site  ## write catalog.json / .csv / .bib into build/export
	$(BIN)/latent export

test: $(VENV)/.all  ## the whole test suite (CPU), browser tests included (installs Chromium where it can)
	@scripts/install_chromium.sh
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q

test-fast: $(VENV)/.all  ## the suite without browser tests
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -q -m "not browser"

bench-smoke: $(VENV)/.all  ## every method on a tiny task, on the CPU
	$(BIN)/latent bench run --suite smoke --device cpu

clean:  ## remove build output (not the venv)
	rm -rf build .pytest_cache
