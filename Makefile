# The two commands: `make run` (set up, start PostGIS, load the demo when empty, serve)
# and `make test` (set up, then lint, type-check and the whole test suite).
VENV := .venv
BIN := $(VENV)/bin

.PHONY: setup setup-test run test check pytest bench clean-db

setup:
	@bash scripts/setup.sh

setup-test:
	@bash scripts/setup.sh --test

run: setup
	$(BIN)/geogrid serve --demo-if-empty

test: setup-test check pytest

check:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

pytest:
	$(BIN)/pytest -q

bench: setup
	$(BIN)/python -m bench $(ARGS)

clean-db:
	-$(BIN)/geogrid db down
	rm -rf var/pg
