"""A fever on Day +5, from the patient's phone to the clinician's queue.

Pia, on Day +5 of a Cy/ATG transplant (aplasia), logs 38.4 °C on her temperature page and is told to call the unit
now. Karl, a clinician at her centre, opens the dashboard: her urgent alert is at the top of the triage queue, and
he acknowledges it. The queue also refreshes in place (htmx) without reloading the page. Until the alert is
resolved, Pia's home keeps it at the top, saying whether the team has seen it, then what was done.

Screenshots (phone and desktop): patient-fever-result, clinician-dashboard (the queue with Pia's alert),
clinician-dashboard-acknowledged, clinician-patient-review, clinician-alert-detail, clinician-alert-resolve and
patient-home-open-alert.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from recovery.models import Alert, AlertStatus
from recovery.queries.timeline import patient_today
from recovery.services.audit import AuditContext
from recovery.services.symptoms import record_symptom_report
from tests.e2e.conftest import charts_drawn, screenshot
from tests.e2e.test_login_per_role import PASSWORD, open_login, sign_in
from tests.factories import CentreFactory, PatientFactory, UserFactory, transplant

pytestmark = pytest.mark.e2e

UNIT_PHONE = "+46 18 611 00 00"


@pytest.fixture
def cast(transactional_db):
    """Pia on Day +5 (with a login), Olle with a routine alert already waiting, and Karl, their clinician."""
    centre = CentreFactory(name="Uppsala Transplant Centre", phone_24h=UNIT_PHONE)
    user = UserFactory(username="pia", first_name="Pia", role=Role.PATIENT, password=PASSWORD)
    pia = PatientFactory(user=user, centre=centre, first_name="Pia", last_name="Holmgren", hospital_number="U123456")
    day0 = patient_today(pia) - timedelta(days=5)
    transplant(pia, day0, mobilised_days_before=35, collected_days_before=25)
    olle = PatientFactory(centre=centre, first_name="Olle", last_name="Berg", hospital_number="U654321")
    record_symptom_report(
        context=AuditContext.system("tests"),
        patient=olle,
        recorded_at=timezone.now() - timedelta(hours=3),
        symptoms={"fatigue": 1, "nausea": 1},
    )
    karl = UserFactory(username="karl", first_name="Karl", role=Role.CLINICIAN, centres=[centre], password=PASSWORD)
    return {"pia": pia, "olle": olle, "karl": karl, "centre": centre}


def test_a_fever_on_day_5_reaches_the_top_of_the_clinicians_queue(page, phone, live_server, cast):
    # Pia logs her temperature on her phone.
    open_login(phone)
    sign_in(phone, "pia", PASSWORD)
    phone.goto("/my/temperature/")
    phone.get_by_label("Temperature").fill("38.4")
    phone.get_by_role("button", name="Save").click()

    expect(phone.get_by_role("heading", name="Call the unit now")).to_be_visible()
    expect(phone.get_by_text("38.4 °C")).to_be_visible()
    screenshot(phone, "patient-fever-result")
    alert = Alert.objects.get(patient=cast["pia"])
    assert (alert.severity, alert.status) == ("urgent", AlertStatus.OPEN)

    # Karl signs in and lands on the dashboard: Pia's urgent alert is first in the queue, Olle's routine one after.
    open_login(page)
    sign_in(page, "karl", PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    rows = page.get_by_test_id("queue-row")
    expect(rows).to_have_count(2)
    first = rows.first
    expect(first.get_by_test_id("queue-patient")).to_have_text("Holmgren, Pia")
    expect(first).to_contain_text("Urgent")
    expect(first).to_contain_text("Temperature 38.4 °C on Day +5 (aplasia)")
    expect(first.get_by_test_id("target")).to_contain_text(re.compile(r"\d+ min left"))
    expect(rows.nth(1).get_by_test_id("queue-patient")).to_have_text("Berg, Olle")
    high_risk = page.get_by_test_id("high-risk-row")
    expect(high_risk).to_have_count(1)
    expect(high_risk.first).to_contain_text("Day +5")
    expect(high_risk.first).to_contain_text("38.4 °C")
    screenshot(page, "clinician-dashboard")

    # He acknowledges it from the queue.
    first.get_by_role("button", name=re.compile("Acknowledge")).click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.get_by_role("alert").filter(has_text="Alert for Pia Holmgren acknowledged.")).to_be_visible()
    expect(page.get_by_test_id("queue-row").first.get_by_test_id("status")).to_contain_text("Acknowledged")
    expect(page.get_by_test_id("queue-row").first.get_by_test_id("target")).to_have_text("acknowledged in time")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.acknowledged_by == cast["karl"]
    assert list(alert.history.values_list("action", flat=True)) == ["raised", "acknowledged"]
    screenshot(page, "clinician-dashboard-acknowledged")


def test_the_queue_refreshes_in_place(page, live_server, cast):
    """A new alert appears when htmx fetches the queue, and the page itself is not reloaded."""
    open_login(page)
    sign_in(page, "karl", PASSWORD)
    expect(page.get_by_test_id("queue-row")).to_have_count(1)
    # The rows are in the DOM before the script at the page's end has run.
    page.wait_for_function("() => window.htmx !== undefined")
    page.evaluate("window.__notReloaded = true")

    record_symptom_report(
        context=AuditContext.system("tests"),
        patient=cast["pia"],
        recorded_at=timezone.now(),
        temperature_c="38.6",
    )
    # What the 30-second trigger does, without waiting for it.
    page.evaluate(
        "htmx.ajax('GET', document.getElementById('alert-queue').getAttribute('hx-get'),"
        " {target: '#alert-queue', swap: 'outerHTML'})"
    )

    expect(page.get_by_test_id("queue-row")).to_have_count(2)
    expect(page.get_by_test_id("queue-row").first).to_contain_text("Holmgren, Pia")
    assert page.evaluate("window.__notReloaded === true")
    assert page.get_by_test_id("alert-queue").get_attribute("hx-trigger") == "every 30s"


def test_the_clinicians_pages_about_the_alert(page, live_server, cast):
    """The patient review (charts), the alert's history and the resolve form, for the screenshots."""
    pia = cast["pia"]
    for hours, temperature in ((30, "37.0"), (20, "37.4"), (8, "38.1"), (1, "38.4")):
        record_symptom_report(
            context=AuditContext.system("tests"),
            patient=pia,
            recorded_at=timezone.now() - timedelta(hours=hours),
            temperature_c=temperature,
            symptoms={"fatigue": 2, "mouth_sores": 1 if hours < 10 else 0, "numbness": 1},
        )
    alert = Alert.objects.get(patient=pia, kind="fever")
    open_login(page)
    sign_in(page, "karl", PASSWORD)

    page.get_by_test_id("queue-row").first.get_by_test_id("queue-patient").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pia Holmgren")
    expect(page.locator("#temperature-chart")).to_be_visible()
    expect(page.locator("#symptom-chart")).to_be_visible()
    expect(page.locator("#alert-chart")).to_be_visible()
    expect(page.get_by_test_id("report-table").locator("tbody tr")).to_have_count(4)
    page.wait_for_function("() => window.Chart !== undefined && Chart.getChart('temperature-chart') !== undefined")
    assert page.evaluate("Chart.getChart('temperature-chart').data.datasets[1].data[0].y") == 38.0
    screenshot(page, "clinician-patient-review", then=charts_drawn)

    page.goto(f"/alerts/{alert.uuid}/")
    expect(page.get_by_test_id("history-row")).to_have_count(2)  # raised at 38.1, updated at 38.4
    screenshot(page, "clinician-alert-detail")

    def resolve_without_a_note(p):
        p.get_by_label("Other (see note)").check()
        p.get_by_role("button", name="Resolve").click()
        expect(p.get_by_test_id("note-error")).to_have_text(re.compile("Say what was done."))

    page.get_by_role("link", name="Resolve").click()
    resolve_without_a_note(page)
    screenshot(page, "clinician-alert-resolve", then=resolve_without_a_note)
    expect(page.get_by_label("Other (see note)")).to_be_checked()
    page.get_by_label("Note", exact=True).fill("Admitted to the ward via the day unit")
    page.get_by_role("button", name="Resolve").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/")
    expect(page.get_by_test_id("queue-row")).to_have_count(2)  # the routine alerts of Olle and Pia are left
    alert.refresh_from_db()
    assert (alert.status, alert.resolution) == (AlertStatus.RESOLVED, "other")


