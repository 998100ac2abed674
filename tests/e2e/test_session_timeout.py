"""The session-timeout warning in a real browser: it shows before the end, "Stay signed in" extends the session,
and when the time is up the page goes to the sign-in page, which says why. A short idle time keeps it quick."""

import re

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from tests.factories import CentreFactory, UserFactory

pytestmark = pytest.mark.e2e

PASSWORD = "A long enough e2e passphrase"


@pytest.fixture
def short_sessions(settings):
    settings.SESSION_IDLE_MINUTES_STAFF = 0.25  # 15 seconds
    settings.SESSION_WARNING_SECONDS = 10


def test_the_warning_keeps_the_session_alive_and_the_end_goes_to_sign_in(page, live_server, short_sessions):
    centre = CentreFactory(name="Uppsala Transplant Centre")
    UserFactory(username="cora", role=Role.COORDINATOR, centres=[centre], password=PASSWORD)
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("cora")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{live_server.url}/patients/")

    warning = page.get_by_test_id("session-warning")
    expect(warning).to_be_hidden()
    expect(warning).to_be_visible(timeout=12_000)  # 10 seconds before the end of 15
    expect(warning).to_contain_text("You will be signed out in 10 seconds to protect patient data.")
    page.get_by_role("button", name="Stay signed in").click()
    expect(warning).to_be_hidden()

    expect(warning).to_be_visible(timeout=12_000)  # the extended session nears its end again
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=%2Fpatients%2F$"), timeout=15_000)
    expect(page.get_by_text("You were signed out after 15 seconds without activity")).to_be_visible()
    page.goto("/patients/")
    expect(page).to_have_url(f"{live_server.url}/accounts/login/?next=/patients/")
