# Faktura: two commands on a fresh machine. `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: run test lint install install-dev browser clean bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"

# The back office's front-end libraries (htmx, Chart.js), pinned in package-lock.json.
$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(STAMP): $(BIN)/python requirements.lock requirements-rules.txt pyproject.toml $(NODE_STAMP)
	$(BIN)/pip install --quiet -r requirements.lock
	$(BIN)/pip install --quiet --no-deps --require-hashes -r requirements-rules.txt
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

$(DEV_STAMP): $(STAMP) requirements-dev.lock
	$(BIN)/pip install --quiet -r requirements-dev.lock
	touch $@

install: $(STAMP)
install-dev: $(DEV_STAMP)

run: $(STAMP)
	$(BIN)/faktura run

# The browser tests drive Debian's Chromium (Playwright's own download does not work
# offline); installed here when missing and the machine lets us.
CHROMIUM ?= /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get install -y -qq chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }; \
	  elif command -v sudo >/dev/null; then sudo apt-get install -y -qq chromium >/dev/null; \
	  else echo "No $(CHROMIUM) and no way to install it: the browser tests will skip (never in CI)."; fi; }

test: $(DEV_STAMP) browser
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/faktura makemigrations --check --dry-run

bench: $(STAMP)
	$(BIN)/python bench/finalize_invoices.py

clean:
	rm -rf $(VENV)
