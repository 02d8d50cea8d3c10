# The two commands a newcomer needs: `make run` and `make test`. Everything else supports them.
.DEFAULT_GOAL := help
SHELL := /bin/bash

VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
MANAGE := $(BIN)/python manage.py
APPS := mentorship profiles matching cohorts meetings conversations community audit
HOST ?= 127.0.0.1
PORT ?= 8000
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_PYTHON_DOWNLOADS := never

.PHONY: help install run serve test lint format bench migrate demo clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(BIN)/python:
	@py=$$(scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$py"; \
	"$$py" -m venv $(VENV)

$(UV): | $(BIN)/python
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==0.13.8"

# Bytecode is compiled here, for the dependencies and our own code, because the environment may
# set PYTHONDONTWRITEBYTECODE (as CI runners and containers often do): every process would
# otherwise compile each module it imports, seconds per `manage.py` command.
install: $(UV) ## create or update .venv with the locked dependencies
	$(UV) sync --locked --python $(BIN)/python --quiet --compile-bytecode
	$(BIN)/python -m compileall -q -j0 $(APPS) >/dev/null

demo: migrate ## load demo data and the demo admin (idempotent)
	$(MANAGE) seed_demo

.env:
	cp .env.example .env

migrate: install .env
	$(MANAGE) migrate --no-input

# Links in emails and the demo's sign-in hint point where this serves, unless SITE_URL is set in
# the environment or .env (mentorship/settings.py reads RUNSERVER_URL only then).
run: export RUNSERVER_URL = http://$(HOST):$(PORT)
run: demo ## install, migrate, load demo data and serve on http://$HOST:$PORT (127.0.0.1:8000)
	$(MANAGE) runserver $(HOST):$(PORT)

# The production shape on this machine: gunicorn (deploy/gunicorn.conf.py), a Celery worker and beat
# on DATABASE_URL and REDIS_URL, after migrate and collectstatic (scripts/serve says more).
serve: install ## gunicorn, a Celery worker and beat on PostgreSQL and Redis, as production runs them
	$(BIN)/python scripts/serve --bind $(HOST):$(PORT)

test: install lint ## the whole suite on PostgreSQL and Redis (DATABASE_URL / REDIS_URL, default: local servers)
	DEBUG=false SECRET_KEY=test-only-secret-key-not-for-production \
	DATABASE_URL=$${TEST_DATABASE_URL:-$${DATABASE_URL:-postgres:///test}} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
	$(BIN)/pytest -p no:cacheprovider --benchmark-disable $(PYTEST_ARGS); \
	status=$$?; echo "Screenshots: $(CURDIR)/test-artifacts/screenshots"; exit $$status

lint: install ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install ## the benchmarks in tests/load at full size
	DEBUG=false SECRET_KEY=test-only-secret-key-not-for-production \
	DATABASE_URL=$${DATABASE_URL:-postgres:///test} REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/0} \
	BENCH_SIZE=full $(BIN)/pytest tests/load -p no:cacheprovider --benchmark-only -s

clean: ## remove the virtual environment and local data
	rm -rf $(VENV) db.sqlite3 var/
