"""A passkey as the second factor, in a real browser: Chromium's virtual authenticator (over CDP) stands in for the
phone's fingerprint reader. django-otp-webauthn's script is loaded from static files; the pages have no inline code.
"""

import base64
import re

import pytest
from django.core import mail
from django_otp.oath import totp
from playwright.sync_api import Page, expect

from accounts.models import Role
from recovery.models import AuditEvent
from tests.e2e.conftest import screenshot
from tests.factories import CentreFactory, UserFactory

pytestmark = pytest.mark.e2e

PASSWORD = "A long enough e2e passphrase"


def sign_in(page: Page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_clinician_must_add_a_passkey_and_then_signs_in_with_it(page, live_server, settings):
    settings.MFA_REQUIRED_FOR_STAFF = True
    settings.OTP_WEBAUTHN_RP_ID = "localhost"
    settings.OTP_WEBAUTHN_ALLOWED_ORIGINS = [live_server.url]
    assert live_server.url.startswith("http://localhost:")  # a passkey needs a host name (or HTTPS), not an IP
    centre = CentreFactory(name="Uppsala Transplant Centre")
    clinician = UserFactory(username="karl", role=Role.CLINICIAN, centres=[centre], password=PASSWORD)

    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )

    # Staff without a second factor are sent to set one up, and nothing else opens.
    sign_in(page, "karl")
    expect(page).to_have_url(re.compile(r"/accounts/security/"))
    expect(page.get_by_test_id("bell")).to_have_count(0)  # nor any other page's link
    expect(page.get_by_test_id("mfa-must-set-up")).to_be_visible()
    page.goto("/dashboard/")
    expect(page.get_by_test_id("mfa-must-set-up")).to_be_visible()
    screenshot(page, "security-must-set-up")

    page.get_by_test_id("passkey-add").click()
    expect(page.get_by_test_id("passkey")).to_have_count(1)  # the page shows it again with the new passkey
    assert AuditEvent.objects.filter(action="account.mfa.passkey_added", actor=clinician, patient=None).exists()
    page.goto("/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinician's dashboard")

    # Next time: the password, then the passkey.
    page.context.clear_cookies()
    sign_in(page, "karl")
    expect(page.get_by_role("heading", level=1)).to_have_text("Second step")
    screenshot(page, "mfa-verify-passkey")
    page.get_by_test_id("passkey-verify").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinician's dashboard")
    assert AuditEvent.objects.filter(action="account.mfa.verified", actor=clinician).count() == 1
    assert [message.subject for message in mail.outbox] == [
        "A second sign-in step was added to your recovery tracker account"
    ]


def test_a_coordinator_sets_up_an_authenticator_app_from_the_secret_shown_as_text(page, live_server):
    """The set-up page shows a QR code and the secret as text; a code computed from that text makes it count."""
    centre = CentreFactory(name="Uppsala Transplant Centre")
    UserFactory(username="cora", role=Role.COORDINATOR, centres=[centre], password=PASSWORD)
    sign_in(page, "cora")
    page.goto("/accounts/security/")
    page.get_by_test_id("totp-set-up").click()
    expect(page.get_by_test_id("totp-qr").locator("svg")).to_be_visible()
    secret = page.get_by_test_id("totp-secret").inner_text().replace(" ", "")
    screenshot(page, "totp-set-up")

    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.get_by_label("The 6-digit code your app shows now").fill(f"{totp(key):06d}")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your recovery codes")
    expect(page.get_by_test_id("recovery-codes").locator("li")).to_have_count(10)
    page.get_by_role("link", name="I have kept them safe").click()
    expect(page.get_by_test_id("totp-device")).to_have_count(1)
    expect(page.get_by_test_id("recovery-codes-left")).to_contain_text("10 unused recovery codes left")
    screenshot(page, "security-with-app")
