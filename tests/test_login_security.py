"""Issue 14, items 2 and 4: password rules, the lockout on the real client address with a per-account cap that
slows rather than blocks (and the device cookie that passes it), the password-reset limits and link lifetime,
and session lifetimes (idle, absolute, staff cookies that end with the browser)."""

import json
import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from axes.models import AccessFailureLog
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.lockout import DEVICE_COOKIE
from accounts.words import duration_words
from recovery.services.audit import AuditContext
from recovery.services.invitations import invite_patient
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "correct horse battery staple"
T0 = "2026-11-22 10:00:00+00:00"
LOGIN = "accounts:login"


@pytest.fixture
def nurse(centre):
    return UserFactory(username="nurse", centres=[centre])


def _login(client, username, password, address="10.0.0.1", **extra):
    return client.post(reverse(LOGIN), {"username": username, "password": password}, REMOTE_ADDR=address, **extra)


def _token(api, username, password, address="10.0.0.1"):
    return api.post(
        "/api/v1/auth/token/", {"username": username, "password": password}, format="json", REMOTE_ADDR=address
    )


# --- Passwords ---------------------------------------------------------------------------------------------------


def test_a_password_under_twelve_characters_or_a_common_one_is_refused_and_the_page_says_the_rule(
    client_for, coordinator
):
    """The change-password page states the rule in words; 11 characters and a common password are refused."""
    client = client_for(coordinator)
    page = client.get(reverse("accounts:password-change")).content.decode()
    assert "Use at least 12 characters" in page
    assert "appeared in data breaches are refused" in page

    short = client.post(
        reverse("accounts:password-change"),
        {"old_password": PASSWORD, "new_password1": "Tulip-ma1ze", "new_password2": "Tulip-ma1ze"},
    )
    assert "This password is too short. It must contain at least 12 characters." in short.content.decode()
    common = client.post(
        reverse("accounts:password-change"),
        {"old_password": PASSWORD, "new_password1": "password1234", "new_password2": "password1234"},
    )
    assert "This password is too common" in common.content.decode()
    good = client.post(
        reverse("accounts:password-change"),
        {"old_password": PASSWORD, "new_password1": "Tulip-ma1ze-x", "new_password2": "Tulip-ma1ze-x"},
    )
    assert good.status_code == 302


def test_the_minimum_length_follows_the_setting(client_for, coordinator, settings):
    settings.PASSWORD_MIN_LENGTH = 16
    settings.AUTH_PASSWORD_VALIDATORS = [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 16}}
    ]
    client = client_for(coordinator)
    assert "Use at least 16 characters" in client.get(reverse("accounts:password-change")).content.decode()
    response = client.post(
        reverse("accounts:password-change"),
        {"old_password": PASSWORD, "new_password1": "Tulip-ma1ze-x", "new_password2": "Tulip-ma1ze-x"},
    )
    assert "at least 16 characters" in response.content.decode()


def test_a_password_set_directly_as_the_demo_does_still_signs_in(client, centre):
    """The rule applies to the forms; seed_demo's short demo password (DEBUG only) is set directly and works."""
    user = UserFactory(username="demo-nurse", centres=[centre])
    user.set_password("demo")
    user.save()
    assert _login(client, "demo-nurse", "demo").status_code == 302


