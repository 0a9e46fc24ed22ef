# spine-audit developer commands. `make help` lists them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: help install demo review test bench golden errors train train-review model-selection notebooks clean

help: ## list the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install the package with its dev extras

demo: $(STAMP) ## install, then audit the bundled samples: summary, table and out/samples_report.html
	@mkdir -p out
	$(BIN)/spine-audit audit data/samples/referrals_samples.jsonl --out out/samples_audit.csv --force
	@$(BIN)/python scripts/demo.py out/samples_audit.csv
	$(BIN)/spine-audit audit data/samples/referrals_samples.jsonl --out out/samples_report.html --force --quiet
	@echo "QA report: out/samples_report.html (open it in a browser)"

review: $(STAMP) ## install, audit the samples to JSONL and serve the QA review app on http://127.0.0.1:8000 (Ctrl-C stops)
	@mkdir -p out
	$(BIN)/spine-audit audit data/samples/referrals_samples.jsonl --out out/samples_audit.jsonl --force --quiet \
	  --model models/review_simulated.joblib
	$(BIN)/spine-audit review serve out/samples_audit.jsonl --db out/review.db

test: $(STAMP) ## install, then run the whole test suite
	$(BIN)/python -m pytest -q

bench: $(STAMP) ## throughput and memory: extraction (5k generated + real notes; medSpaCy too with MEDSPACY_PYTHON=...) and full audits (100k rows, CSV and Parquet, 1 and 2 workers)
	$(BIN)/python scripts/bench.py --extract-notes 5000 --audit-rows 100000

golden: $(STAMP) ## record the extractor's golden outputs after an intended change (tests/golden)
	$(BIN)/python tests/golden_records.py --write

errors: $(STAMP) ## error analysis: disagreements on dev, samples and real_dev, grouped by concept and kind (out/errors.md)
	$(BIN)/python scripts/error_analysis.py

train: $(STAMP) ## refit models/mismatch.joblib on the samples and the shared dev set (fixed seed)
	$(BIN)/spine-audit train data/samples/referrals_samples.jsonl ../shared/data/dev/referrals_dev.jsonl --features text+rules --out models/mismatch.joblib --force

train-review: $(STAMP) ## refit models/review_simulated.joblib on the SIMULATED review decisions (../shared/data/reviewed)
	$(BIN)/spine-audit train ../shared/data/reviewed/reviewed_dev.csv --out models/review_simulated.joblib --force \
	  --description "SIMULATED review decisions (invented referrals, a written policy, 7% label noise): shows the mechanism, not clinical value"

model-selection: $(STAMP) ## compare the model's feature sets and C by cross-validation on the simulated reviews
	$(BIN)/python scripts/model_selection.py ../shared/data/reviewed/reviewed_dev.csv

notebooks: $(STAMP) ## execute notebooks/1.0-evaluation.ipynb headlessly on the full corpora into out/
	@mkdir -p out
	cd notebooks && SPINE_AUDIT_SHARED=$(abspath ../shared) ../$(BIN)/python -c "import nbformat, nbclient; \
	  nb = nbformat.read('1.0-evaluation.ipynb', as_version=4); nbclient.NotebookClient(nb, timeout=1800).execute(); \
	  nbformat.write(nb, '../out/1.0-evaluation.executed.ipynb')"
	@echo "executed notebook: out/1.0-evaluation.executed.ipynb (has outputs: do not commit it)"

clean: ## remove the virtual environment and caches
	rm -rf $(VENV) .pytest_cache build *.egg-info
