# Sadeem developer entry points. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv run test lint typecheck format bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## Start Sadeem (API + console) at http://$${SADEEM_HOST:-127.0.0.1}:$${SADEEM_PORT:-8000}
run: venv
	$(BIN)/sadeem up

## Lint, type-check and run the whole test suite (PostgreSQL too when SADEEM_TEST_DATABASE_URL is set)
test: venv lint typecheck
	$(BIN)/pytest

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: venv
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv
	$(BIN)/python -m bench.list_endpoint

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
