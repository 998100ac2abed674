"""API tokens: hashed, named, expiring, revocable by their owner, revoked by a new password (issue 14 item 3)."""

import hashlib
import re
from datetime import datetime, timedelta

import pytest
import time_machine
from django.contrib.auth.hashers import make_password
from django.contrib.auth.tokens import default_token_generator
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts.mfa import stored_recovery_code
from accounts.models import ApiToken
from recovery.models import AuditEvent
from tests.conftest import FAST_HASHERS
from tests.factories import UserFactory, api_token_for

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase for the ward"
TOKEN_URL = "/api/v1/auth/token/"


def _ask(username, password=PASSWORD, **extra):
    return APIClient().post(TOKEN_URL, {"username": username, "password": password, **extra}, format="json")


def _api(key):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


def _totp_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def _current_code(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):0{device.digits}d}"


def _verified(client, device) -> None:
    """Mark the signed-in session as having passed `device`, as django_otp.login() does at sign-in."""
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()


# The endpoint


def test_the_endpoint_answers_a_token_and_expires_at_and_stores_only_a_hash(coordinator):
    """200 with `token` and `expires_at` (30 days by default); the row holds the key's SHA-256, never the key."""
    before = timezone.now()
    response = _ask("cora")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    key = body["token"]
    assert key.startswith("rt_")
    assert len(key) > 40
    expires_at = datetime.fromisoformat(body["expires_at"])
    assert before + timedelta(days=30) <= expires_at <= timezone.now() + timedelta(days=30)

    token = ApiToken.objects.get(owner=coordinator)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.prefix == key[:8]
    stored = [str(value) for value in ApiToken.objects.filter(pk=token.pk).values().get().values()]
    assert not any(key in value or key[8:] in value for value in stored)
    assert _api(key).get("/api/v1/me/").json()["username"] == "cora"

    created = AuditEvent.objects.get(action="account.token.created")
    assert created.actor == coordinator
    assert created.patient is None
    assert created.detail["prefix"] == token.prefix
    assert key not in str(created.detail)


def test_api_token_days_sets_the_lifetime_of_an_endpoint_token(coordinator, settings):
    settings.API_TOKEN_DAYS = 7
    expires_at = datetime.fromisoformat(_ask("cora").json()["expires_at"])
    assert timedelta(days=6, hours=23) < expires_at - timezone.now() <= timedelta(days=7)


def test_each_call_makes_a_new_token(coordinator):
    """Not the same key again (the old endpoint handed out one everlasting key per user)."""
    assert _ask("cora").json()["token"] != _ask("cora").json()["token"]
    assert ApiToken.objects.filter(owner=coordinator).count() == 2


def test_an_expired_token_is_401_with_a_clear_message(coordinator):
    token, key = api_token_for(coordinator)
    with time_machine.travel(token.expires_at + timedelta(seconds=1)):
        response = _api(key).get("/api/v1/me/")
    assert response.status_code == 401
    assert "expired" in response.json()["detail"]
    assert response["WWW-Authenticate"] == "Token"


def test_a_revoked_token_is_401_with_a_clear_message(coordinator):
    token, key = api_token_for(coordinator)
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
    response = _api(key).get("/api/v1/me/")
    assert response.status_code == 401
    assert "revoked" in response.json()["detail"]


@pytest.mark.parametrize(
    "key",
    ["0123456789abcdef0123456789abcdef01234567", "rt_nothere-at-all", "rt_", "rt_ünicode"],
    ids=["old-clear-token", "unknown", "prefix-only", "not-ascii"],
)
def test_an_unknown_or_old_style_token_is_401(coordinator, key):
    api_token_for(coordinator)  # a real token exists: the lookup has rows to miss
    response = _api(key).get("/api/v1/me/")
    assert response.status_code == 401
    assert "not valid" in response.json()["detail"]


def test_a_key_with_the_right_prefix_but_wrong_secret_is_401(coordinator):
    """The prefix only finds the row; the whole key's hash must match."""
    _, key = api_token_for(coordinator)
    response = _api(key[:8] + "x" * (len(key) - 8)).get("/api/v1/me/")
    assert response.status_code == 401


