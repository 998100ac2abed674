# The two commands of the quick start: `make run` and `make test`; `make check` is the inner loop.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
MANAGE := $(BIN)/python manage.py

# Production-like settings for `check --deploy`: DEBUG off, a long secret, a real broker URL.
DEPLOY_ENV := DEBUG=0 SECRET_KEY=$$(printf 'deploy-check-%064d' 0) ALLOWED_HOSTS=recovery.example.org \
	RESEARCH_PSEUDONYM_KEY=$$(printf 'deploy-check-pseudonym-%040d' 0) \
	CELERY_BROKER_URL=redis://127.0.0.1:6379/0 SMS_BACKEND=recovery.sms.HttpBackend \
	SMS_HTTP_URL=https://sms.example.org/v1/messages SMS_HTTP_TOKEN=deploy-check-token

# The tests run in parallel (pytest-xdist; each process has its own test database), a module per process.
PYTEST_WORKERS ?= 2
PYTEST := $(BIN)/pytest -n $(PYTEST_WORKERS) --dist loadfile --basetemp=var/pytest-tmp
# `make test` also runs the suite on PostgreSQL when one answers here (CI: always, REQUIRE_SERVICES=1).
POSTGRES_TEST_URL ?= postgres://postgres@127.0.0.1:5432/recovery_test
FAST := not e2e and not services and not faults and not slow

# $(call timed,name,command): run a stage and print how long it took.
timed = @start=$$(date +%s); $(2); status=$$?; printf '\n== %s: %d s\n' "$(1)" $$(( $$(date +%s) - start )); exit $$status

.PHONY: run test check install lint messages migrations-check deploy-check schema-check pytest pytest-sqlite pytest-postgres release-smoke \
	bench bench-seed bench-planning bench-web screenshots clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: export DEBUG ?= 1
run: $(STAMP)
	mkdir -p var/staticfiles var/broker var/broker-control  # the filesystem broker: the demo seed wakes tasks
	$(MANAGE) migrate --no-input
	$(MANAGE) seed_demo
	$(MANAGE) rundev

