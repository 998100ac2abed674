"""The summary for the patient's doctor from the browser: the patient finds the link on their home (phone), the
coordinator in the patient page's "More" menu (desktop); each download is a PDF. Screenshots (var/screenshots/):
summary-link-home-{phone,desktop}.png, summary-link-staff-{phone,desktop}.png, and the pages of an English and a
Swedish summary as Chromium's PDF viewer shows them (summary-pdf-en.png, summary-pdf-sv.png,
summary-pdf-patient-en.png)."""

from datetime import timedelta
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from accounts.models import Role
from recovery.clinical.triage import AlertKind, Severity
from recovery.models import TransplantEpisode, VaccinationDose
from recovery.queries.configuration import DEFAULT_CONFIG
from recovery.queries.timeline import patient_today
from recovery.services.alerts import raise_alert
from tests.e2e.conftest import screenshot, screenshot_in_place, screenshots_dir
from tests.e2e.test_patient_home import call_bar_in_place
from tests.factories import CentreFactory, PatientFactory, UserFactory, transplant

pytestmark = pytest.mark.e2e

PASSWORD = "A long enough e2e passphrase"


def _transplanted(centre, username: str, first: str, last: str, language: str, days: int):
    user = UserFactory(username=username, first_name=first, role=Role.PATIENT, password=PASSWORD, language=language)
    patient = PatientFactory(user=user, centre=centre, first_name=first, last_name=last, preferred_language=language)
    day0 = patient_today(patient) - timedelta(days=days)
    transplant(patient, day0, engrafted=day0 + timedelta(days=11))
    TransplantEpisode.objects.filter(patient=patient).update(platelet_engraftment_date=day0 + timedelta(days=14))
    for vaccine, dose, after in [("zoster_recombinant", 1, 52), ("zoster_recombinant", 2, 84)]:
        VaccinationDose.objects.create(patient=patient, vaccine=vaccine, dose=dose, given_date=day0 + timedelta(after))
    raise_alert(
        patient=patient, kind=AlertKind.FEVER, severity=Severity.URGENT, rule="e2e", message="", config=DEFAULT_CONFIG
    )
    raise_alert(
        patient=patient,
        kind=AlertKind.EBV_VIRAEMIA,
        severity=Severity.SAME_DAY,
        rule="e2e",
        message="",
        config=DEFAULT_CONFIG,
    )
    return patient


@pytest.fixture
def cast(transactional_db):
    """Pia (English, Day +101) and Sven (Swedish, Day +101) of the Uppsala centre; Cora, its coordinator."""
    centre = CentreFactory(name="Uppsala Transplant Centre", phone_24h="+46 18 611 00 00")
    UserFactory(username="cora", role=Role.COORDINATOR, centres=[centre], password=PASSWORD)
    pia = _transplanted(centre, "pia", "Pia", "Holmgren", "en", 101)
    sven = _transplanted(centre, "sven", "Sven", "Åkerström", "sv", 101)
    return pia, sven


def sign_in(page, username: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _download(page, link) -> bytes:
    with page.expect_download() as info:
        link.click()
    body = Path(info.value.path()).read_bytes()
    assert body.startswith(b"%PDF")
    return body


def _pdf_pages_as_png(browser, body: bytes, name: str) -> list[Path]:
    """Every page of the PDF, one under the other, as Chromium's own viewer shows it (no other PDF renderer is
    installed)."""
    directory = screenshots_dir()
    source = directory / f"{name}.pdf"
    source.write_bytes(body)
    pages = body.count(b"/Type /Page") - body.count(b"/Type /Pages")
    # The viewer at page width shows every page one under the other: a viewport tall enough for all of them.
    context = browser.new_context(viewport={"width": 1000, "height": 1320 * pages + 40})
    tab = context.new_page()
    tab.goto(f"file://{source}#zoom=page-width&toolbar=0&navpanes=0")
    path = directory / f"{name}.png"
    for _attempt in range(10):  # the viewer draws the pages a while after loading: until a white page shows
        tab.wait_for_timeout(1000)
        tab.screenshot(path=str(path))
        with Image.open(path) as picture:
            if picture.convert("L").getextrema()[1] >= 250:
                break
    saved = [path]
    context.close()
    return saved


def test_the_patient_downloads_their_summary_from_the_home_page(phone, cast):
    _pia, _ = cast
    sign_in(phone, "pia")
    link = phone.get_by_test_id("summary-pdf-link")
    expect(link).to_contain_text("A summary for your own doctor")
    screenshot(phone, "summary-link-home", then=call_bar_in_place)
    body = _download(phone, link)
    _pdf_pages_as_png(phone.context.browser, body, "summary-pdf-patient-en")


def test_the_coordinator_downloads_the_summary_in_the_patients_language(page, phone, cast):
    pia, sven = cast
    sign_in(page, "cora")
    for patient, language in ((pia, "en"), (sven, "sv")):
        page.goto(f"/patients/{patient.uuid}/")
        page.get_by_role("button", name="More").click()
        link = page.get_by_test_id("summary-pdf-link")
        expect(link).to_be_visible()
        if language == "sv":
            screenshot_in_place(page, "summary-link-staff", "desktop", full_page=False)
        body = _download(page, link)
        _pdf_pages_as_png(page.context.browser, body, f"summary-pdf-{language}")
    sign_in(phone, "cora")
    phone.goto(f"/patients/{sven.uuid}/")
    phone.get_by_role("button", name="More").click()
    expect(phone.get_by_test_id("summary-pdf-link")).to_be_visible()
    screenshot_in_place(phone, "summary-link-staff", "phone", full_page=False)