def test_a_disabled_account_token_is_401(coordinator):
    _, key = api_token_for(coordinator)
    coordinator.is_active = False
    coordinator.save(update_fields=["is_active"])
    assert _api(key).get("/api/v1/me/").status_code == 401


def test_last_used_at_is_written_at_most_once_a_minute(coordinator):
    token, key = api_token_for(coordinator)
    api = _api(key)
    with time_machine.travel("2026-11-22 10:00:00+00:00", tick=False):
        assert api.get("/api/v1/me/").status_code == 200
    token.refresh_from_db()
    first = token.last_used_at
    assert first == datetime.fromisoformat("2026-11-22 10:00:00+00:00")
    with time_machine.travel("2026-11-22 10:00:59+00:00", tick=False):
        assert api.get("/api/v1/me/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == first
    with time_machine.travel("2026-11-22 10:01:01+00:00", tick=False):
        assert api.get("/api/v1/me/").status_code == 200
    token.refresh_from_db()
    assert token.last_used_at == datetime.fromisoformat("2026-11-22 10:01:01+00:00")


def test_revoke_endpoint_ends_the_calling_token_only(coordinator):
    """How an API client signs out: 204, then that key is refused; the owner's other token still works."""
    token, key = api_token_for(coordinator)
    _, other_key = api_token_for(coordinator, name="other")
    api = _api(key)
    assert api.post("/api/v1/auth/token/revoke/").status_code == 204
    assert api.get("/api/v1/me/").status_code == 401
    assert _api(other_key).get("/api/v1/me/").status_code == 200
    event = AuditEvent.objects.get(action="account.token.revoked")
    assert event.actor == coordinator
    assert event.detail["token"] == str(token.uuid)


def test_revoke_endpoint_with_a_session_says_there_is_no_token(client_for, coordinator):
    response = client_for(coordinator).post("/api/v1/auth/token/revoke/", content_type="application/json")
    assert response.status_code == 400
    assert "not made with an API token" in response.json()["non_field_errors"][0]


# The second factor at the endpoint


def test_otp_is_required_when_the_user_has_a_confirmed_device(coordinator):
    device = _totp_device(coordinator)
    missing = _ask("cora")
    assert missing.status_code == 400
    assert "otp" in missing.json()
    wrong = _ask("cora", otp="000000" if _current_code(device) != "000000" else "111111")
    assert wrong.status_code == 400
    assert "otp" in wrong.json()
    assert not ApiToken.objects.exists()

    device.refresh_from_db()
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    right = _ask("cora", otp=_current_code(device))
    assert right.status_code == 200
    assert set(right.json()) == {"token", "expires_at"}


def test_a_recovery_code_works_as_otp(patient):
    # recovery codes come with a factor (they go when the last factor is removed)
    TOTPDevice.objects.create(user=patient.user, name="Authenticator app", confirmed=True)
    device = StaticDevice.objects.create(user=patient.user, name="backup", confirmed=True)
    device.token_set.create(token=stored_recovery_code("recover1"))
    response = _ask(patient.user.username, otp="recover1")
    assert response.status_code == 200
    assert _ask(patient.user.username, otp="recover1").status_code == 400  # used once only


def test_an_unconfirmed_device_does_not_ask_for_otp(coordinator):
    TOTPDevice.objects.create(user=coordinator, name="half set up", confirmed=False)
    assert _ask("cora").status_code == 200


def test_staff_without_a_second_factor_get_no_token_when_it_is_required(coordinator, patient, settings):
    settings.MFA_REQUIRED_FOR_STAFF = True
    response = _ask("cora")
    assert response.status_code == 403
    assert "second factor" in response.json()["detail"]
    UserFactory(username="root", role="", is_staff=True, is_superuser=True)
    assert _ask("root").status_code == 403  # administrators too
    assert _ask(patient.user.username).status_code == 200  # patients are offered a second factor, not made to


def test_a_wrong_password_with_a_device_still_counts_towards_the_lockout(coordinator):
    """The password is checked first, through django-axes: the otp never rescues five wrong passwords."""
    _totp_device(coordinator)
    for _ in range(4):
        assert _ask("cora", password="wrong", otp="123456").status_code == 400
    assert _ask("cora", password="wrong", otp="123456").status_code == 429


# A new password revokes every token


def _active(user) -> int:
    return ApiToken.objects.filter(owner=user).active(timezone.now()).count()


def test_a_password_change_revokes_every_token(client_for, coordinator):
    _, key = api_token_for(coordinator)
    api_token_for(coordinator, name="second")
    response = client_for(coordinator).post(
        reverse("accounts:password-change"),
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert _active(coordinator) == 0
    assert _api(key).get("/api/v1/me/").status_code == 401
    events = AuditEvent.objects.filter(action="account.token.revoked")
    assert events.count() == 2
    assert {event.detail["reason"] for event in events} == {"password changed"}


def test_a_password_reset_revokes_every_token(client, patient):
    user = patient.user
    api_token_for(user)
    url = reverse(
        "accounts:password-reset-confirm",
        kwargs={
            "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
        },
    )
    form_url = client.get(url)["Location"]
    response = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert response.status_code == 302
    assert _active(user) == 0


def test_an_administrator_setting_a_password_revokes_every_token(client, coordinator):
    client.force_login(UserFactory(username="root", role="", is_staff=True, is_superuser=True))
    api_token_for(coordinator)
    response = client.post(
        reverse("admin:auth_user_password_change", args=[coordinator.pk]),
        {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD, "usable_password": "true"},
    )
    assert response.status_code == 302
    assert _active(coordinator) == 0


def test_a_hash_upgrade_at_sign_in_revokes_nothing(client, coordinator, settings):
    """A stronger hasher rewrites the stored hash on sign-in, but the password is the same: tokens stay."""
    settings.PASSWORD_HASHERS = FAST_HASHERS  # the first is preferred: a hash made by the second is upgraded
    coordinator.password = make_password(PASSWORD, hasher="pbkdf2_sha256")
    coordinator.save(update_fields=["password"])
    _, key = api_token_for(coordinator)
    assert client.post(reverse("accounts:login"), {"username": "cora", "password": PASSWORD}).status_code == 302
    coordinator.refresh_from_db()
    assert coordinator.password.startswith("md5$")
    assert _active(coordinator) == 1
    assert _api(key).get("/api/v1/me/").status_code == 200


def test_saving_a_user_without_a_new_password_revokes_nothing(coordinator):
    api_token_for(coordinator)
    coordinator.refresh_from_db()
    coordinator.first_name = "Cora"
    coordinator.save()
    assert _active(coordinator) == 1


# The owner's page


def _create(client, data):
    """Fill in the page's form as a browser does: it carries the page's one-time number."""
    url = reverse("accounts:api-tokens")
    nonce = re.search(r'name="nonce" value="([^"]+)"', client.get(url).content.decode()).group(1)
    return client.post(url, {**data, "nonce": nonce}), nonce


def test_the_owner_creates_a_token_sees_its_key_once_and_the_list_never_shows_it(client_for, patient):
    client = client_for(patient.user)
    url = reverse("accounts:api-tokens")
    created, _ = _create(client, {"name": "My script", "days": "10"})
    assert created.status_code == 200
    assert "no-store" in created["Cache-Control"]
    key = re.search(r'value="(rt_[^"]+)"', created.content.decode()).group(1)
    token = ApiToken.objects.get(owner=patient.user)
    assert token.name == "My script"
    assert timedelta(days=9, hours=23) < token.expires_at - timezone.now() <= timedelta(days=10)
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert AuditEvent.objects.filter(action="account.token.created", actor=patient.user).count() == 1

    listed = client.get(url).content.decode()
    assert "My script" in listed
    assert token.prefix in listed
    assert key not in listed
    assert key[8:20] not in listed
    assert "Active" in listed


def test_sending_the_form_again_makes_no_second_token(client_for, patient):
    """A refresh after creating a token sends the same form again: no second token, and the page says why."""
    client = client_for(patient.user)
    created, nonce = _create(client, {"name": "My script", "days": "10"})
    assert created.status_code == 200
    again = client.post(reverse("accounts:api-tokens"), {"name": "My script", "days": "10", "nonce": nonce})
    assert again.status_code == 200
    assert "no second token was made" in again.content.decode()
    assert 'value="rt_' not in again.content.decode()
    assert ApiToken.objects.filter(owner=patient.user).count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "Ward laptop", "days": "91"}, "1 to 90 days"),
        ({"name": "Ward laptop", "days": "0"}, "1 to 90 days"),
        ({"name": "Ward laptop", "days": "soon"}, "whole number of days"),
        ({"name": "", "days": "30"}, "Give the token a name"),
    ],
    ids=["too-long", "zero", "not-a-number", "no-name"],
)
def test_a_bad_token_form_is_refused_in_words_and_keeps_what_was_typed(client_for, patient, data, message):
    response = client_for(patient.user).post(reverse("accounts:api-tokens"), data)
    content = response.content.decode()
    assert response.status_code == 400
    assert message in content
    if data["name"]:
        assert f'value="{data["name"]}"' in content
    assert not ApiToken.objects.exists()


