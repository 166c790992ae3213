# salesops: `make demo` serves the demo company, `make test` runs the whole suite (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PG_URL ?= postgres://postgres@127.0.0.1:5432/test
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: demo test serve venv assets lint test-sqlite test-postgres test-e2e browser messages bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "salesops needs Python >= 3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	@touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

venv: $(VENV)/.installed
assets: node_modules/.installed

# Serve the demo company on SQLite at http://127.0.0.1:8000 (a second run reuses the data).
demo: venv assets
	SALESOPS_DEMO=true $(BIN)/salesops migrate --no-input -v 0
	SALESOPS_DEMO=true $(BIN)/salesops demo
	SALESOPS_DEMO=true $(BIN)/salesops runserver --noreload 127.0.0.1:8000

# The whole suite: lint, import contract, tests on SQLite and PostgreSQL, end-to-end in Chromium.
test: $(VENV)/.installed-test assets browser lint test-sqlite test-postgres test-e2e
	@echo "All checks passed."

lint: $(VENV)/.installed-test
	$(BIN)/ruff check src tests
	$(BIN)/lint-imports
	SALESOPS_TESTING=true $(BIN)/salesops makemigrations --check --dry-run -v 0

test-sqlite: $(VENV)/.installed-test
	env -u DATABASE_URL $(BIN)/pytest -m "not e2e" -n 2

test-postgres: $(VENV)/.installed-test
	@if $(BIN)/python -c "import psycopg,sys; psycopg.connect('$(PG_URL)', connect_timeout=3).close()" 2>/dev/null; then \
		DATABASE_URL=$(PG_URL) $(BIN)/pytest -m "not e2e" -n 2; \
	else \
		echo "SKIPPED: the PostgreSQL run (no server reachable at $(PG_URL))"; \
	fi

test-e2e: $(VENV)/.installed-test assets browser
	env -u DATABASE_URL $(BIN)/pytest -m e2e tests/e2e

# Debian Chromium and a CJK font for the end-to-end tests and PDF statements (Playwright's own browser download
# does not work here); poppler-utils lets the tests read the PDFs back.
browser:
	@if ! command -v chromium >/dev/null || ! command -v pdftotext >/dev/null || ! fc-list 2>/dev/null | grep -qi 'wenquanyi\|noto sans cjk'; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-zenhei poppler-utils >/dev/null; \
		else \
			echo "Install Debian chromium, fonts-wqy-zenhei and poppler-utils (as root: apt-get install chromium fonts-wqy-zenhei poppler-utils)"; exit 1; \
		fi; \
	fi

# Regenerate the translation catalogues after changing user-visible strings.
messages: venv
	cd src/salesops && SALESOPS_TESTING=true ../../$(BIN)/salesops makemessages -l zh_Hans -l en --no-obsolete --no-location && SALESOPS_TESTING=true ../../$(BIN)/salesops compilemessages

bench: venv
	SALESOPS_DEMO=true $(BIN)/salesops bench
	$(BIN)/salesops comp bench
	$(BIN)/salesops pipeline bench
	SALESOPS_DEMO=true $(BIN)/salesops crm_bench
	$(BIN)/salesops recommend bench

clean:
	rm -rf $(VENV) node_modules var screenshots
