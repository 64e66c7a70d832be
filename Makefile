# make run   — create .venv, install, serve config.json (DuckDB sink, http://127.0.0.1:8080)
# make test  — install test deps and services, run the suite against real servers
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
CONFIG ?= config.json

.PHONY: run test test-slow bench soak lint venv deps test-deps clean

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(VENV)/.deps
	$(BIN)/pip install -q -e '.[test]'
	touch $@

venv deps: $(VENV)/.deps
test-deps: $(VENV)/.test-deps
	.setup/services/install.sh test

run: $(VENV)/.deps
	$(BIN)/tracker $(CONFIG)

test: test-deps
	$(BIN)/pytest -q --durations=25

test-slow: test-deps
	$(BIN)/pytest -q -m slow

bench: test-deps
	.setup/services/install.sh bench
	$(BIN)/python bench/run.py
	$(BIN)/python bench/engines.py

soak: test-deps
	$(BIN)/python bench/soak.py --seconds $(or $(SOAK_SECONDS),600) --server $(or $(SOAK_SERVER),hypercorn)

lint: test-deps
	$(BIN)/ruff check tracker tests bench
	$(BIN)/ruff format --check tracker tests bench
	$(BIN)/mypy tracker

clean:
	rm -rf $(VENV) data .pytest_cache
