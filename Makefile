# Set-up and entry points.  `make demo` and `make test` work on a fresh machine with Python >= 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: demo test lint perf install clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.core: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.test: pyproject.toml $(VENV)/.core
	$(BIN)/pip install -q -e '.[test,trainer,test-tf]'
	touch $@

$(VENV)/.all: pyproject.toml $(VENV)/.test
	$(BIN)/pip install -q -e '.[all]'
	touch $@

demo: $(VENV)/.core   ## the demo experiment on the embedded surrogate table, ending in a regret plot
	$(BIN)/nasbench run experiments/demo.yaml

test: $(VENV)/.test   ## the whole test suite
	$(BIN)/python -m pytest -q

lint: $(VENV)/.test   ## ruff (lint, import order) and mypy, configured in pyproject.toml
	$(BIN)/ruff check .
	$(BIN)/mypy

perf: $(VENV)/.test   ## benchmark scripts: figures and ratios against baselines measured in the same run
	$(BIN)/python -m perf

install: $(VENV)/.all  ## .venv with every extra (the trainer's Keras + JAX included)

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
