# Two commands matter: `make run` and `make test`. Both bootstrap everything they need
# from the lock file, starting from nothing but Python 3.11+ and make.
PYTHON ?= python3
BOOT := .sciplan/boot
UV := $(BOOT)/bin/uv
UV_VERSION := 0.13.8
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint fmt bench migrate clean bootstrap

bootstrap: $(VENV)/.synced

$(UV):
	$(PYTHON) -m venv $(BOOT)
	$(BOOT)/bin/pip install --quiet uv==$(UV_VERSION)

# Byte-compiled at install: where PYTHONDONTWRITEBYTECODE is set (containers, CI) nothing else
# caches it, and every process would compile what it imports anew (half a service's start-up).
# The Makefile is a prerequisite so that a changed recipe remakes the environment.
$(VENV)/.synced: uv.lock pyproject.toml Makefile | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --locked --quiet --python $(PYTHON) --compile-bytecode
	touch $@

run: bootstrap
	$(BIN)/sciplan dev

# Two workers: the end-to-end tests (mostly waiting on processes, events and clocks) on one,
# the in-process tests on the other (see tests/conftest.py); PYTEST_WORKERS=0 runs them in turn.
PYTEST_WORKERS ?= 2

test: bootstrap lint
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) --dist loadgroup

lint: bootstrap
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache

fmt: bootstrap
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

migrate: bootstrap
	$(BIN)/sciplan migrate

bench: bootstrap
	$(BIN)/python -m bench.gateway_overhead

clean:
	rm -rf $(VENV) $(BOOT) .mypy_cache .ruff_cache .pytest_cache
