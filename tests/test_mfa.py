"""The second factor: an authenticator app (TOTP) with recovery codes, passkeys, and who must have one.

Codes are computed from the device's own key (django_otp.oath.totp), as the person's phone would.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.core import mail
from django.test import RequestFactory
from django.urls import reverse
from django_otp.oath import totp
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.admin_site import SecondFactorAdminSite
from accounts.mfa import stored_recovery_code
from accounts.models import Role
from recovery.models import AuditEvent
from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    """A clock that stands still unless a test moves it (TOTP codes change every 30 seconds)."""
    time_machine.move_to(START, tick=False)

    def move(seconds):
        time_machine.shift(timedelta(seconds=seconds))

    return move


def code_for(device: TOTPDevice) -> str:
    return f"{totp(device.bin_key, device.step, device.t0, device.digits, device.drift):06d}"


def wrong_code_for(device: TOTPDevice) -> str:
    return f"{(int(code_for(device)) + 500_000) % 1_000_000:06d}"


def with_app(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)


def with_recovery_codes(user, codes=("abcd2345", "efgh6723")) -> StaticDevice:
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    for code in codes:
        StaticToken.objects.create(device=device, token=stored_recovery_code(code))
    return device


def sign_in(client, user, password=PASSWORD):
    return client.post(reverse("accounts:login"), {"username": user.username, "password": password})


def actions() -> list[str]:
    return list(
        AuditEvent.objects.filter(action__startswith="account.mfa.").order_by("pk").values_list("action", flat=True)
    )


# --- setting up an authenticator app --------------------------------------------------------------------------------


def test_app_set_up_shows_a_qr_code_and_the_secret_and_counts_only_once_a_code_is_right(
    client_for, coordinator, clock, django_capture_on_commit_callbacks
):
    client = client_for(coordinator)
    page = client.get(reverse("accounts:mfa-totp-setup"))
    content = page.content.decode()
    device = TOTPDevice.objects.get(user=coordinator)
    assert not device.confirmed
    assert "<svg" in content  # the QR code, inline
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7 ]+)<', content).group(1)
    assert len(secret.replace(" ", "")) == 32  # 20 random bytes in base32, to type in by hand

    refused = client.post(reverse("accounts:mfa-totp-setup"), {"code": wrong_code_for(device)})
    assert "That code is not right" in refused.content.decode()
    device.refresh_from_db()
    assert not device.confirmed
    assert actions() == []

    clock(2)  # past the wait after the wrong code
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(reverse("accounts:mfa-totp-setup"), {"code": code_for(device)})
    assert done.status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    codes = re.findall(r'<li class="col">([a-z2-7]{8})</li>', done.content.decode())
    assert len(codes) == 10
    # kept as keyed hashes only: the database holds no working code
    stored = sorted(StaticToken.objects.filter(device__user=coordinator).values_list("token", flat=True))
    assert stored == sorted(stored_recovery_code(code) for code in codes)
    assert not set(stored) & set(codes)
    assert actions() == ["account.mfa.totp_added", "account.mfa.recovery_codes_added"]
    assert AuditEvent.objects.filter(action="account.mfa.totp_added", patient=None, actor=coordinator).exists()
    assert [message.to for message in mail.outbox] == [[coordinator.email], [coordinator.email]]
    assert "was added to your account" in mail.outbox[0].body
    # The session that set it up has passed it.
    assert client.get(reverse("recovery:patient-list")).status_code == 200


# --- signing in -----------------------------------------------------------------------------------------------------


def test_sign_in_asks_for_the_code_after_the_password_and_lets_in_with_the_right_one(client, coordinator, clock):
    device = with_app(coordinator)
    assert sign_in(client, coordinator).status_code == 302

    to_code = client.get(reverse("recovery:patient-list"))
    assert to_code.status_code == 302
    assert to_code["Location"].startswith(reverse("accounts:mfa-verify"))
    assert client.get(reverse("recovery:patient-detail", args=["00000000-0000-0000-0000-000000000000"])).status_code
    assert client.get("/api/v1/patients/").status_code == 403  # the API with this session, too

    page = client.get(to_code["Location"])
    assert "Second step" in page.content.decode()
    half_signed_in = client.cookies["sessionid"].value
    passed = client.post(to_code["Location"], {"code": code_for(device), "next": reverse("recovery:patient-list")})
    assert passed.status_code == 302
    assert passed["Location"] == reverse("recovery:patient-list")
    assert client.cookies["sessionid"].value != half_signed_in  # a new session id once both steps are done
    assert client.get(reverse("recovery:patient-list")).status_code == 200
    assert "account.mfa.verified" in actions()


def test_a_wrong_code_is_refused_in_words_and_five_send_the_user_back_to_the_password(client, coordinator, clock):
    device = with_app(coordinator)
    sign_in(client, coordinator)
    verify = reverse("accounts:mfa-verify")

    first = client.post(verify, {"code": wrong_code_for(device)})
    assert "That code is not right" in first.content.decode()
    assert "4 tries left" in first.content.decode()
    # At once again: the app waits after a wrong code, and says so (this try is not counted).
    waiting = client.post(verify, {"code": wrong_code_for(device)})
    assert "Wait 1 second," in waiting.content.decode()

    for wait, left in [(1, 3), (2, 2), (4, 1)]:
        clock(wait)
        response = client.post(verify, {"code": wrong_code_for(device)})
        assert f"{left} {'try' if left == 1 else 'tries'} left" in response.content.decode()
    clock(8)
    out = client.post(verify, {"code": wrong_code_for(device)})
    assert out.status_code == 302
    assert out["Location"] == reverse("accounts:login")
    assert "5 wrong codes in a row" in client.get(out["Location"]).content.decode()
    assert client.get(reverse("recovery:patient-list"))["Location"].startswith(reverse("accounts:login"))
    assert actions().count("account.mfa.wrong_code") == 5

    # The password again, then the right code (once the device's wait after 5 wrong ones has passed).
    clock(16)
    sign_in(client, coordinator)
    assert client.post(verify, {"code": code_for(device)}).status_code == 302
    assert client.get(reverse("recovery:patient-list")).status_code == 200


def test_a_recovery_code_works_once_only(client, coordinator, clock):
    with_app(coordinator)
    with_recovery_codes(coordinator, codes=("abcd2345", "efgh6723"))
    sign_in(client, coordinator)
    assert client.post(reverse("accounts:mfa-verify"), {"code": "ABCD-2345"}).status_code == 302
    assert client.get(reverse("recovery:patient-list")).status_code == 200

    client.post(reverse("accounts:logout"))
    sign_in(client, coordinator)
    again = client.post(reverse("accounts:mfa-verify"), {"code": "abcd2345"})
    assert "That code is not right" in again.content.decode()
    clock(2)
    assert client.post(reverse("accounts:mfa-verify"), {"code": "efgh 6723"}).status_code == 302
    assert StaticToken.objects.filter(device__user=coordinator).count() == 0


def test_a_passkey_only_user_is_offered_the_passkey_on_the_second_step(client, coordinator):
    """The page loads django-otp-webauthn's script from static files, with its settings as JSON (no inline code)."""
    from django_otp_webauthn.models import WebAuthnCredential

    WebAuthnCredential.objects.create(
        user=coordinator, name="Laptop", confirmed=True, credential_id=b"id", public_key=b"key", sign_count=0
    )
    sign_in(client, coordinator)
    content = client.get(reverse("accounts:mfa-verify")).content.decode()
    assert 'id="passkey-verification-placeholder"' in content
    assert "django_otp_webauthn/otp_webauthn_auth.js" in content
    assert 'name="code"' not in content  # no app, no recovery codes: nothing to type
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", content, re.S)
    assert all("src=" in attributes or 'type="application/json"' in attributes for attributes, _ in scripts)