def test_shivering_without_a_thermometer_in_early_recovery_says_call_the_unit_now(phone, live_server, cast):
    """Sara, engrafted and on Day +20, has no thermometer to hand but is shivering: she is told to call now."""
    user = UserFactory(username="sara", first_name="Sara", role=Role.PATIENT, password=PASSWORD)
    sara = PatientFactory(user=user, centre=cast["centre"], first_name="Sara", last_name="Lind")
    day0 = patient_today(sara) - timedelta(days=20)
    transplant(sara, day0, engrafted=day0 + timedelta(days=12))
    open_login(phone)
    sign_in(phone, "sara", PASSWORD)
    phone.goto("/my/check-in/")
    screenshot(phone, "patient-check-in")
    phone.get_by_label("Shivering or shaking chills").check()
    phone.get_by_role("button", name="Continue").click()
    phone.get_by_role("radio", name=re.compile(r"^Mild")).check()
    phone.get_by_role("button", name="Continue").click()
    phone.get_by_role("button", name="Continue").click()  # no temperature: no thermometer to hand
    phone.get_by_role("button", name="Send to my team").click()

    expect(phone.get_by_role("heading", name="Call the unit now")).to_be_visible()
    expect(phone.get_by_test_id("call-now-button")).to_have_attribute("href", f"tel:{UNIT_PHONE}")
    alert = Alert.objects.get(patient=sara, kind="red_flag")
    assert (alert.severity, alert.rule) == ("urgent", "red_flag.symptom")
    report = sara.symptom_reports.get()
    assert (report.phase, report.day, report.temperature_c) == ("early_recovery", 20, None)
    screenshot(phone, "patient-shivering-call-now")


