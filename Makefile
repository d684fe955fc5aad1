# The README's two commands: `make demo` (run the sample project) and `make test` (the suite).
PYTHON ?= python3
VENV ?= .venv
DEMO ?= demo
BIN := $(abspath $(VENV))/bin

.PHONY: demo test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[duckdb]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/hygge init $(DEMO) --force
	cd $(DEMO) && $(BIN)/hygge go

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

test: lint
	$(BIN)/pytest

bench: $(VENV)/.installed
	$(BIN)/python bench/file_to_file.py

clean:
	rm -rf $(VENV) demo .pytest_cache .mypy_cache .ruff_cache