def test_another_user_cannot_revoke_my_token(client_for, patient, other_patient):
    token, key = api_token_for(patient.user)
    response = client_for(other_patient.user).post(reverse("accounts:api-token-revoke", args=[token.uuid]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    assert _api(key).get("/api/v1/me/").status_code == 200


def test_the_owner_revokes_one_token_and_then_all(client_for, patient):
    first, first_key = api_token_for(patient.user, name="first")
    _, second_key = api_token_for(patient.user, name="second")
    _, third_key = api_token_for(patient.user, name="third")
    client = client_for(patient.user)
    response = client.post(reverse("accounts:api-token-revoke", args=[first.uuid]))
    assert response.status_code == 302
    assert _api(first_key).get("/api/v1/me/").status_code == 401
    assert _api(second_key).get("/api/v1/me/").status_code == 200
    assert "Revoked" in client.get(reverse("accounts:api-tokens")).content.decode()

    assert client.post(reverse("accounts:api-tokens-revoke-all")).status_code == 302
    assert _api(second_key).get("/api/v1/me/").status_code == 401
    assert _api(third_key).get("/api/v1/me/").status_code == 401
    assert AuditEvent.objects.filter(action="account.token.revoked").count() == 3


def test_staff_with_a_device_create_a_token_only_in_a_session_that_passed_it(client_for, clinician):
    device = _totp_device(clinician)
    client = client_for(clinician)
    url = reverse("accounts:api-tokens")
    refused = client.post(url, {"name": "Ward script", "days": "30"})
    # the session has not passed the second factor: it is sent to the second step, and nothing is made
    assert (refused.status_code, refused["Location"]) == (302, reverse("accounts:mfa-verify"))
    assert not ApiToken.objects.exists()

    _verified(client, device)
    assert _create(client, {"name": "Ward script", "days": "30"})[0].status_code == 200
    assert ApiToken.objects.filter(owner=clinician, name="Ward script").exists()


def test_staff_without_a_device_create_no_token_when_the_second_factor_is_required(client_for, clinician, settings):
    settings.MFA_REQUIRED_FOR_STAFF = True
    page = client_for(clinician).post(reverse("accounts:api-tokens"), {"name": "Ward script", "days": "30"})
    # staff without a factor reach only the set-up pages while one is required; nothing is made
    assert (page.status_code, page["Location"]) == (302, reverse("accounts:security"))
    assert not ApiToken.objects.exists()


# The admin site


def test_the_admin_lists_tokens_without_secrets_and_revokes_them(client, coordinator):
    token, key = api_token_for(coordinator, name="reporting")
    client.force_login(UserFactory(username="root", role="", is_staff=True, is_superuser=True))
    listing = client.get(reverse("admin:accounts_apitoken_changelist")).content.decode()
    assert "reporting" in listing
    assert key not in listing
    assert token.key_hash not in client.get(reverse("admin:accounts_apitoken_change", args=[token.pk])).content.decode()

    response = client.post(
        reverse("admin:accounts_apitoken_changelist"), {"action": "revoke", "_selected_action": [token.pk]}
    )
    assert response.status_code == 302
    assert _api(key).get("/api/v1/me/").status_code == 401
    assert AuditEvent.objects.get(action="account.token.revoked").detail["reason"] == "revoked in the admin site"
