# Two commands set everything up: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[cli,dask,plot,notebook,bench,dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/syncdx posterior --top 5
	$(BIN)/syncdx posterior paused_banner=yes internet_works=no --top 5
	$(BIN)/syncdx posterior paused_banner=yes other_icloud_sync_failing=yes system_status=icloud_issue --top 5
	$(BIN)/syncdx score models/icloud_sync.reports.csv -o demo-scores.csv --summary

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

test: lint typecheck
	$(BIN)/python -m pytest -q -n 2 --dist worksteal
	$(BIN)/python -m doctest -o ELLIPSIS -o NORMALIZE_WHITESPACE README.md

bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_posterior
	$(BIN)/python -m benchmarks.bench_recommend
	$(BIN)/python -m benchmarks.bench_troubleshoot
	$(BIN)/python -m benchmarks.bench_score
	$(BIN)/python -m benchmarks.bench_networks
	$(BIN)/python -m benchmarks.bench_plan
	$(BIN)/python -m benchmarks.bench_learning

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache demo-scores.csv
