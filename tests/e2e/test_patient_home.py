"""A patient on Day +9 signs in on a phone and sees where they are, what comes next, and the unit's number.

Screenshots are saved as var/screenshots/patient-home-*.png at phone and desktop sizes (full page, with the sticky
call button in its own place at the end), plus the phone's first screen as the patient sees it.
"""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from recovery.queries.timeline import patient_today
from tests.e2e.conftest import VIEWPORTS, screenshot, screenshot_in_place
from tests.factories import CentreFactory, PatientFactory, UserFactory, transplant

pytestmark = pytest.mark.e2e

PASSWORD = "A long enough e2e passphrase"
UNIT_PHONE = "+46 18 611 00 00"


@pytest.fixture
def pia_on_day_9(transactional_db):
    """Pia, a patient on Day +9 of a Cy/ATG transplant (in aplasia), with a login."""
    centre = CentreFactory(name="Uppsala Transplant Centre", phone_24h=UNIT_PHONE)
    user = UserFactory(username="pia", first_name="Pia", role=Role.PATIENT, password=PASSWORD)
    patient = PatientFactory(user=user, centre=centre, first_name="Pia", last_name="Holmgren")
    day0 = patient_today(patient) - timedelta(days=9)
    transplant(patient, day0, mobilised_days_before=35, collected_days_before=25)
    return patient


def call_bar_in_place(page) -> None:
    """Pin the sticky call button to its own place at the end of the page for a full-page screenshot.

    A full-page capture keeps a sticky element where the first screen had it, on top of other content; the
    first-screen shot (patient-home-first-screen-phone.png) shows the sticky button as the patient sees it.
    Set through the CSSOM: the Content-Security-Policy refuses an added <style> element.
    """
    page.evaluate("document.querySelectorAll('.rt-call-bar').forEach((bar) => { bar.style.position = 'static'; })")


def sign_in(page) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("pia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_patient_on_day_9_sees_the_day_the_phase_and_the_call_button_on_a_phone(phone, live_server, pia_on_day_9):
    """On a phone, Pia lands on /my/ and sees "Day +9", aplasia in plain words, and the call button on screen."""
    sign_in(phone)

    expect(phone).to_have_url(f"{live_server.url}/my/")
    expect(phone.get_by_role("heading", level=1)).to_have_text(
        re.compile(r"Day \+9\s*·?\s*Aplasia: your highest infection-risk days")
    )
    expect(phone.get_by_test_id("day")).to_have_text("Day +9")
    call = phone.get_by_role("link", name=re.compile("Call the unit, day or night"))
    expect(call).to_have_attribute("href", f"tel:{UNIT_PHONE}")
    expect(call).to_be_in_viewport()
    expect(
        phone.get_by_role("progressbar", name=re.compile(r"% of the way through the first two years"))
    ).to_be_visible()
    expect(phone.get_by_role("heading", name="What comes next")).to_be_visible()
    expect(phone.get_by_test_id("upcoming-event").first).to_contain_text("EBV and CMV blood test (PCR), week 2")
    expect(phone.get_by_test_id("overdue-event")).to_contain_text("your team will be in touch")

    phone.mouse.wheel(0, 5000)  # the call button stays on screen while the patient scrolls
    expect(call).to_be_in_viewport()
    box = call.bounding_box()
    assert box["height"] >= 48
    assert box["width"] <= VIEWPORTS["phone"]["viewport"]["width"]

    screenshot(phone, "patient-home", then=call_bar_in_place)
    phone.mouse.wheel(0, -5000)
    screenshot_in_place(phone, "patient-home-first-screen", "phone", full_page=False)


def test_a_patient_can_create_a_calendar_address_and_copy_it(phone, live_server, pia_on_day_9):
    """From the home page Pia opens the calendar page, creates her address, and copies it with one tap."""
    sign_in(phone)
    phone.get_by_role("link", name=re.compile("Put these dates in my phone's calendar")).click()
    expect(phone).to_have_url(f"{live_server.url}/my/calendar/")
    screenshot(phone, "patient-home-calendar-empty", then=call_bar_in_place)

    phone.get_by_role("button", name=re.compile("Create my calendar address")).click()

    address = phone.get_by_test_id("feed-url")
    expect(address).to_have_value(re.compile(rf"^{re.escape(live_server.url)}/calendar/[A-Za-z0-9_-]{{43}}\.ics$"))
    phone.get_by_role("button", name="Copy").click()
    expect(phone.get_by_role("status")).to_contain_text("Copied")
    expect(phone.get_by_role("link", name=re.compile("Call the unit"))).to_be_visible()
    screenshot(phone, "patient-home-calendar", then=call_bar_in_place)
