# The two set-up commands of README.md: `make demo` (the annotation app on bundled sample
# images) and `make test`.
# Each creates .venv on first use; torch is pinned exactly (a looser spec pulls CUDA wheels).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
TORCH := torch==2.13.0

.PHONY: install demo test lint format clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e ".[test]" $(TORCH)
	touch $(STAMP)

demo: install
	$(BIN)/occseg annotate --out occseg-project

test: install
	$(BIN)/python -m pytest

# ruff, the import contracts of pyproject.toml (floors, no cycles, torch-free floors) and mypy.
lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info .pytest_cache .ruff_cache
