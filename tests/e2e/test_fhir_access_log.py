"""A clinician fetches Pia's whole record through the FHIR API; Pia signs in and her access log says so, in
words she understands. Screenshots: var/screenshots/fhir-access-log-{phone,desktop}.png."""

import pytest
from playwright.sync_api import expect
from rest_framework.test import APIClient

from accounts.models import Role
from tests.e2e.conftest import screenshot
from tests.factories import CentreFactory, PatientFactory, UserFactory, api_token_for

pytestmark = pytest.mark.e2e

PASSWORD = "A long enough e2e passphrase"


def test_the_patient_sees_a_fhir_read_in_her_access_log(page, transactional_db):
    centre = CentreFactory(name="Uppsala Transplant Centre")
    clinician = UserFactory(username="karl", first_name="Karl", role=Role.CLINICIAN, centres=[centre])
    user = UserFactory(username="pia", first_name="Pia", role=Role.PATIENT, password=PASSWORD)
    patient = PatientFactory(user=user, centre=centre, first_name="Pia", last_name="Holmgren")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {api_token_for(clinician)[1]}")
    assert api.get(f"/fhir/R4/Patient/{patient.uuid}/$everything").status_code == 200

    page.goto("/accounts/login/")
    page.get_by_label("Username").fill("pia")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.goto("/my/access-log/")
    expect(page.get_by_text("Fetched your whole record through the FHIR interface")).to_be_visible()
    screenshot(page, "fhir-access-log")
