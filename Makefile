# The two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
export FLASK_APP := wsgi

.PHONY: run test lint bench bench-web worker clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test,postgres,redis,fast,server]'
	touch $(STAMP)

tests/ical/node_modules/.package-lock.json: tests/ical/package-lock.json
	npm ci --prefix tests/ical --no-audit --no-fund --loglevel=error

tests/browser/node_modules/.package-lock.json: tests/browser/package-lock.json
	npm ci --prefix tests/browser --no-audit --no-fund --loglevel=error

## Set up everything and serve the demo on http://127.0.0.1:5000
run: $(STAMP)
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo
	$(BIN)/flask run --host 127.0.0.1 --port 5000

## Lint, scan for security problems and run the whole suite (PostgreSQL too when TEST_DATABASE_URL is set)
test: $(STAMP) tests/ical/node_modules/.package-lock.json tests/browser/node_modules/.package-lock.json
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -r matching -ll -q
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/bandit -r matching -ll -q

## Reproducible benchmarks with fixed seeds: the matching step, then the pages
bench: $(STAMP)
	$(BIN)/python bench/matching.py
	$(MAKE) bench-web

## The pages under gunicorn on PostgreSQL (database bench_web), measured with wrk
bench-web: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null; }
	$(BIN)/python bench/web.py

## Deliver queued mail in a loop (a separate process in production)
worker: $(STAMP)
	$(BIN)/flask outbox deliver --loop

clean:
	rm -rf $(VENV) tests/ical/node_modules tests/browser/node_modules *.egg-info
