"""A clinician tries a live vaccine too early and is told why, then records a dose; the patient sees their plan on a
phone. Screenshots: docs/screenshots/vaccinations.png (desktop, 1280x900, with the refusal) and
docs/screenshots/my-vaccinations.png (phone, 390x844)."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import expect

from accounts.models import Role
from recovery.models import ProtocolEvent, ProtocolTemplate, VaccinationDose
from recovery.services.protocols import load_default_protocols
from recovery.services.timeline import patient_today
from tests.e2e.conftest import VIEWPORTS
from tests.factories import CentreFactory, PatientFactory, UserFactory, transplant

pytestmark = pytest.mark.e2e

PASSWORD = "A long enough e2e passphrase"
DOCS = Path(settings.BASE_DIR) / "docs" / "screenshots"


@pytest.fixture
def cast(transactional_db):
    """Pia, seven months after Day 0, with the month-3 doses given; Karl, her clinician."""
    load_default_protocols(ProtocolTemplate, ProtocolEvent)
    centre = CentreFactory(name="Uppsala Transplant Centre")
    clinician = UserFactory(username="karl", role=Role.CLINICIAN, centres=[centre], password=PASSWORD)
    user = UserFactory(username="pia", first_name="Pia", role=Role.PATIENT, password=PASSWORD)
    patient = PatientFactory(
        user=user, centre=centre, first_name="Pia", last_name="Holmgren", hospital_number="UAS-1042"
    )
    day0 = patient_today(patient) - timedelta(days=215)
    transplant(patient, day0, engrafted=day0 + timedelta(days=11))
    for vaccine, dose, after in [
        ("zoster_recombinant", 1, 52),
        ("zoster_recombinant", 2, 84),
        ("influenza", 1, 93),
        ("pcv13", 1, 93),
        ("pcv13", 2, 124),
        ("pcv13", 3, 155),
    ]:
        VaccinationDose.objects.create(
            patient=patient, vaccine=vaccine, dose=dose, given_date=day0 + timedelta(days=after)
        )
    return patient, clinician


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_live_vaccine_is_refused_with_the_reason_then_a_dose_is_recorded(browser, live_server, cast):
    patient, _ = cast
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, "karl")
        page.goto(f"/patients/{patient.uuid}/vaccinations/")
        expect(page.get_by_role("heading", level=1)).to_contain_text("Revaccination")
        form = page.get_by_test_id("vaccination-form")
        form.get_by_label("Vaccine").select_option("mmr")
        form.get_by_label("Dose").fill("1")
        form.get_by_label("Given on").fill(patient_today(patient).isoformat())
        form.get_by_role("button", name="Record the dose").click()
        expect(page.get_by_text("is a live vaccine: it cannot be given before month 24")).to_be_visible()
        expect(page.get_by_test_id("vaccination-form").get_by_label("Vaccine")).to_have_value("mmr")
        DOCS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(DOCS / "vaccinations.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0

        form = page.get_by_test_id("vaccination-form")
        form.get_by_label("Vaccine").select_option("tdap")
        form.get_by_label("Dose").fill("1")
        form.get_by_role("button", name="Record the dose").click()
        expect(page.get_by_text("dose 1 recorded as given")).to_be_visible()
        assert VaccinationDose.objects.filter(patient=patient, vaccine="tdap").exists()
    finally:
        context.close()


def test_the_patient_sees_medicines_and_vaccinations_due_on_a_phone(browser, live_server, cast):
    context = browser.new_context(
        base_url=live_server.url, **{**VIEWPORTS["phone"], "viewport": {"width": 390, "height": 844}}
    )
    page = context.new_page()
    page.set_default_timeout(10_000)
    try:
        sign_in(page, "pia")
        expect(page.get_by_test_id("care-summary")).to_be_visible()
        page.get_by_role("link", name="My vaccinations and medicines").click()
        expect(page.get_by_role("heading", name="Vaccinations due now")).to_be_visible()
        expect(page.get_by_test_id("medicine").first).to_contain_text("Aciclovir")
        page.add_style_tag(content=".rt-call-bar { position: static; }")
        page.screenshot(path=str(DOCS / "my-vaccinations.png"), full_page=True)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0
    finally:
        context.close()
