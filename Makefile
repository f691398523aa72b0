# codexweb — the two commands a newcomer needs are `make run` and `make test`.
# Every target installs what it needs, idempotently, and says what it is doing.

SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test install system-run system-test docker-engine sandbox-image sandbox-helper proxy-venv \
        lint typecheck pytest lock clean

## run: install what is needed and start the embedded stack (SQLite, Redis, daphne, a worker)
# `exec`: the runner replaces the recipe's shell, so it is make's own child and gets the SIGTERM
# make forwards when a service manager or a script stops make by its PID.
run: system-run install docker-engine sandbox-image sandbox-helper proxy-venv
	@echo "==> Starting codexweb (Ctrl-C or SIGTERM to make stops everything)"
	@exec $(VENV)/bin/codexweb serve --host $(HOST) --port $(PORT)

## test: install what is needed and run lint, type checks and every test suite
test: system-test install docker-engine sandbox-image sandbox-helper proxy-venv
	@$(MAKE) --no-print-directory lint typecheck pytest

install:
	@scripts/venv.sh

system-run:
	@scripts/system-packages.sh run

system-test:
	@scripts/system-packages.sh test

docker-engine:
	@if [ -x scripts/docker-engine.sh ]; then scripts/docker-engine.sh; fi

sandbox-image: docker-engine
	@if [ -x scripts/sandbox-image.sh ]; then scripts/sandbox-image.sh; fi

## sandbox-helper: the static in-container command helper (gcc; tasks/sandbox/helper_build.py)
sandbox-helper: install
	@scripts/sandbox-helper.sh

proxy-venv:
	@if [ -x scripts/proxy-venv.sh ]; then scripts/proxy-venv.sh; fi

lint: install
	@echo "==> Lint (ruff)"
	@$(VENV)/bin/ruff check .

typecheck: install
	@echo "==> Type checks (mypy)"
	@$(VENV)/bin/mypy codexweb tasks repos

pytest: install
	@echo "==> Tests (pytest, real PostgreSQL + Redis + Docker + Chromium)"
	@$(VENV)/bin/pytest tests; rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing" >&2; exit 1; fi; exit $$rc

## lock: re-pin every dependency after changing pyproject.toml
lock: install
	@$(VENV)/bin/pip freeze --exclude-editable | grep -v '^codexweb' > constraints.txt
	@echo "==> constraints.txt updated"

clean:
	rm -rf .cache .pytest_cache .mypy_cache .ruff_cache artifacts
