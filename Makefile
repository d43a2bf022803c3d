# CloudVPN Portal. `make run` starts the whole stack; `make test` runs the whole suite.
SHELL := /bin/sh
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test test-postgres browser lint bench clean help

help:
	@echo "make run      start simulator, Redis, Celery worker+beat and the web server"
	@echo "make test     run the whole test suite (SQLite, or DATABASE_URL when set)"
	@echo "make install  create .venv and install requirements.txt (quick when nothing changed)"
	@echo "make bench    run the benchmarks in benchmarks/"

install: $(STAMP)

$(STAMP): requirements.txt scripts/find-python
	@if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	  rm -rf $(VENV); py=$$(scripts/find-python) || exit 1; \
	  echo "Creating $(VENV) with $$py"; "$$py" -m venv $(VENV) || exit 1; \
	fi
	$(PY) -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $(STAMP)

run: install
	@$(PY) scripts/run_stack.py

# Browser tests drive Debian's chromium when present; otherwise try apt (root), else Playwright's own.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	      (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) || true; \
	    fi; }; \
	command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  $(PY) -m playwright install chromium || echo "No Chromium available: browser tests will fail."

test: install browser
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .

bench: install
	@for b in benchmarks/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .run .pytest_cache
