# diemcau — `make run` starts the service, `make test` runs every check.
# Both create .venv on first use and reinstall only when pyproject.toml or a lock file
# changes. `make lock` refreshes the lock files on purpose.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --disable-pip-version-check --no-input -q
HOST ?= 127.0.0.1
PORT ?= 8000
# Two workers: the suite is I/O-bound (SQLite files, PostgreSQL, subprocesses).
PYTEST_ARGS ?= -n 2 --durations=30
# Chromium for the browser tests and screenshots; fonts with Vietnamese glyphs; wrk
# drives the check-in benchmark.
APT_PACKAGES := chromium fonts-dejavu-core fonts-dejavu-extra fonts-liberation wrk

# Exact versions with hashes: every machine and the image install the same code. Plain
# pip reads them (`--require-hashes`), so only `make lock` needs uv. The project itself
# goes in with `--no-deps` in its own pip call: require-hashes refuses an unhashed `-e .`.
LOCK := requirements.lock
TEST_LOCK := requirements-test.lock
# Python 3.11 on x86-64 Linux, as in the Dockerfile; each pin lists the hashes of all its
# files on PyPI. `make lock UV_LOCK_ARGS=` keeps the current pins and only adds what
# pyproject.toml gained.
UV_LOCK_ARGS ?= --upgrade
UV_COMPILE = $(BIN)/uv pip compile pyproject.toml --quiet $(UV_LOCK_ARGS) --generate-hashes \
	--python-version 3.11 --python-platform x86_64-manylinux_2_28 --custom-compile-command "make lock"

.PHONY: help run demo test lint lock browser services

help:
	@echo "make run    install (first time) and start diemcau on http://$(HOST):$(PORT)"
	@echo "make demo   the same, with the demo conference loaded"
	@echo "make test   install test tools, start PostgreSQL/Redis if down, ruff + mypy + pytest"
	@echo "make lint   ruff + mypy --strict"
	@echo "make lock   refresh $(LOCK) and $(TEST_LOCK) from pyproject.toml (uv)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: $(LOCK) pyproject.toml | $(BIN)/python
	@echo "Installing diemcau into $(VENV) from $(LOCK)…"
	$(PIP) install --require-hashes -r $(LOCK)
	$(PIP) install --no-deps -e .
	@touch $@

# The test lock holds the runtime lock's pins too (compiled with -c $(LOCK)). `pip check`
# fails when [project] dependencies gained or raised one that no `make lock` has locked.
$(VENV)/.installed-test: $(TEST_LOCK) $(LOCK) pyproject.toml | $(BIN)/python
	@echo "Installing diemcau with test tools into $(VENV) from $(TEST_LOCK)…"
	$(PIP) install --require-hashes -r $(TEST_LOCK)
	$(PIP) install --no-deps -e .
	$(BIN)/python -m pip --disable-pip-version-check check
	@touch $@ $(VENV)/.installed

$(BIN)/uv: | $(BIN)/python
	$(PIP) install uv

# Deliberately not a prerequisite of run/test: versions change only when someone runs
# this and commits the result. The runtime lock comes first; the test lock is held to
# its pins, so the tests run the very versions the image ships.
lock: | $(BIN)/uv
	$(UV_COMPILE) -o $(LOCK)
	$(UV_COMPILE) --extra test --constraint $(LOCK) -o $(TEST_LOCK)

run: $(VENV)/.installed
	$(BIN)/diemcau serve --host $(HOST) --port $(PORT)

demo: $(VENV)/.installed
	$(BIN)/diemcau serve --demo --host $(HOST) --port $(PORT)

# Debian's chromium, installed only when missing and only as root (CI and these machines).
browser:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/wrk ]; then \
	  if [ "$$(id -u)" -eq 0 ]; then \
	    echo "Installing Debian chromium and fonts…"; \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get update -qq; \
	    apt-get install -y -qq -o Dpkg::Use-Pty=0 $(APT_PACKAGES) >/dev/null; \
	  else \
	    echo "note: /usr/bin/chromium is missing; browser tests skip (apt-get install $(APT_PACKAGES))"; \
	  fi; \
	fi

# The same start commands as the machine image uses; a no-op when the servers are up.
services:
	@if command -v pg_isready >/dev/null && ! pg_isready -q -h 127.0.0.1 -p 5432; then \
	  echo "Starting PostgreSQL…"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start \
	    || echo "warning: could not start PostgreSQL; its tests skip (fail under CI=true)"; \
	  for _ in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; \
	fi
	@if command -v redis-server >/dev/null && ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then \
	  echo "Starting Redis…"; \
	  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
	    --dir /var/lib/redis --logfile /var/log/redis/ci.log \
	    || echo "warning: could not start Redis; its tests skip (fail under CI=true)"; \
	  for _ in $$(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done; \
	fi

test: $(VENV)/.installed-test browser services
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)

lint: $(VENV)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/mypy .
	$(BIN)/lint-imports
