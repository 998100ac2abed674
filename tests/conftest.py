"""The named cast, and access to the real services (PostgreSQL, Redis) that integration tests need.

Centre A has a coordinator, a clinician and two patients with logins; centre B has the same roles.
Tests use these names so that a reader knows who is who.

The suite runs on both supported databases. On the embedded default (SQLite, no DATABASE_URL) the tests
marked `services` (real PostgreSQL, Redis or Celery worker processes) are skipped with their reason; CI runs
them in its PostgreSQL stage, where REQUIRE_SERVICES=1 turns any "service not available" into a failure.
"""

import contextlib
import io
import os

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.utils import timezone, translation
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis.database import DirectoryBasedExampleDatabase
from rest_framework.test import APIClient

from accounts.models import Role
from tests.factories import CentreFactory, UserFactory, api_token_for, patient_with_login

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"

# Quick hashing for users made in tests; PBKDF2 still checks the demo passwords a seed made earlier.
FAST_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher", "django.contrib.auth.hashers.PBKDF2PasswordHasher"]

# Property tests: a few examples on a developer's machine, more in CI (HYPOTHESIS_PROFILE=ci in .ci/run).
_HYPOTHESIS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    "database": DirectoryBasedExampleDatabase(django_settings.VAR_DIR / "hypothesis"),  # tests write only in var/
}
hypothesis_settings.register_profile("dev", max_examples=25, **_HYPOTHESIS)
hypothesis_settings.register_profile("ci", max_examples=150, **_HYPOTHESIS)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def on_embedded_database() -> bool:
    return django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3"


# A test database is thrown away: no waiting for the disk at every commit (on a busy disk that made the SQLite
# suite several times slower than its CPU time). Set before the first connection is made.
if on_embedded_database():
    django_settings.DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = "PRAGMA synchronous=OFF;"
elif django_settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    django_settings.DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c synchronous_commit=off"

# WhiteNoise indexes every static file (the admin's, Swagger's, ours) each time its middleware is built, which is
# once per test client; looking files up when asked instead halves the cost of a small API test.
django_settings.WHITENOISE_AUTOREFRESH = True


def pytest_collection_modifyitems(config, items):
    """On SQLite, skip the tests that need the production services, each with the reason its marker gives."""
    if not on_embedded_database():
        return
    for item in items:
        marker = item.get_closest_marker("services")
        if marker is not None:
            needs = marker.kwargs.get("needs", "PostgreSQL, Redis or Celery worker processes")
            item.add_marker(pytest.mark.skip(reason=f"needs {needs}: runs against PostgreSQL (this run is on SQLite)"))


def service_unavailable(reason: str) -> None:
    """Skip a test whose real service is missing; in CI (REQUIRE_SERVICES=1) that is a failure instead."""
    if REQUIRE_SERVICES:
        pytest.fail(f"Required service not available: {reason}")
    pytest.skip(f"service not available: {reason}")


_DATABASE_FIXTURES = {"db", "transactional_db", "live_server"}


@pytest.fixture(autouse=True)
def _default_protocols(request):
    """The protocols a migration ships, present in every test that uses the database.

    Transactional tests (the browser tests) empty every table when they end, migration data included, so a
    later test would otherwise find no protocols depending on the order the tests ran in.
    """
    used = _DATABASE_FIXTURES & set(request.fixturenames)
    if not used:
        yield
        return
    transactional = bool(used - {"db"})
    request.getfixturevalue("transactional_db" if transactional else "db")
    from recovery.models import ProtocolEvent, ProtocolTemplate
    from recovery.services.protocols import load_default_protocols

    load_default_protocols(ProtocolTemplate, ProtocolEvent)
    with _sqlite_audit_triggers(transactional):
        yield


@contextlib.contextmanager
def _sqlite_audit_triggers(transactional: bool):
    """The audit table's append-only triggers (migration 0011) on SQLite, lifted only for the flush that empties
    every table after a transactional test (DELETE FROM on SQLite; PostgreSQL's TRUNCATE fires no row trigger).
    The next test puts them back (inside its own transaction when it has one)."""
    if not on_embedded_database():
        yield
        return
    from recovery.models.audit import SQLITE_APPEND_ONLY, SQLITE_APPEND_ONLY_DROP

    with connection.cursor() as cursor:
        for sql in SQLITE_APPEND_ONLY:
            cursor.execute(sql)
    yield
    if transactional:
        with connection.cursor() as cursor:
            for sql in SQLITE_APPEND_ONLY_DROP:
                cursor.execute(sql)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = FAST_HASHERS[:1]


@pytest.fixture(autouse=True)
def _own_cache(settings, request):
    """Each test its own empty cache (password-reset counts), never a shared server's."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": request.node.nodeid}
    }


@pytest.fixture
def celery_eager():
    """Celery tasks run in the test's own process when sent (`.delay`), as a worker would run them."""
    from recovery.celery import app

    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = False


