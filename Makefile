# The two commands of the README: `make run` and `make test`. Both create .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck schema clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "dealerdesk needs Python 3.11 or newer (set PYTHON=python3.x)")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

# Serves http://127.0.0.1:8000/graphql; without DATABASE_URL it runs an embedded PostgreSQL.
run: $(STAMP)
	$(BIN)/dealerdesk serve --migrate --seed-demo

# Lint, type-check, then the whole suite against a real PostgreSQL.
test: lint typecheck
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

# Regenerate the committed SDL after changing the API.
schema: $(STAMP)
	$(BIN)/dealerdesk export-schema > schema.graphql

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
