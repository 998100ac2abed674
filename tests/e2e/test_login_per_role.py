"""Signing in through the real login page lands each role on its own home page.

Screenshots of every page visited are saved under var/screenshots/ at phone and desktop sizes.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from tests.e2e.conftest import screenshot
from tests.factories import CentreFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.e2e

PASSWORD = "A long enough e2e passphrase"
UNIT_PHONE = "+46 18 611 00 00"
LOGIN_ERROR = "That username and password do not match. Check them and try again."


@pytest.fixture
def centre(transactional_db):
    return CentreFactory(name="Uppsala Transplant Centre", phone_24h=UNIT_PHONE)


def sign_in(page: Page, username: str, password: str) -> None:
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def sign_in_wrongly(page: Page) -> None:
    sign_in(page, "cora", "not the password")
    expect(page.get_by_test_id("error-summary").get_by_text(LOGIN_ERROR)).to_be_visible()  # at the top
    expect(page.locator("main form").get_by_text(LOGIN_ERROR)).to_be_visible()  # and in the form


def open_login(page: Page) -> None:
    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")


def test_a_coordinator_lands_on_the_patient_list(page, live_server, centre):
    """A care coordinator who signs in is taken to /patients/, headed "Patients"."""
    UserFactory(username="cora", first_name="Cora", role=Role.COORDINATOR, centres=[centre], password=PASSWORD)
    open_login(page)

    sign_in(page, "cora", PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/patients/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Patients")
    expect(page.get_by_role("link", name="Enrol a patient")).to_be_visible()
    screenshot(page, "coordinator-patients")


def test_a_clinician_lands_on_the_dashboard(page, live_server, centre):
    """A clinician who signs in is taken to /dashboard/, headed "Clinician's dashboard"."""
    UserFactory(username="karl", first_name="Karl", role=Role.CLINICIAN, centres=[centre], password=PASSWORD)
    open_login(page)

    sign_in(page, "karl", PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Clinician's dashboard")
    screenshot(page, "clinician-dashboard-empty")


def test_a_patient_lands_on_their_own_recovery_page(page, live_server, centre):
    """A patient who signs in is taken to /my/, greeted by first name, with a button that calls their unit."""
    user = UserFactory(username="pia", first_name="Pia", role=Role.PATIENT, password=PASSWORD)
    PatientFactory(user=user, centre=centre, first_name="Pia", last_name="Holmgren")
    open_login(page)

    sign_in(page, "pia", PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/my/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Pia")
    call = page.get_by_role("link", name=re.compile("Call the unit"))
    expect(call).to_be_visible()
    expect(call).to_have_attribute("href", f"tel:{UNIT_PHONE}")
    screenshot(page, "patient-my-recovery-empty")


def test_a_wrong_password_shows_an_error_and_keeps_the_username(page, live_server, centre):
    """A wrong password leaves the user on the login page with a plain error; the username stays typed in,
    the password does not."""
    UserFactory(username="cora", role=Role.COORDINATOR, centres=[centre], password=PASSWORD)
    open_login(page)
    screenshot(page, "login")

    sign_in_wrongly(page)

    expect(page).to_have_url(f"{live_server.url}/accounts/login/")
    expect(page.get_by_label("Username")).to_have_value("cora")
    expect(page.get_by_label("Password")).to_have_value("")
    screenshot(page, "login-error", then=sign_in_wrongly)