# --- who must have one ----------------------------------------------------------------------------------------------


@pytest.fixture
def required(settings):
    settings.MFA_REQUIRED_FOR_STAFF = True


def test_staff_without_a_factor_reach_only_the_set_up_pages_while_it_is_required(
    client, coordinator, patient, clock, settings
):
    assert sign_in(client, coordinator).status_code == 302
    assert client.get(reverse("recovery:patient-list")).status_code == 200  # off (DEBUG's default): as before

    settings.MFA_REQUIRED_FOR_STAFF = True  # read on each request
    for url in [
        reverse("recovery:patient-list"),
        reverse("recovery:patient-detail", args=[patient.uuid]),
        reverse("accounts:password-change"),
        "/admin/",
    ]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("accounts:security")), url
    assert client.get(f"/api/v1/patients/{patient.uuid}/").status_code == 403
    page = client.get(reverse("accounts:security"))
    assert 'data-testid="mfa-must-set-up"' in page.content.decode()
    assert "recovery:patient-list" not in page.content.decode()
    assert not AuditEvent.objects.filter(action="patient.view").exists()

    client.get(reverse("accounts:mfa-totp-setup"))
    device = TOTPDevice.objects.get(user=coordinator)
    client.post(reverse("accounts:mfa-totp-setup"), {"code": code_for(device)})
    assert client.get(reverse("recovery:patient-detail", args=[patient.uuid])).status_code == 200


