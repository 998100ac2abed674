"""Swedish staff in the browser (issue 16): the alert page gives the rule's reason in Swedish with a decimal comma,
the eligibility checklist is in Swedish, and the triage queue's refresh time stays as the server wrote it (the
centre's zone, named) even when the browser's clock is in another zone.

Screenshots (phone and desktop): i18n-alert-sv, i18n-eligibility-sv, i18n-dashboard-sv.
"""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from recovery.queries.timeline import patient_today
from recovery.services.audit import AuditContext
from recovery.services.eligibility import record_eligibility_review
from recovery.services.symptoms import record_symptom_report
from tests.e2e.conftest import TIMEOUT_MS, VIEWPORTS, screenshot
from tests.e2e.test_login_per_role import PASSWORD, open_login, sign_in
from tests.factories import CentreFactory, PatientFactory, UserFactory, transplant

pytestmark = pytest.mark.e2e


@pytest.fixture
def cast(transactional_db):
    """Pia on Day +5 with a fever of 38.4 °C and shivering; Karl, her clinician, who reads Swedish."""
    centre = CentreFactory(name="Uppsala Transplant Centre")
    pia = PatientFactory(centre=centre, first_name="Pia", last_name="Holmgren", hospital_number="U123456")
    transplant(pia, patient_today(pia) - timedelta(days=5), mobilised_days_before=35, collected_days_before=25)
    karl = UserFactory(username="karl", first_name="Karl", role=Role.CLINICIAN, centres=[centre], password=PASSWORD)
    karl.language = "sv"
    karl.save(update_fields=["language"])
    outcome = record_symptom_report(
        context=AuditContext.system("tests"),
        patient=pia,
        recorded_at=timezone.now() - timedelta(minutes=20),
        temperature_c="38.4",
        symptoms={"chills": 2},
    )
    record_eligibility_review(
        context=AuditContext.system("tests"),
        patient=pia,
        decided_by=karl,
        decided_on=patient_today(pia) - timedelta(days=120),
        decision="eligible",
        relapsing_with_breakthrough=True,
        edss=Decimal("3.5"),
    )
    return {"pia": pia, "karl": karl, "alert": outcome.alert}


def test_the_alert_and_the_eligibility_pages_in_swedish(page, live_server, cast):
    open_login(page)
    sign_in(page, "karl", PASSWORD)
    page.goto(f"/alerts/{cast['alert'].uuid}/")
    reason = page.get_by_test_id("alert-reason")
    expect(reason).to_contain_text("Temperatur 38,4 °C dag +5 (aplasi), i högriskperioden (ännu inte engraftad)")
    expect(reason).to_contain_text("Varningstecken: temperatur 38,4 °C med frossa eller skakningar graderat 2")
    expect(reason).not_to_contain_text("Temperature")
    expect(page.locator("main")).to_contain_text("Frossa eller skakningar 2/4")  # the report behind it
    screenshot(page, "i18n-alert-sv")

    page.goto(f"/patients/{cast['pia'].uuid}/eligibility/")
    expect(page.get_by_test_id("criteria")).to_contain_text("EDSS högst 5,5")
    expect(page.get_by_test_id("criteria")).to_contain_text("Skovvis MS med genombrottsaktivitet")
    expect(page.get_by_test_id("review-criteria")).to_contain_text("Ålder")
    screenshot(page, "i18n-eligibility-sv")


def test_the_queue_s_refresh_time_stays_in_the_centre_s_zone_with_its_name(browser, live_server, screenshot_tabs, cast):
    """The browser is in New York (07:00); the page says 13:00 CET, as the server wrote it, before and after the
    queue refreshes (the script no longer rewrites it into the browser's zone without a name)."""
    context = browser.new_context(base_url=live_server.url, timezone_id="America/New_York", **VIEWPORTS["desktop"])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    try:
        open_login(page)
        sign_in(page, "karl", PASSWORD)
        expect(page.get_by_test_id("queue-row")).to_have_count(1)
        page.wait_for_function("() => window.htmx !== undefined")
        assert page.evaluate("new Date().getTimezoneOffset()") == 300  # the browser's clock is in New York
        stamp = page.locator("#alert-queue .rt-updated")
        assert re.fullmatch(r"13:\d\d CET", stamp.text_content())
        page.evaluate(
            "document.getElementById('alert-queue').dataset.stale = 'yes';"
            "htmx.ajax('GET', document.getElementById('alert-queue').getAttribute('hx-get'),"
            " {target: '#alert-queue', swap: 'outerHTML'})"
        )
        page.wait_for_function("() => document.getElementById('alert-queue').dataset.stale === undefined")
        assert re.fullmatch(r"13:\d\d CET", page.locator("#alert-queue .rt-updated").text_content())
        expect(page.get_by_test_id("queue-reason")).to_contain_text("Temperatur 38,4 °C dag +5")
        screenshot(page, "i18n-dashboard-sv")
    finally:
        context.close()
