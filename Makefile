# CloudVPN Portal. `make run` starts the whole stack; `make test` runs the whole suite.
SHELL := /bin/sh
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=
# The tests run in parallel processes (pytest-xdist): many wait on the simulator or a browser with
# the CPU idle, so more processes than cores pays. `worksteal` rebalances the last, slowest tests.
PYTEST_WORKERS ?= 4
PYTEST_PARALLEL := -n $(PYTEST_WORKERS) --dist worksteal

.PHONY: install run test test-fast test-postgres browser lint bench clean help

help:
	@echo "make run      start simulator, Redis, Celery worker+beat and the web server"
	@echo "make test     run the whole test suite (SQLite, or DATABASE_URL when set)"
	@echo "make test-fast  the suite without the browser and the slow (real worker) tests: under a minute"
	@echo "make install  create .venv and install requirements-dev.txt (the portal and its tooling)"
	@echo "make bench    run the benchmarks in benchmarks/"

install: $(STAMP)

$(STAMP): requirements.txt requirements-dev.txt scripts/find-python
	@if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	  rm -rf $(VENV); py=$$(scripts/find-python) || exit 1; \
	  echo "Creating $(VENV) with $$py"; "$$py" -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $(STAMP)

run: install
	@$(PY) scripts/run_stack.py

# Browser tests drive Debian's chromium-headless-shell (the engine of its chromium without the browser's
# user interface, as Playwright runs headless) or chromium; otherwise try apt (root), else Playwright's own.
browser:
	@command -v chromium-headless-shell >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell >/dev/null 2>&1 || \
	       (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium-headless-shell >/dev/null)) || true; \
	    fi; }; \
	command -v chromium-headless-shell >/dev/null 2>&1 || command -v chromium >/dev/null 2>&1 || \
	  command -v chromium-browser >/dev/null 2>&1 || \
	  $(PY) -m playwright install chromium || echo "No Chromium available: browser tests will fail."

test: install browser
	$(PY) -m pytest $(PYTEST_PARALLEL) $(PYTEST_ARGS)

test-fast: install
	$(PY) -m pytest $(PYTEST_PARALLEL) -m "not browser and not slow" $(PYTEST_ARGS)

# Style (ruff), then the architecture (import-linter: the contracts in pyproject.toml, docs/architecture.md),
# then the types (mypy with django-stubs: [tool.mypy] in pyproject.toml).
lint: install
	$(PY) -m ruff check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

bench: install
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .run .pytest_cache