def test_the_admin_site_requires_a_verified_session_of_an_administrator_who_must_have_a_factor(
    client, db, required, clock
):
    admin = UserFactory(username="root", role="", is_staff=True, is_superuser=True)
    sign_in(client, admin)
    assert client.get("/admin/")["Location"].startswith(reverse("accounts:security"))

    # The site's own check, whatever middleware runs before it.
    request = RequestFactory().get("/admin/")
    request.user = admin
    admin.is_verified = lambda: False
    assert not SecondFactorAdminSite().has_permission(request)
    device = with_app(admin)
    assert not SecondFactorAdminSite().has_permission(request)
    admin.is_verified = lambda: True
    assert SecondFactorAdminSite().has_permission(request)

    assert client.get("/admin/")["Location"].startswith(reverse("accounts:mfa-verify"))
    client.post(reverse("accounts:mfa-verify"), {"code": code_for(device)})
    assert client.get("/admin/").status_code == 200


def test_anonymous_admin_sign_in_goes_through_the_apps_sign_in_page(client, db):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:login"))
    request = RequestFactory().get("/admin/")
    request.user = AnonymousUser()
    assert not SecondFactorAdminSite().has_permission(request)


def test_a_patient_is_offered_a_second_factor_but_never_forced(client_for, patient, required):
    client = client_for(patient.user)
    page = client.get(reverse("recovery:my-recovery"))
    assert page.status_code == 200
    assert reverse("accounts:security") in page.content.decode()
    security = client.get(reverse("accounts:security")).content.decode()
    assert "It is your choice" in security
    assert 'data-testid="mfa-must-set-up"' not in security


def test_a_clinician_with_a_factor_must_pass_it_and_the_api_token_is_not_affected(
    client_for, api_for, clinician, required
):
    with_app(clinician)
    assert (
        client_for(clinician).get(reverse("recovery:dashboard"))["Location"].startswith(reverse("accounts:mfa-verify"))
    )
    assert api_for(clinician).get("/api/v1/me/").status_code == 200  # the token endpoint asks for `otp` instead


# --- removing a factor ----------------------------------------------------------------------------------------------


def _verified_client(client, user, device):
    sign_in(client, user)
    client.post(reverse("accounts:mfa-verify"), {"code": code_for(device)})
    return client


