# The two commands of the quick start: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MANAGE := $(BIN)/python manage.py

# Production-like settings for `check --deploy`: DEBUG off, a long secret, a real broker URL.
DEPLOY_ENV := DEBUG=0 SECRET_KEY=$$(printf 'deploy-check-%064d' 0) ALLOWED_HOSTS=recovery.example.org \
	CELERY_BROKER_URL=redis://127.0.0.1:6379/0

.PHONY: run test install lint migrations-check deploy-check schema-check pytest bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: export DEBUG ?= 1
run: $(STAMP)
	mkdir -p var/staticfiles
	$(MANAGE) migrate --no-input
	$(MANAGE) seed_demo
	$(MANAGE) rundev

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

migrations-check: $(STAMP)
	DEBUG=1 $(MANAGE) makemigrations --check --dry-run

deploy-check: $(STAMP)
	$(DEPLOY_ENV) $(MANAGE) check --deploy --fail-level WARNING

schema-check: $(STAMP)
	mkdir -p var
	DEBUG=1 $(MANAGE) spectacular --validate --fail-on-warn --file var/openapi.yaml

pytest: $(STAMP)
	mkdir -p var
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint migrations-check deploy-check schema-check pytest

# Reminder delivery through a real worker vs the bare Celery task rate (PostgreSQL and Redis needed;
# see bench/reminders.py). BENCH_ARGS="--count 10000" for a quick run.
bench: $(STAMP)
	$(BIN)/python bench/reminders.py $(BENCH_ARGS)

clean:
	rm -rf var/broker var/broker-control var/celerybeat-schedule* var/screenshots
