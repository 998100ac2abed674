"""A clinician finds the registry export (issue 17 item 4) on a patient's page and on the cohort page, and
downloads each: the patient's CSV and the centre's JSON.

Screenshots (phone and desktop, and the desktop view at 1280 x 800 around the link): registry-patient-page,
registry-cohort-page.
"""

import json
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from tests.e2e.conftest import screenshot, screenshots_dir
from tests.e2e.test_login_per_role import PASSWORD, open_login, sign_in
from tests.factories import CentreFactory, PatientFactory, UserFactory, transplant

pytestmark = pytest.mark.e2e


@pytest.fixture
def cast(transactional_db):
    centre = CentreFactory(name="Uppsala Transplant Centre")
    patient = PatientFactory(centre=centre, first_name="Astrid", last_name="Lindberg", hospital_number="UPS-1042")
    day0 = timezone.localdate() - timedelta(days=130)
    transplant(patient, day0, engrafted=day0 + timedelta(days=11))
    user = UserFactory(username="karl", first_name="Karl", role=Role.CLINICIAN, centres=[centre], password=PASSWORD)
    return {"patient": patient, "user": user}


def _around(page, test_id: str, name: str) -> None:
    """The desktop view at 1280 x 800 with the link in sight."""
    page.set_viewport_size({"width": 1280, "height": 800})
    page.get_by_test_id(test_id).scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots_dir() / f"{name}-1280x800.png"))


def test_a_clinician_downloads_the_registry_export(page, live_server, cast):
    patient = cast["patient"]
    open_login(page)
    sign_in(page, "karl", PASSWORD)
    page.goto(f"/patients/{patient.uuid}/")
    links = page.get_by_test_id("registry-links")
    expect(links).to_contain_text("Registry export (EBMT/CIBMTR):")
    with page.expect_download() as download:
        links.get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename.startswith("registry-ups-1042-")
    text = Path(download.value.path()).read_text(encoding="utf-8")
    assert text.splitlines()[0].startswith("medA.centre,medA.centre.missing,medA.hospital_number")
    assert "UPS-1042" in text
    screenshot(page, "registry-patient-page")
    _around(page, "registry-links", "registry-patient-page")

    page.set_viewport_size({"width": 1366, "height": 900})
    page.goto("/cohort/")
    links = page.get_by_test_id("registry-links")
    expect(links).to_contain_text("every transplanted patient of the centre")
    with page.expect_download() as download:
        links.get_by_role("link", name="JSON").click()
    body = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert body["centre"] == "Uppsala Transplant Centre"
    assert [row["medA.hospital_number"]["value"] for row in body["patients"]] == ["UPS-1042"]
    screenshot(page, "registry-cohort-page")
    _around(page, "registry-links", "registry-cohort-page")