def test_a_fever_keeps_the_banner_on_the_patients_home_until_it_is_resolved(page, phone, live_server, cast):
    """Pia's fever stays at the top of her home: "not yet seen" with the unit's number, then "seen" once Karl
    acknowledges it (the alert page has tap-to-call links for her and her contact), then "Resolved: ..." in
    fixed words, never Karl's internal note."""
    pia = cast["pia"]
    pia.contact_name, pia.contact_phone = "Anders Holmgren", "+46709876543"
    pia.save()
    open_login(phone)
    sign_in(phone, "pia", PASSWORD)
    phone.goto("/my/temperature/")
    phone.get_by_label("Temperature").fill("38.4")
    phone.get_by_role("button", name="Save").click()
    expect(phone.get_by_role("heading", name="Call the unit now")).to_be_visible()
    phone.get_by_role("link", name="Back to my recovery").click()

    banner = phone.get_by_test_id("open-alert")
    expect(banner).to_have_count(1)
    expect(banner).to_have_attribute("data-state", "unseen")
    expect(banner.get_by_test_id("alert-state")).to_have_text("Your team has not yet seen this.")
    expect(banner.get_by_test_id("alert-call")).to_have_attribute("href", f"tel:{UNIT_PHONE}")
    screenshot(phone, "patient-home-open-alert")
    phone.reload()
    expect(phone.get_by_test_id("open-alert")).to_have_attribute("data-state", "unseen")

    # Karl opens the alert from Pia's page and acknowledges it; he can call her or her contact from there.
    alert = Alert.objects.get(patient=pia, kind="fever")
    open_login(page)
    sign_in(page, "karl", PASSWORD)
    page.goto(f"/patients/{pia.uuid}/")
    expect(page.get_by_test_id("open-alert")).to_have_count(1)
    expect(page.get_by_test_id("open-alert-state")).to_have_text("Not acknowledged")
    page.get_by_test_id("open-alert-link").click()
    expect(page).to_have_url(f"{live_server.url}/alerts/{alert.uuid}/")
    expect(page.get_by_test_id("call-patient")).to_have_attribute("href", f"tel:{pia.phone}")
    expect(page.get_by_test_id("call-contact")).to_have_attribute("href", "tel:+46709876543")
    expect(page.get_by_test_id("call-contact")).to_contain_text("Their contact person, Anders Holmgren")
    page.get_by_role("button", name="Acknowledge").click()

    phone.reload()
    banner = phone.get_by_test_id("open-alert")
    expect(banner).to_have_attribute("data-state", "seen")
    expect(banner.get_by_test_id("alert-state")).to_have_text(re.compile(r"Your team has seen this \(at \d\d:\d\d\)\."))

    # He resolves it with an internal note: Pia sees what was done in plain, fixed words.
    page.goto(f"/alerts/{alert.uuid}/resolve/")
    page.get_by_label("Admitted", exact=True).check()
    page.get_by_label("Note", exact=True).fill("Ward 40, bed 3; CRP 180")
    page.get_by_role("button", name="Resolve").click()
    expect(page).to_have_url(f"{live_server.url}/dashboard/")

    phone.reload()
    banner = phone.get_by_test_id("open-alert")
    expect(banner).to_have_attribute("data-state", "resolved")
    expect(banner.get_by_test_id("alert-heading")).to_have_text("Resolved: You were admitted to hospital.")
    expect(phone.get_by_text("CRP 180")).to_have_count(0)
