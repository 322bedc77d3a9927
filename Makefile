# Two commands do everything on a fresh machine with Python 3.11:
#   make run    start both services on the embedded default (SQLite, dev keys, seed data)
#   make test   run every test (SQLite and PostgreSQL, headless Chromium, PDF tools)
.DEFAULT_GOAL := help
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# Compiled modules go to .venv/pycache, not beside the sources: the tree stays clean, and every
# Python process (test workers, the PDF workers and relays that tests start, make run's services)
# reads bytecode instead of compiling each module it imports again, which was about half of the
# CPU a process spent starting. (An empty PYTHONDONTWRITEBYTECODE is off, even when set outside.)
export PYTHONDONTWRITEBYTECODE :=
export PYTHONPYCACHEPREFIX := $(CURDIR)/$(VENV)/pycache

$(STAMP): requirements.txt requirements-dev.txt libs/common/pyproject.toml services/directive-api/pyproject.toml services/report-api/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)
	test -x $(BIN)/uv || { $(BIN)/python -m pip --version >/dev/null 2>&1 || $(BIN)/python -m ensurepip >/dev/null; $(BIN)/python -m pip install -q uv; }
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements.txt -r requirements-dev.txt
	$(BIN)/uv pip install -q --python $(BIN)/python --no-deps -e libs/common -e services/directive-api -e services/report-api
	touch $(STAMP)

setup: $(STAMP) ## Create .venv with the pinned dependencies and the workspace packages

# Ports and the state folder: make run ARGS="--directive-port 9001 --report-port 9002" (see docs/operations.md).
ARGS ?=
run: setup ## Start both services on SQLite files under var/ (Ctrl-C stops them; ARGS="--directive-port 9001")
	scripts/install-system-deps --runtime
	$(BIN)/python scripts/run_local.py $(ARGS)

system-deps: ## Debian packages the tests drive (poppler, chromium, softhsm2, postgresql, …)
	scripts/install-system-deps

# Test processes: most tests wait on subprocesses, sockets and PostgreSQL rather than compute, so
# even a 2-core machine runs two workers well; more than 4 mostly adds memory and connections.
TEST_WORKERS ?= $(shell n=$$(nproc 2>/dev/null || echo 2); [ $$n -lt 2 ] && n=2; [ $$n -gt 4 ] && n=4; echo $$n)

test: setup system-deps ## Run every test (starts the local PostgreSQL when needed)
	scripts/ensure-postgres
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --durations=25 -m "not serial"
	$(BIN)/pytest -m serial

test-fast: setup ## Unit and service tests on SQLite only (no PostgreSQL, browser or slow tests): the quick loop
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not slow and not postgres and not browser and not serial" libs/common/tests services/directive-api/tests services/report-api/tests

check: setup ## ruff, mypy (strict) and the import rules
	$(BIN)/ruff format --check .
	$(BIN)/ruff check .
	$(BIN)/mypy libs/common/src services/directive-api/src services/report-api/src scripts bench
	$(BIN)/lint-imports
	scripts/validate-deploy

fmt: setup ## Format and auto-fix
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

bench: setup system-deps ## Run the benchmarks (ratios measured side by side)
	scripts/ensure-postgres
	$(BIN)/python bench/run.py

lock: ## Re-pin dependencies from requirements*.in
	$(BIN)/uv pip compile -q requirements.in -o requirements.txt --python-version 3.11
	$(BIN)/uv pip compile -q requirements-dev.in -o requirements-dev.txt --python-version 3.11

help:
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

.PHONY: setup run system-deps test test-fast check fmt bench lock help
