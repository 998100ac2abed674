"""A coordinator enrols a patient, sets the transplant dates and sees the timeline; the patient sees "Day +N"."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from recovery.models import Patient, TimelineEvent
from recovery.queries.timeline import patient_today
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_per_role import PASSWORD, open_login, sign_in
from tests.factories import CentreFactory, UserFactory

pytestmark = pytest.mark.e2e


def test_coordinator_enrols_a_patient_sets_dates_and_the_patient_sees_their_day(page, phone, transactional_db):
    """From an empty centre to a patient on Day +9 who sees the same Day on their own phone."""
    centre = CentreFactory(name="Uppsala Transplant Centre", phone_24h="+46 18 611 00 00")
    UserFactory(username="cora", first_name="Cora", role=Role.COORDINATOR, centres=[centre], password=PASSWORD)
    open_login(page)
    sign_in(page, "cora", PASSWORD)

    page.get_by_role("link", name="Enrol a patient").click()
    page.get_by_label("First name").fill("Maja")
    page.get_by_label("Last name").fill("Lind")
    page.get_by_label("Date of birth").fill("1990-04-12")
    page.get_by_label("Hospital number").fill("UAS-77")
    page.get_by_label("Email").fill("maja@example.org")
    page.get_by_label("Baseline EDSS").fill("3.7")
    page.get_by_role("button", name="Enrol patient").click()
    edss_error = "An EDSS score is 0, or from 1.0 to 10.0 in steps of 0.5"
    expect(page.get_by_test_id("error-summary").get_by_text(edss_error)).to_be_visible()
    expect(page.locator("main form").get_by_text(edss_error)).to_be_visible()
    expect(page.get_by_label("First name")).to_have_value("Maja")
    page.get_by_label("Baseline EDSS").fill("3.5")
    page.get_by_role("button", name="Enrol patient").click()
    expect(page.get_by_text("Maja Lind is enrolled.")).to_be_visible()
    patient = Patient.objects.get(hospital_number="UAS-77")

    today = patient_today(patient)  # the Day shown counts in the patient's zone, not the server's (UTC)
    page.get_by_role("link", name="Transplant dates").first.click()
    page.get_by_label("Regimen (protocol)").select_option(label="Cy/ATG")
    day0 = today - timedelta(days=9)
    page.get_by_label("Mobilisation date").fill((day0 - timedelta(days=30)).isoformat())
    page.get_by_label("First apheresis date").fill((day0 - timedelta(days=20)).isoformat())
    page.get_by_label("Conditioning start date").fill((day0 + timedelta(days=2)).isoformat())
    page.get_by_label("Reinfusion date (Day 0)").fill(day0.isoformat())
    page.get_by_role("button", name="Save dates").click()
    day0_error = "Day 0 (reinfusion) comes after conditioning starts."
    expect(page.get_by_test_id("error-summary").get_by_text(day0_error)).to_be_visible()
    expect(page.locator("main form").get_by_text(day0_error)).to_be_visible()
    page.get_by_label("Conditioning start date").fill((day0 - timedelta(days=5)).isoformat())
    page.get_by_role("button", name="Save dates").click()

    expect(page.get_by_text("Saved. Timeline:")).to_be_visible()
    expect(page.get_by_test_id("day")).to_have_text("Day +9")
    expect(page.get_by_test_id("phase")).to_have_text("Aplasia")
    expect(page.get_by_role("heading", name="What comes next")).to_be_visible()
    expect(page.get_by_text("Clinic visit (Day +30)")).to_be_visible()
    assert TimelineEvent.objects.filter(episode__patient=patient).count() > 50
    screenshot(page, "coordinator-timeline")

    patient.user = UserFactory(username="maja", first_name="Maja", role=Role.PATIENT, password=PASSWORD)
    patient.save()
    open_login(phone)
    sign_in(phone, "maja", PASSWORD)
    expect(phone.get_by_text("Day +9").first).to_be_visible()
