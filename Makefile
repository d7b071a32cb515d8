# Schoolgate: `make demo` sets up a fresh machine and runs the demo school; `make test` runs the tests.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SHARED ?= ../shared

.PHONY: setup test-deps demo test test-sqlite test-postgres lint bench

$(BIN)/schoolgate: pyproject.toml setup.py src/schoolgate/gateway/dns/_fastlane.c
	tools/test-deps.sh --build
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[app,dev]'
	touch $@

setup: $(BIN)/schoolgate

demo: setup
	$(BIN)/schoolgate demo --shared $(SHARED)

test-deps:
	tools/test-deps.sh

test: setup test-deps
	$(BIN)/ruff check .
	$(BIN)/pytest -q
	if [ -d tests/app ]; then SCHOOLGATE_DATABASE=postgres $(BIN)/pytest -q tests/app; fi

lint: setup
	$(BIN)/ruff check .
