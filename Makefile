# Two commands matter: `make run` and `make test` (see README).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
BIND ?= 127.0.0.1:8080
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: webforms run test test-sqlite test-postgres lint bench-ingest bench-forward bench-review bench-dashboard audit-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt $(VENV)/.runtime
	$(BIN)/pip install -q -r requirements-dev.txt
	touch $@

# ODK Web Forms (server/webforms): npm installs exactly the lock file, esbuild writes the hashed bundle
# into server/webforms/dist (never committed). Node 20 and npm 11 (see README).
WEBFORMS := server/webforms
$(WEBFORMS)/node_modules/.package-lock.json: $(WEBFORMS)/package.json $(WEBFORMS)/package-lock.json
	cd $(WEBFORMS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WEBFORMS)/dist/manifest.json: $(WEBFORMS)/node_modules/.package-lock.json $(WEBFORMS)/build.mjs $(wildcard $(WEBFORMS)/src/*)
	cd $(WEBFORMS) && npm run --silent build

webforms: $(WEBFORMS)/dist/manifest.json

## run: install, migrate, publish xlsforms/, create users, print the Collect QR code, serve
run: $(VENV)/.runtime webforms
	$(BIN)/flask --app wsgi init
	$(BIN)/gunicorn --bind $(BIND) --workers 2 --access-logfile - wsgi:app

## test: lint, then the whole suite on SQLite and again on PostgreSQL
test: lint test-sqlite test-postgres

lint: $(VENV)/.dev
	$(BIN)/ruff check .

# pytest exits non-zero (5) when it collects no tests, so an empty run fails.
test-sqlite: $(VENV)/.dev webforms
	$(BIN)/python -m pytest -q -p no:cacheprovider

test-postgres: $(VENV)/.dev webforms
	TEST_DATABASE_URL=$(PG_TEST_URL) $(BIN)/python -m pytest -q -p no:cacheprovider

bench-ingest: $(VENV)/.dev
	$(BIN)/python -m bench.ingest --workers 2

bench-forward: $(VENV)/.dev
	$(BIN)/python -m bench.forward

bench-review: $(VENV)/.dev
	$(BIN)/python -m bench.review_list

bench-dashboard: $(VENV)/.dev
	$(BIN)/python -m bench.dashboard

## audit-deps: known vulnerabilities in the pinned dependencies (needs the OSV or PyPI
## vulnerability service; --strict fails when a package cannot be checked). Not in `make test`:
## the development machine cannot reach either service.
audit-deps: $(VENV)/.dev
	$(BIN)/pip install -q pip-audit==2.10.1
	$(BIN)/pip-audit --strict -r requirements.txt

clean:
	rm -rf $(VENV) test-artifacts