# The Swedish catalogue: every string marked in the source (makemessages; needs gettext), with the translations
# written in locale/fragments/*.po filled in where the catalogue has none (fuzzy guesses dropped), then compiled.
# Commit locale/sv/LC_MESSAGES/django.po and django.mo both: `make run` needs no gettext. To change a translation
# the catalogue has, edit django.po. tests/test_translations.py fails on any string left untranslated, fuzzy or
# with other placeholders, and on a .mo that is not the compiled .po.
MESSAGES_IGNORE := --ignore=.venv --ignore=var --ignore=tests --ignore=bench --ignore=static/vendor --ignore=docs
SV_PO := locale/sv/LC_MESSAGES/django.po
messages: $(STAMP)
	mkdir -p var
	DEBUG=1 $(MANAGE) makemessages -l sv --no-obsolete --no-location --no-wrap $(MESSAGES_IGNORE)
	msgattrib --no-fuzzy --no-wrap $(SV_PO) -o var/messages-kept.po
	msgcat --use-first --no-wrap var/messages-kept.po $(wildcard locale/fragments/*.po) -o var/messages-merged.po
	msgmerge --quiet --no-fuzzy-matching --no-wrap --no-location var/messages-merged.po $(SV_PO) -o var/messages-sv.po
	msgattrib --no-obsolete --no-wrap var/messages-sv.po -o $(SV_PO)
	DEBUG=1 $(MANAGE) compilemessages -l sv --ignore=.venv

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

# The suite on whatever DATABASE_URL says (the embedded SQLite default when unset).
pytest: $(STAMP)
	mkdir -p var
	$(PYTEST) $(PYTEST_ARGS)

# The whole suite on the embedded default: SQLite and the filesystem broker. Tests that need PostgreSQL, Redis
# or Celery worker processes are skipped, each with its reason.
pytest-sqlite: $(STAMP)
	mkdir -p var
	$(call timed,pytest on SQLite,env -u DATABASE_URL -u CELERY_BROKER_URL $(PYTEST) $(PYTEST_ARGS))

# The whole suite on PostgreSQL with the real services (skipped, with a message, when no PostgreSQL answers,
# unless REQUIRE_SERVICES=1).
pytest-postgres: $(STAMP)
	mkdir -p var
	@if ! $(BIN)/python -c "import psycopg,sys; psycopg.connect(sys.argv[1].rsplit('/',1)[0]+'/postgres', connect_timeout=3).close()" \
		"$(POSTGRES_TEST_URL)" 2>/dev/null; then \
		if [ "$$REQUIRE_SERVICES" = 1 ]; then echo "No PostgreSQL at $(POSTGRES_TEST_URL)"; exit 1; fi; \
		echo "== pytest on PostgreSQL: skipped, no PostgreSQL at $(POSTGRES_TEST_URL) (POSTGRES_TEST_URL)"; exit 0; fi
	$(call timed,pytest on PostgreSQL,DATABASE_URL=$(POSTGRES_TEST_URL) $(PYTEST) -m "not faults" $(PYTEST_ARGS))
	@# The fault tests time real worker, beat and Redis processes: alone, not beside another test process.
	$(call timed,fault tests on PostgreSQL,DATABASE_URL=$(POSTGRES_TEST_URL) $(BIN)/pytest -p no:xdist \
		--basetemp=var/pytest-tmp-faults -m faults $(PYTEST_ARGS))

test: $(STAMP)
	$(call timed,static checks,$(MAKE) --no-print-directory lint migrations-check deploy-check schema-check)
	$(MAKE) --no-print-directory pytest-sqlite
	$(MAKE) --no-print-directory pytest-postgres
	$(MAKE) --no-print-directory release-smoke

# The README's Production section run for real (DEBUG off, PostgreSQL, Redis, collectstatic, check --deploy,
# gunicorn, a Celery worker and beat) and checked from outside, then a backup restored and compared
# (.ci/release-smoke). Skipped with a message when no PostgreSQL or Redis answers, unless REQUIRE_SERVICES=1.
release-smoke: $(STAMP)
	@if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then \
		if [ "$$REQUIRE_SERVICES" = 1 ]; then echo "release smoke: PostgreSQL and Redis are needed"; exit 1; fi; \
		echo "== release smoke: skipped, PostgreSQL or Redis does not answer on 127.0.0.1"; exit 0; fi
	$(call timed,release smoke,env -u DATABASE_URL -u CELERY_BROKER_URL -u DEBUG BIN=$(BIN) bash .ci/release-smoke)

# The inner loop: lint, the clinical rules and the fast database tests, on SQLite, in parallel.
check: $(STAMP)
	mkdir -p var
	$(call timed,make check,$(BIN)/ruff check . && $(BIN)/ruff format --check . && \
		env -u DATABASE_URL -u CELERY_BROKER_URL $(PYTEST) -q -m "$(FAST)" $(PYTEST_ARGS))

# Reminder delivery through a real worker vs the bare Celery task rate (PostgreSQL and Redis needed;
# see bench/reminders.py). BENCH_ARGS="--count 10000" for a quick run.
bench: $(STAMP)
	$(BIN)/python bench/reminders.py $(BENCH_ARGS)

# How long seed_demo takes for a big demo (SQLite unless DATABASE_URL says otherwise). BENCH_ARGS="--patients 500";
# the data set at scale: BENCH_ARGS="--patients 50000 --transplanted".
bench-seed: $(STAMP)
	$(BIN)/python bench/seed_demo.py $(BENCH_ARGS)

# One hourly reminder-planning pass through 2 real Celery worker processes, everybody needing planning at once
# (PostgreSQL and Redis needed; see bench/planning.py). BENCH_ARGS="--patients 5000" for a quick run.
bench-planning: $(STAMP)
	$(BIN)/python bench/planning.py $(BENCH_ARGS)

# The main pages as production serves them (DEBUG off, gunicorn, a Celery worker and beat, PostgreSQL, Redis
# database 8) on the data set at scale: each page's requests/s against /healthz's, and a patient's check-in
# latency while the cohort dashboard is loaded (see bench/web.py). BENCH_ARGS="--patients 5000,50000",
# "--gunicorn-args '--workers 2 --threads 4 --worker-class gthread'", "--markdown FILE", "--write-readme".
bench-web: $(STAMP)
	$(BIN)/python bench/web.py $(BENCH_ARGS)

# The README's screenshots. The browser tests save theirs only under var/screenshots/; this runs them afresh,
# then copies into docs/screenshots/ exactly the images that README.md's Screenshots section shows
# (tests/e2e/docs_screenshots.py).
screenshots: $(STAMP)
	rm -rf var/screenshots
	mkdir -p var
	REQUIRE_SERVICES=1 $(BIN)/pytest -m e2e -p no:randomly tests/e2e
	$(BIN)/python -m tests.e2e.docs_screenshots

clean:
	rm -rf var/broker var/broker-control var/celerybeat-schedule* var/screenshots var/pytest-tmp var/pytest-cache \
		var/hypothesis
