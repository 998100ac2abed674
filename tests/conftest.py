"""The named cast, and access to the real services (PostgreSQL, Redis) that integration tests need.

Centre A has a coordinator, a clinician and two patients with logins; centre B has the same roles.
Tests use these names so that a reader knows who is who.
"""

import os

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from accounts.models import Role
from tests.factories import CentreFactory, UserFactory, patient_with_login

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES", "") == "1"


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
        return
    request.getfixturevalue("transactional_db" if used - {"db"} else "db")
    from recovery.models import ProtocolEvent, ProtocolTemplate
    from recovery.services.protocols import load_default_protocols

    load_default_protocols(ProtocolTemplate, ProtocolEvent)


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


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
    """An API client that authenticates with the given user's token (None: no credentials)."""

    def make(user):
        api = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            api.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return api

    return make


@pytest.fixture
def redis_url():
    """A real Redis (REDIS_URL, default a spare database on the local server), emptied for the test."""
    import redis

    url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
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
