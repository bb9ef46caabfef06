# Sadeem developer entry points. `make run` and `make test` work on a fresh clone.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark

# The console (React app in console/) builds into the Python package, which serves it.
CONSOLE_DIST := src/sadeem/console_dist/index.html
CONSOLE_MODULES := console/node_modules/.installed
CONSOLE_SOURCES := $(shell find console/src console/public -type f 2>/dev/null) \
	console/index.html console/vite.config.ts console/tsconfig.json console/package.json

.PHONY: venv spark trino console console-test k8s-tools run demo test lint typecheck format bench clean

venv: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

## Local Spark 4 with Iceberg for the integration tests: the `spark` extra (pyspark) and the official
## Iceberg runtime + AWS bundle jars from Maven Central, cached in ${XDG_CACHE_HOME:-~/.cache}/sadeem/
spark: $(SPARK_STAMP)
	$(BIN)/python scripts/fetch_spark_jars.py

$(SPARK_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[spark]'
	touch $(SPARK_STAMP)

## A real Trino (pinned, checksummed, from Maven Central) in ~/.cache/sadeem/trino for the tests;
## `$(BIN)/python scripts/trino.py run --help` runs one for development
trino: venv
	$(BIN)/python scripts/trino.py fetch
	@$(BIN)/python scripts/trino.py java >/dev/null || echo "warning: no Java 24+ found: the real-Trino tests will be skipped" >&2

## Build the console when it is missing or older than its sources (npm ci from the committed lock file)
console: $(CONSOLE_DIST)

$(CONSOLE_MODULES): console/package-lock.json
	cd console && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(CONSOLE_DIST): $(CONSOLE_MODULES) $(CONSOLE_SOURCES)
	cd console && npm run build --silent

## The console's type check and component tests (Vitest)
console-test: $(CONSOLE_MODULES)
	cd console && npx tsc -b && npx vitest run

## helm v4, kubeconform and helm-unittest for the chart tests (pinned, cached in ~/.cache/sadeem/k8s-tools)
k8s-tools: venv
	$(BIN)/python scripts/k8s_tools.py >/dev/null

## Start Sadeem (API + console) at http://$${SADEEM_HOST:-127.0.0.1}:$${SADEEM_PORT:-8000}
run: venv console
	$(BIN)/sadeem up

## The spec's demo on this machine: starts SeaweedFS (S3), Sadeem (`sadeem up`, s3:// warehouse) and
## Trino on 127.0.0.1, ingests sample data, runs a Spark job and a Trino SQL job, prints the result and
## the console URL of its run page; Ctrl-C stops everything (`sadeem demo --help` for the options)
demo: venv console spark trino
	$(BIN)/sadeem demo

## Lint, type-check and run the whole test suite (PostgreSQL too when SADEEM_TEST_DATABASE_URL is set)
test: venv spark trino console k8s-tools lint typecheck console-test
	$(BIN)/pytest --durations=30

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

typecheck: venv
	$(BIN)/mypy

format: venv
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: venv console spark trino
	$(BIN)/python -m bench.list_endpoint
	$(BIN)/python -m bench.catalog
	$(BIN)/python -m bench.ingest_csv
	$(BIN)/python -m bench.dispatch
	$(BIN)/python -m bench.statements
	$(BIN)/python -m bench.schema_tree
	$(BIN)/python -m bench.engine_isolation
	$(BIN)/python -m bench.console
	$(BIN)/python -m bench.console_worksheet
	$(BIN)/python -m bench.trino_select
	$(BIN)/python -m bench.demo_flow
	$(BIN)/python -m bench.load_table

clean:
	rm -rf console/node_modules src/sadeem/console_dist
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .import_linter_cache