def test_removing_a_factor_needs_the_password_and_takes_the_recovery_codes_with_the_last(
    client, coordinator, clock, django_capture_on_commit_callbacks
):
    device = with_app(coordinator)
    with_recovery_codes(coordinator)
    _verified_client(client, coordinator, device)
    url = reverse("accounts:mfa-totp-remove", args=[device.pk])

    refused = client.post(url, {"password": "not my password"})
    assert "That password is not right" in refused.content.decode()
    assert TOTPDevice.objects.filter(pk=device.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, {"password": PASSWORD})
    assert done["Location"] == reverse("accounts:security")
    assert not TOTPDevice.objects.filter(user=coordinator).exists()
    assert not StaticDevice.objects.filter(user=coordinator).exists()
    assert actions() == ["account.mfa.verified", "account.mfa.totp_removed", "account.mfa.recovery_codes_removed"]
    assert "was removed from your account" in mail.outbox[0].body


def test_removing_a_passkey_needs_the_password_and_is_recorded(
    client, coordinator, clock, django_capture_on_commit_callbacks
):
    from django_otp_webauthn.models import WebAuthnCredential

    device = with_app(coordinator)
    passkey = WebAuthnCredential.objects.create(
        user=coordinator, name="Laptop", confirmed=True, credential_id=b"id", public_key=b"key", sign_count=0
    )
    _verified_client(client, coordinator, device)
    assert 'data-testid="passkey"' in client.get(reverse("accounts:security")).content.decode()
    url = reverse("accounts:mfa-passkey-remove", args=[passkey.pk])
    assert "Your password" in client.get(url).content.decode()
    assert "Enter your password to confirm." in client.post(url, {"password": ""}).content.decode()
    assert "That password is not right" in client.post(url, {"password": "guess"}).content.decode()
    assert WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url, {"password": PASSWORD})
    assert not WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    assert TOTPDevice.objects.filter(pk=device.pk).exists()  # the app stays, and so would its recovery codes
    assert actions()[-1] == "account.mfa.passkey_removed"
    assert "(a passkey) was removed" in mail.outbox[0].body


def test_without_an_origin_for_passkeys_the_security_page_offers_only_the_app(client_for, patient, settings):
    """A site not served over HTTPS (nor on localhost) cannot use passkeys: the page says so and loads no script."""
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = []
    content = client_for(patient.user).get(reverse("accounts:security")).content.decode()
    assert 'data-testid="passkeys-off"' in content
    assert "otp_webauthn_register.js" not in content
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = ["http://localhost:8000"]
    assert "otp_webauthn_register.js" in client_for(patient.user).get(reverse("accounts:security")).content.decode()


def test_another_users_factor_cannot_be_removed(client, coordinator, clinician, clock):
    device = with_app(coordinator)
    theirs = with_app(clinician)
    _verified_client(client, coordinator, device)
    response = client.post(reverse("accounts:mfa-totp-remove", args=[theirs.pk]), {"password": PASSWORD})
    assert response.status_code == 404
    assert TOTPDevice.objects.filter(pk=theirs.pk).exists()


def test_staff_cannot_remove_their_only_factor_while_it_is_required(client, coordinator, clock, required):
    device = with_app(coordinator)
    _verified_client(client, coordinator, device)
    response = client.post(reverse("accounts:mfa-totp-remove", args=[device.pk]), {"password": PASSWORD})
    assert response["Location"] == reverse("accounts:security")
    assert TOTPDevice.objects.filter(pk=device.pk).exists()


def test_new_recovery_codes_replace_the_old_ones(client, coordinator, clock):
    device = with_app(coordinator)
    with_recovery_codes(coordinator, codes=("abcd2345",))
    _verified_client(client, coordinator, device)
    response = client.post(reverse("accounts:mfa-recovery-codes"))
    codes = re.findall(r'<li class="col">([a-z2-7]{8})</li>', response.content.decode())
    assert len(codes) == 10
    kept = StaticToken.objects.filter(device__user=coordinator).values_list("token", flat=True)
    assert stored_recovery_code("abcd2345") not in kept


def test_a_patient_role_is_not_staff(db, required):
    from accounts import mfa

    patient_user = UserFactory(role=Role.PATIENT)
    assert not mfa.mfa_required(patient_user)
    assert mfa.mfa_required(UserFactory(role=Role.CLINICIAN))
    assert mfa.mfa_required(UserFactory(role="", is_staff=True))
