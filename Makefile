# kickbot: `make run` (everything on SQLite + embedded Redis) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(CURDIR)/$(VENV)/bin
export PATH := $(BIN):$(PATH)
PIP := $(BIN)/python -m pip install --disable-pip-version-check -q

.PHONY: run test lint format bench setup-link migrate install install-dev clean test-tools faults load

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: requirements.txt | $(BIN)/python
	$(PIP) -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(PIP) -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.dev-installed

## run: start web (:8000), bot, Celery worker and beat (plus embedded Redis when REDIS_URL is unset)
run: $(VENV)/.installed
	@$(BIN)/python manage.py check --fail-level ERROR >/dev/null
	@$(BIN)/python manage.py migrate --noinput -v 0
	@$(BIN)/python manage.py bootstrap
	@if [ -z "$$REDIS_URL" ]; then exec $(BIN)/honcho start -f Procfile.dev; \
	 else exec $(BIN)/honcho start -f Procfile.dev web bot worker beat; fi

migrate: $(VENV)/.installed
	$(BIN)/python manage.py migrate --noinput

setup-link: $(VENV)/.installed
	@$(BIN)/python manage.py setup_link

## test: install dev requirements and run the suite (Postgres + Redis when DATABASE_URL/REDIS_URL are set)
test: $(VENV)/.dev-installed test-tools
	$(BIN)/python -m pytest $(PYTEST_ARGS)

test-tools:
	@bash scripts/ensure-test-tools

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports --no-cache

format: $(VENV)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

## bench: the limits stage, then benchmarks beside their limits into bench/results.json (BENCH_SCALE=0.1 for a quick run)
bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench.run $(BENCH)

## faults: kill -9 of bot and Celery worker, lease, Redis restart, Postgres connections cut; real processes on loopback (Redis db 13; Postgres 127.0.0.1:5432 for one scenario)
faults: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -m faults tests/faults -p no:cacheprovider -s $(PYTEST_ARGS)

## load: chat flood 5,000 msg/s x 60 s, 2,000 webhooks (10 % bad), one spamming viewer
load: $(VENV)/.dev-installed
	$(BIN)/python -m pytest -m load tests/load -p no:cacheprovider -s $(PYTEST_ARGS)

clean:
	rm -rf var/test
