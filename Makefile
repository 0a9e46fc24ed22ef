# spine-audit developer commands. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: help install demo test bench clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the package with its dev extras

demo: $(STAMP) ## install, then analyse the bundled samples and print a summary
	$(BIN)/python scripts/demo.py data/samples/referrals_samples.jsonl

test: $(STAMP) ## install, then run the whole test suite
	$(BIN)/python -m pytest -q

bench: $(STAMP) ## extraction throughput against the spaCy tokenizer floor
	$(BIN)/python scripts/bench_extract.py --n 10000

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache build *.egg-info