@pytest.fixture
def centre(db):
    return CentreFactory(name="Uppsala Transplant Centre")


@pytest.fixture
def other_centre(db):
    return CentreFactory(name="Other Centre")


@pytest.fixture
def coordinator(centre):
    return UserFactory(username="cora", role=Role.COORDINATOR, centres=[centre])


@pytest.fixture
def clinician(centre):
    return UserFactory(username="karl", role=Role.CLINICIAN, centres=[centre])


@pytest.fixture
def patient(centre):
    """A patient of centre A with their own login (patient.user)."""
    return patient_with_login(centre=centre, first_name="Pia", last_name="Holmgren")


@pytest.fixture
def other_patient(centre):
    """Another patient of centre A, with a login: must never see `patient`."""
    return patient_with_login(centre=centre, first_name="Olle", last_name="Berg")


@pytest.fixture
def other_centre_coordinator(other_centre):
    return UserFactory(username="other-coordinator", role=Role.COORDINATOR, centres=[other_centre])


@pytest.fixture
def other_centre_clinician(other_centre):
    return UserFactory(username="other-clinician", role=Role.CLINICIAN, centres=[other_centre])


@pytest.fixture
def other_centre_patient(other_centre):
    return patient_with_login(centre=other_centre, first_name="Bo", last_name="Ek")


@pytest.fixture
def client_for(client):
    """A test client signed in as the given user (None: anonymous)."""

    def sign_in(user):
        client.logout()
        if user is not None:
            client.force_login(user)
        return client

    return sign_in


@pytest.fixture
def api_for(db):
    """An API client that authenticates with a new token of the given user (None: no credentials).

    The token counts as just used, so that the once-a-minute "last used" write does not add a query to the
    first request of a test that counts them."""

    def make(user):
        api = APIClient()
        if user is not None:
            _, key = api_token_for(user, last_used_at=timezone.now())
            api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        return api

    return make


@pytest.fixture
def redis_url():
    """A real Redis (REDIS_URL, default a spare database on the local server), emptied for the test."""
    import redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw") and url.rstrip("/").rsplit("/", 1)[-1].isdigit():
        # Parallel test processes each get a database of their own (15, 14, ...), since each test empties it.
        base, number = url.rstrip("/").rsplit("/", 1)
        url = f"{base}/{int(number) - int(worker[2:])}"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        service_unavailable(f"Redis at {url} ({exc})")
    client.flushdb()
    yield url
    client.flushdb()


@pytest.fixture
def require_postgres(db):
    if connection.vendor != "postgresql":
        service_unavailable(f"PostgreSQL (DATABASE_URL points at {connection.vendor})")


@contextlib.contextmanager
def kept_for_the_module(django_db_blocker):
    """Data made once for a whole test module, inside a transaction rolled back when the module ends.

    Each test of the module runs in a savepoint within it (pytest-django's `db`), so a test sees the data plus
    only its own changes. Use it only in modules whose every test uses it (the transaction stays open until
    the module ends), and never with `transactional_db` or `live_server`.
    """
    from django.db import transaction

    from recovery.models import ProtocolEvent, ProtocolTemplate
    from recovery.services.protocols import load_default_protocols

    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
    try:
        with django_db_blocker.unblock():
            # A transactional test that ran earlier in this process emptied every table, migration data included.
            load_default_protocols(ProtocolTemplate, ProtocolEvent)
            yield
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def seed(command: str, **options) -> None:
    """Run a seed command as `make run` does (DEBUG on), quietly, with quick password hashing."""
    from django.core.management import call_command
    from django.test.utils import override_settings

    with override_settings(DEBUG=True, PASSWORD_HASHERS=FAST_HASHERS):
        call_command(command, stdout=io.StringIO(), **options)


DEMO_USERNAMES = ("coordinator", "clinician", "patient")


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The demo data that `make run` shows (`seed_demo`: the demo centre, the three demo logins, 40 patients in
    every phase and the 174-patient cohort), made once per test module (see `kept_for_the_module`).

    A dict of the demo users by username, and "_patient": the demo patient.
    """
    from accounts.models import User
    from recovery.models import Patient

    with kept_for_the_module(django_db_blocker):
        seed("seed_demo")
        users = {user.username: user for user in User.objects.filter(username__in=DEMO_USERNAMES)}
        patient = Patient.objects.get(user=users["patient"])
        yield {**users, "_patient": patient}


@pytest.fixture(autouse=True)
def _default_language_after_each_test():
    """A page read as a Swedish user activates Swedish for the thread (the locale middlewares do not switch back
    after the response): back to the default language after each test, so no later test reads Swedish."""
    yield
    translation.deactivate()
