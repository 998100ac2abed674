"""A clinician tries a live vaccine too early and is told why, then records a dose; the patient sees their plan on a
phone. Screenshots (var/screenshots/): vaccinations-desktop.png (with the refusal) and my-vaccinations-phone.png."""

from datetime import timedelta

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from recovery.models import VaccinationDose
from recovery.queries.timeline import patient_today
from tests.e2e.conftest import screenshot_in_place
from tests.e2e.test_patient_home import call_bar_in_place
from tests.factories import CentreFactory, PatientFactory, UserFactory, transplant

pytestmark = pytest.mark.e2e

PASSWORD = "A long enough e2e passphrase"


@pytest.fixture
def cast(transactional_db):
    """Pia, seven months after Day 0, with the month-3 doses given; Karl, her clinician."""
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


def test_a_live_vaccine_is_refused_with_the_reason_then_a_dose_is_recorded(page, cast):
    patient, _ = cast
    sign_in(page, "karl")
    page.goto(f"/patients/{patient.uuid}/vaccinations/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Revaccination")
    form = page.get_by_test_id("vaccination-form")
    form.get_by_label("Vaccine").select_option("mmr")
    form.get_by_label("Dose").fill("1")
    form.get_by_label("Given on").fill(patient_today(patient).isoformat())
    form.get_by_role("button", name="Record the dose").click()
    live_error = "is a live vaccine: it cannot be given before month 24"
    expect(page.get_by_test_id("error-summary").get_by_text(live_error)).to_be_visible()
    expect(page.get_by_test_id("vaccination-form").get_by_text(live_error)).to_be_visible()
    expect(page.get_by_test_id("vaccination-form").get_by_label("Vaccine")).to_have_value("mmr")
    screenshot_in_place(page, "vaccinations", "desktop")

    form = page.get_by_test_id("vaccination-form")
    # The immunosuppression question has no default answer: neither yes nor no is chosen until someone does.
    expect(form.get_by_role("radio", name="Yes")).not_to_be_checked()
    expect(form.get_by_role("radio", name="No")).not_to_be_checked()
    form.get_by_label("Vaccine").select_option("tdap")
    form.get_by_label("Dose").fill("1")
    form.get_by_role("radio", name="No").check()
    form.get_by_role("button", name="Record the dose").click()
    expect(page.get_by_text("dose 1 recorded as given")).to_be_visible()
    assert VaccinationDose.objects.get(patient=patient, vaccine="tdap").immunosuppressed is False


def test_the_patient_sees_medicines_and_vaccinations_due_on_a_phone(phone, cast):
    sign_in(phone, "pia")
    expect(phone.get_by_test_id("care-summary")).to_be_visible()
    phone.get_by_role("link", name="My vaccinations and medicines").click()
    expect(phone.get_by_role("heading", name="Vaccinations due now")).to_be_visible()
    expect(phone.get_by_test_id("medicine").first).to_contain_text("Aciclovir")
    call_bar_in_place(phone)
    screenshot_in_place(phone, "my-vaccinations", "phone")