def _settings_from_env(**env):
    clean = {k: v for k, v in os.environ.items() if k not in {"TRUSTED_PROXY_COUNT", "PASSWORD_MIN_LENGTH"}}
    clean.update({"DEBUG": "1", **env})
    code = (
        "import json, recovery.settings as s; print(json.dumps([s.TRUSTED_PROXY_COUNT, s.AXES_CLIENT_IP_CALLABLE, "
        "s.AUTH_PASSWORD_VALIDATORS[1]['OPTIONS']['min_length'], s.PASSWORD_RESET_TIMEOUT]))"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_the_environment_sets_the_proxy_count_minimum_length_and_link_lifetime():
    """The lockout counts on the one client-address rule (recovery.middleware.client_ip: the connection's address
    without TRUSTED_PROXY_COUNT, the N-th from the right of X-Forwarded-For behind N proxies)."""
    rule = "recovery.middleware.client_ip"
    assert _settings_from_env() == [0, rule, 12, 3600]
    assert _settings_from_env(
        TRUSTED_PROXY_COUNT="1", PASSWORD_MIN_LENGTH="14", PASSWORD_RESET_TIMEOUT_SECONDS="1800"
    ) == [1, rule, 14, 1800]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PASSWORD_MIN_LENGTH": "6"}, "PASSWORD_MIN_LENGTH must be 8 or more"),
        ({"TRUSTED_PROXY_COUNT": "-1"}, "TRUSTED_PROXY_COUNT must be 0 or more"),
        ({"SESSION_IDLE_MINUTES_STAFF": "0"}, "SESSION_ABSOLUTE_HOURS must be 1 or more"),
    ],
)
def test_unsafe_values_stop_start_up_with_a_message(env, message):
    result = subprocess.run(
        [sys.executable, "-c", "import recovery.settings"],
        cwd=ROOT,
        env={**os.environ, "DEBUG": "1", **env},
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0
    assert message in result.stderr


# --- The lockout on the real client address ----------------------------------------------------------------------

BEHIND_ONE_PROXY = {"TRUSTED_PROXY_COUNT": 1}
PROXY = "10.0.0.2"


@pytest.fixture
def behind_proxy(settings):
    """The settings TRUSTED_PROXY_COUNT=1 gives (see the environment test above)."""
    for name, value in BEHIND_ONE_PROXY.items():
        setattr(settings, name, value)


def test_behind_the_proxy_two_clients_are_counted_separately(client, nurse, behind_proxy):
    """Five failures from one client behind the proxy lock that client only; another client still signs in."""
    for _ in range(5):
        _login(client, "nurse", "wrong", address=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7")
    assert _login(client, "nurse", PASSWORD, address=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429
    assert _login(client, "nurse", PASSWORD, address=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.8").status_code == 302
    assert set(AccessFailureLog.objects.values_list("ip_address", flat=True)) == {"198.51.100.7"}


def test_behind_the_proxy_a_forged_left_part_of_the_header_is_ignored(client, nurse, behind_proxy):
    """The proxy appends the real address on the right; what the client sent before it changes nothing."""
    for n in range(5):
        _login(client, "nurse", "wrong", address=PROXY, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}, 198.51.100.7")
    assert _login(client, "nurse", PASSWORD, address=PROXY, HTTP_X_FORWARDED_FOR="198.51.100.7").status_code == 429


def test_without_a_trusted_proxy_a_forged_forwarded_for_is_ignored(client, nurse):
    """Without TRUSTED_PROXY_COUNT, X-Forwarded-For is the client's own claim: the connection's address counts."""
    for n in range(5):
        _login(client, "nurse", "wrong", address="198.51.100.9", HTTP_X_FORWARDED_FOR=f"203.0.113.{n}")
    locked = _login(client, "nurse", PASSWORD, address="198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.99")
    assert locked.status_code == 429
    assert "paused for 15 minutes" in locked.content.decode()


# --- The per-account cap: slows, never blocks -----------------------------------------------------------------------


@pytest.fixture
def small_cap(settings):
    settings.LOGIN_ACCOUNT_FAILURE_LIMIT = 6
    settings.LOGIN_ACCOUNT_DELAY_SECONDS = 5
    settings.LOGIN_ACCOUNT_DELAY_MAX_SECONDS = 12


def _spray(client, count, first=1):
    """Wrong passwords for "nurse" from `count` addresses, 2 each (under the per-address limit of 5)."""
    for n in range(first, first + count):
        for _ in range(2):
            _login(client, "nurse", "wrong", address=f"203.0.113.{n}")


def test_many_failures_from_many_addresses_make_a_new_device_wait_not_a_lock(client, nurse, small_cap, time_machine):
    """Over the per-account limit, a new device waits 5 s after the latest failure, then may try (and succeeds)."""
    time_machine.move_to(T0, tick=False)
    _spray(client, 3)  # 6 failures: the limit
    waiting = _login(client, "nurse", PASSWORD, address="192.0.2.50")
    assert waiting.status_code == 429
    assert waiting["Retry-After"] == "5"
    content = waiting.content.decode()
    assert "Try again in 5 seconds" in content
    assert 'value="nurse"' in content  # what was typed is kept
    assert AccessFailureLog.objects.count() == 6  # the refused attempt checked nothing and counted nothing

    time_machine.move_to("2026-11-22 10:00:06+00:00", tick=False)
    assert _login(client, "nurse", PASSWORD, address="192.0.2.50").status_code == 302


def test_the_wait_doubles_with_each_failure_over_the_limit_up_to_the_cap(client, nurse, small_cap, time_machine):
    time_machine.move_to(T0, tick=False)
    _spray(client, 3)
    time_machine.shift(6)
    assert _login(client, "nurse", "wrong", address="192.0.2.60").status_code == 200  # 7th failure
    assert _login(client, "nurse", PASSWORD, address="192.0.2.61")["Retry-After"] == "10"
    time_machine.shift(11)
    assert _login(client, "nurse", "wrong", address="192.0.2.60").status_code == 200  # 8th: 20 s, capped at 12
    assert _login(client, "nurse", PASSWORD, address="192.0.2.61")["Retry-After"] == "12"


def test_the_failures_age_out_of_the_window(client, nurse, small_cap, settings, time_machine):
    time_machine.move_to(T0, tick=False)
    _spray(client, 3)
    assert _login(client, "nurse", PASSWORD, address="192.0.2.50").status_code == 429
    time_machine.shift(timedelta(minutes=settings.LOGIN_ACCOUNT_WINDOW_MINUTES, seconds=1))
    _login(client, "nurse", "wrong", address="203.0.113.1")  # one fresh failure: far under the limit
    assert _login(client, "nurse", PASSWORD, address="192.0.2.50").status_code == 302


def test_a_browser_that_signed_in_before_is_exempt_but_keeps_its_own_lock(client, nurse, small_cap, time_machine):
    """The device cookie passes the per-account wait; five failures from that browser still lock it."""
    time_machine.move_to(T0, tick=False)
    assert _login(client, "nurse", PASSWORD, address="192.0.2.10").status_code == 302
    cookie = client.cookies[DEVICE_COOKIE]
    assert cookie["httponly"]
    client.post(reverse("accounts:logout"))

    attacker = type(client)()
    _spray(attacker, 3)
    assert _login(attacker, "nurse", PASSWORD, address="192.0.2.99").status_code == 429
    assert _login(client, "nurse", PASSWORD, address="192.0.2.10").status_code == 302  # the known browser
    client.post(reverse("accounts:logout"))

    for _ in range(5):
        _login(client, "nurse", "wrong", address="192.0.2.10")
    assert _login(client, "nurse", PASSWORD, address="192.0.2.10").status_code == 429


def test_a_device_cookie_for_another_account_or_forged_does_not_pass(client, nurse, centre, small_cap, time_machine):
    time_machine.move_to(T0, tick=False)
    UserFactory(username="colleague", centres=[centre])
    assert _login(client, "colleague", PASSWORD, address="192.0.2.10").status_code == 302
    client.post(reverse("accounts:logout"))
    _spray(type(client)(), 3)
    assert _login(client, "nurse", PASSWORD, address="192.0.2.10").status_code == 429  # the cookie names colleague

    client.cookies[DEVICE_COOKIE] = '["nurse"]'  # not signed by the server
    assert _login(client, "nurse", PASSWORD, address="192.0.2.10").status_code == 429


def test_the_admin_sign_in_cannot_be_used_to_try_passwords_faster(client, nurse, small_cap, time_machine):
    """The admin site checks no password of its own: it sends people to the app's sign-in, which waits."""
    time_machine.move_to(T0, tick=False)
    nurse.is_staff = True
    nurse.save()
    _spray(client, 3)
    admin_login = reverse("admin:login")
    data = {"username": "nurse", "password": PASSWORD, "next": "/admin/"}
    refused = client.post(admin_login, data, REMOTE_ADDR="192.0.2.50")
    assert refused.status_code == 302
    assert refused["Location"].startswith(reverse(LOGIN))
    assert "_auth_user_id" not in client.session
    assert _login(client, "nurse", PASSWORD, address="192.0.2.50").status_code == 429
    time_machine.shift(60)
    assert _login(client, "nurse", PASSWORD, address="192.0.2.50").status_code == 302


def test_the_api_token_endpoint_waits_the_same_way_in_json(client, api_for, nurse, small_cap, time_machine):
    time_machine.move_to(T0, tick=False)
    api = api_for(None)
    for n in range(3):
        for _ in range(2):
            assert _token(api, "nurse", "wrong", address=f"203.0.113.{n}").status_code == 400
    response = _token(api, "nurse", PASSWORD, address="192.0.2.77")
    assert response.status_code == 429
    assert response["Retry-After"] == "5"
    assert "Try again in 5 seconds" in response.json()["detail"]
    # the API's failures count for the web sign-in too
    assert _login(client, "nurse", PASSWORD, address="192.0.2.78").status_code == 429
    time_machine.shift(6)
    assert "token" in _token(api, "nurse", PASSWORD, address="192.0.2.77").json()


# --- Password reset ---------------------------------------------------------------------------------------------------


def _reset(client, email, address="10.0.0.1"):
    return client.post(reverse("accounts:password-reset"), {"email": email}, REMOTE_ADDR=address)


def test_reset_does_the_same_work_for_a_known_and_an_unknown_address(
    client, nurse, celery_eager, django_capture_on_commit_callbacks
):
    """Both enqueue the one task and get the same answer; only the known address gets an e-mail."""
    with django_capture_on_commit_callbacks() as known:
        known_answer = _reset(client, nurse.email)
    with django_capture_on_commit_callbacks() as unknown:
        unknown_answer = _reset(client, "nobody@example.org")
    assert (known_answer.status_code, known_answer["Location"]) == (
        unknown_answer.status_code,
        unknown_answer["Location"],
    )
    assert len(known) == len(unknown) == 1
    assert mail.outbox == []  # nothing is sent on the request itself
    for callback in [*known, *unknown]:
        callback()  # what the worker does
    assert [message.to for message in mail.outbox] == [[nurse.email]]
    assert "The link works once, for 1 hour." in mail.outbox[0].body


def test_reset_is_limited_per_address_with_a_clear_message(client, db, settings):
    settings.PASSWORD_RESET_LIMIT_PER_ADDRESS = 3
    for n in range(3):
        assert _reset(client, f"person{n}@example.org").status_code == 302
    refused = _reset(client, "person9@example.org")
    assert refused.status_code == 429
    content = refused.content.decode()
    assert "the most password-reset e-mails we send in 1 hour" in content
    assert 'value="person9@example.org"' in content
    assert int(refused["Retry-After"]) <= 3600
    assert _reset(client, "person9@example.org", address="10.0.0.2").status_code == 302  # another address


def test_reset_is_limited_per_email_address_across_addresses(client, db, settings, time_machine):
    time_machine.move_to(T0, tick=False)
    settings.PASSWORD_RESET_LIMIT_PER_EMAIL = 2
    assert _reset(client, "pia@example.org", address="10.0.0.1").status_code == 302
    assert _reset(client, "PIA@example.org", address="10.0.0.2").status_code == 302
    assert _reset(client, "pia@example.org", address="10.0.0.3").status_code == 429
    time_machine.shift(timedelta(minutes=61))
    assert _reset(client, "pia@example.org", address="10.0.0.3").status_code == 302


def test_a_reset_link_works_for_one_hour(client, nurse, time_machine):
    time_machine.move_to(T0, tick=False)
    uid = urlsafe_base64_encode(force_bytes(nurse.pk))
    url = reverse(
        "accounts:password-reset-confirm", kwargs={"uidb64": uid, "token": default_token_generator.make_token(nurse)}
    )
    time_machine.shift(timedelta(minutes=59))
    page = client.get(url, follow=True).content.decode()
    assert "Use at least 12 characters" in page  # the form, with the rule in words
    time_machine.shift(timedelta(minutes=2))
    assert "has already been used or has expired" in client.get(url, follow=True).content.decode()


def test_the_reset_sent_page_and_the_invitation_state_the_configured_lifetime(client, coordinator, patient, settings):
    settings.PASSWORD_RESET_TIMEOUT = 2 * 3600
    assert "The link works once, for 2 hours." in client.get(reverse("accounts:password-reset-done")).content.decode()
    patient.user = None
    patient.email = "pia@example.org"
    patient.save()
    invite_patient(context=AuditContext(actor=coordinator), patient=patient, base_url="https://tracker.example")
    from django.db import transaction

    for callback in transaction.get_connection().run_on_commit:
        callback[1]()
    message = mail.outbox[-1]
    assert "the link works once, for 2 hours" in message.body
    assert "for 2 hours" in message.alternatives[0][0]
    assert "3 days" not in message.body


def test_durations_in_words():
    assert [duration_words(s) for s in (1, 45, 60, 90, 120, 1800, 3600, 7200, 86400, 3 * 86400)] == [
        "1 second",
        "45 seconds",
        "1 minute",
        "2 minutes",
        "2 minutes",
        "30 minutes",
        "1 hour",
        "2 hours",
        "1 day",
        "3 days",
    ]


# --- Sessions ---------------------------------------------------------------------------------------------------------


def _signed_in(client, user, password=PASSWORD):
    response = _login(client, user.username, password)
    assert response.status_code == 302
    return client


def test_staff_are_signed_out_after_30_idle_minutes_with_a_message(client, coordinator, time_machine):
    time_machine.move_to(T0, tick=False)
    _signed_in(client, coordinator)
    page = reverse("recovery:patient-list")
    for _ in range(3):  # activity keeps the session going, well past 30 minutes in all
        time_machine.shift(timedelta(minutes=29))
        assert client.get(page).status_code == 200
    time_machine.shift(timedelta(minutes=30, seconds=1))
    response = client.get(page)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse(LOGIN)}?next={page}"
    login_page = client.get(response["Location"]).content.decode()
    assert "You were signed out after 30 minutes without activity, to protect patient data." in login_page
    assert client.get(page).status_code == 302  # the session is gone, not merely refused once


def test_patients_have_12_idle_hours_and_everyone_an_absolute_12_hours(client, patient, settings, time_machine):
    settings.SESSION_IDLE_MINUTES_PATIENT = 300
    time_machine.move_to(T0, tick=False)
    _signed_in(client, patient.user)
    home = reverse("recovery:my-recovery")
    for _ in range(2):
        time_machine.shift(timedelta(hours=4, minutes=59))
        assert client.get(home).status_code == 200
    time_machine.shift(timedelta(hours=2, minutes=3))  # 12 hours and a minute after signing in; active 2 h ago
    response = client.get(home)
    assert response.status_code == 302
    message = "You were signed out because you signed in 12 hours ago"
    assert message in client.get(response["Location"]).content.decode()


def test_staff_session_cookies_end_with_the_browser_and_patients_do_not(client, coordinator, patient):
    _signed_in(client, coordinator)
    staff_cookie = client.cookies["sessionid"]
    assert staff_cookie["max-age"] == ""
    assert staff_cookie["expires"] == ""
    client.post(reverse("accounts:logout"))
    _signed_in(client, patient.user)
    assert int(client.cookies["sessionid"]["max-age"]) == 12 * 3600


def test_background_refreshes_do_not_keep_the_session_alive(client, coordinator, time_machine):
    """The triage queue polls with the background header; polling alone ends in sign-out after 30 minutes."""
    time_machine.move_to(T0, tick=False)
    _signed_in(client, coordinator)
    dashboard = client.get(reverse("recovery:dashboard")).content.decode()
    assert """hx-headers='{"X-Background-Refresh": "1"}'""" in dashboard
    queue = reverse("recovery:alert-queue")
    for minutes in (10, 10, 9):  # 29 minutes of polling
        time_machine.shift(timedelta(minutes=minutes))
        assert client.get(queue, HTTP_X_BACKGROUND_REFRESH="1", HTTP_HX_REQUEST="true").status_code == 200
    time_machine.shift(timedelta(minutes=1))
    ended = client.get(
        queue,
        HTTP_X_BACKGROUND_REFRESH="1",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/dashboard/?x=1",
    )
    assert ended.status_code == 401  # htmx goes to the sign-in page as a whole page
    assert ended["HX-Redirect"] == f"{reverse(LOGIN)}?next=/dashboard/"


def test_an_api_request_on_an_ended_session_gets_401_json(client, coordinator, time_machine):
    time_machine.move_to(T0, tick=False)
    _signed_in(client, coordinator)
    assert client.get("/api/v1/me/").status_code == 200
    time_machine.shift(timedelta(minutes=31))
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert "signed out after 30 minutes without activity" in response.json()["detail"]


def test_keep_alive_post_extends_and_get_only_tells(client, coordinator, time_machine):
    time_machine.move_to(T0, tick=False)
    _signed_in(client, coordinator)
    url = reverse("accounts:session-keep-alive")
    time_machine.shift(timedelta(minutes=20))
    assert client.get(url).json()["remaining"] == 10 * 60  # asking extends nothing
    assert client.post(url).json()["remaining"] == 30 * 60
    time_machine.shift(timedelta(minutes=29))
    assert client.get(url).json()["remaining"] == 60
    time_machine.shift(timedelta(minutes=2))
    ended = client.get(url)
    assert ended.status_code == 401
    assert "30 minutes without activity" in ended.json()["detail"]
    assert client.post(url).status_code == 401  # signed out now


def test_pages_carry_the_time_left_and_the_warning_only_when_signed_in(client, coordinator, time_machine):
    time_machine.move_to(T0, tick=False)
    anonymous = client.get(reverse(LOGIN)).content.decode()
    assert "data-session-remaining" not in anonymous
    assert "session-timeout.js" not in anonymous
    _signed_in(client, coordinator)
    page = client.get(reverse("recovery:patient-list")).content.decode()
    assert 'data-session-remaining="1800"' in page
    assert 'data-session-warning="120"' in page
    assert "You will be signed out in 2 minutes to protect patient data." in page
    assert re.search(r'<script src="[^"]*js/session-timeout\.js" defer></script>', page)
