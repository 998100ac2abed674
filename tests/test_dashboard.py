"""The clinician's dashboard: the triage queue, acknowledging and resolving, the high-risk list, the alert burden,
and the per-patient review, each in a number of queries that does not grow with the number of patients.

"Now" is fixed with time_machine at Wednesday 18 November 2026, 12:00 UTC (13:00 in Stockholm, where the cast's
centre and patients are). Reports and alerts are made through the real service, `record_symptom_report`.
"""

import re
from datetime import date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from recovery import access
from recovery.models import Alert, AlertEvent, AlertStatus, AuditEvent, ProtocolTemplate
from recovery.queries.dashboard import alert_burden, duration_text, high_risk_patients
from recovery.services.alerts import acknowledge_alert
from recovery.services.audit import AuditContext
from recovery.services.symptoms import record_symptom_report
from recovery.services.timeline import save_episode
from tests.factories import PatientFactory, UserFactory

NOW = datetime.fromisoformat("2026-11-18T12:00:00+00:00")
TODAY = date(2026, 11, 18)  # in Stockholm too, at noon UTC
SYSTEM = AuditContext.system("tests")


@pytest.fixture
def clock(time_machine):
    """Move "now" to `at` (default NOW); returns the mover so a test can step through time."""

    def move(at: datetime = NOW):
        time_machine.move_to(at, tick=False)

    move()
    return move


def _episode(patient, day0: date, engrafted: date | None = None):
    return save_episode(
        context=SYSTEM,
        patient=patient,
        fields={
            "protocol": ProtocolTemplate.objects.get(code="cy_atg"),
            "mobilisation_date": day0 - timedelta(days=30),
            "apheresis_date": day0 - timedelta(days=20),
            "conditioning_start_date": day0 - timedelta(days=5),
            "reinfusion_date": day0,
            "neutrophil_engraftment_date": engrafted,
        },
    ).episode


def _report(patient, **fields) -> Alert | None:
    """A report taken now, through the real service; returns the alert it opened or updated."""
    return record_symptom_report(context=SYSTEM, patient=patient, recorded_at=timezone.now(), **fields).alert


def _queue_html(client) -> str:
    response = client.get(reverse("recovery:alert-queue"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    return response.content.decode()


def _queue_names(html: str) -> list[str]:
    return re.findall(r'data-testid="queue-patient">([^<]+)</a>', html)


def _section(html: str, testid: str) -> str:
    """The markup of the <section data-testid=...> (up to its closing tag; sections are not nested)."""
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</section>", start)]


# --- the queue -------------------------------------------------------------------------------------------------


def test_queue_puts_urgent_before_same_day_before_routine_and_older_first(client_for, clinician, centre, clock):
    """Most severe first; within a severity the alert waiting longest comes first."""
    arrivals = [
        ("Routine", {"symptoms": {"nausea": 1}}),
        ("SameDayOld", {"symptoms": {"nausea": 3}}),
        ("UrgentOld", {"symptoms": {"bleeding": 3}}),
        ("UrgentNew", {"symptoms": {"bleeding": 3}}),
        ("SameDayNew", {"symptoms": {"nausea": 3}}),
    ]
    for minutes, (name, report) in enumerate(arrivals):
        clock(NOW - timedelta(minutes=50 - 10 * minutes))
        _report(PatientFactory(centre=centre, last_name=name, first_name="Test"), **report)
    clock()

    names = _queue_names(_queue_html(client_for(clinician)))

    assert names == ["UrgentOld, Test", "UrgentNew, Test", "SameDayOld, Test", "SameDayNew, Test", "Routine, Test"]


def test_queue_shows_waiting_time_and_time_to_target(client_for, clinician, patient, clock):
    """An urgent alert must be acknowledged within 60 minutes: 40 min left after 20, overdue by 5 min after 65."""
    clock(NOW - timedelta(minutes=20))
    _report(patient, symptoms={"bleeding": 3})
    clock()
    html = _queue_html(client_for(clinician))
    assert re.search(r'data-testid="waiting">20 min<', html)
    assert "40 min left" in html
    assert "overdue" not in html

    clock(NOW + timedelta(minutes=45))
    html = _queue_html(client_for(clinician))
    assert re.search(r'data-testid="waiting">1 h 5 min<', html)
    target = re.search(r'<div data-testid="target"[^>]*class="([^"]*)"[^>]*>(.*?)</div>', html, re.S)
    assert "text-danger" in target.group(1)
    assert "overdue by 5 min" in target.group(2)


def test_duration_words():
    assert duration_text(timedelta(seconds=30)) == "under 1 min"
    assert duration_text(timedelta(minutes=12)) == "12 min"
    assert duration_text(timedelta(minutes=-5)) == "5 min"
    assert duration_text(timedelta(hours=3)) == "3 h"
    assert duration_text(timedelta(hours=3, minutes=5)) == "3 h 5 min"
    assert duration_text(timedelta(days=2, hours=4, minutes=59)) == "2 d 4 h"


def test_queue_rows_show_flags_and_actions(client_for, clinician, patient, clock):
    """A fever in aplasia meeting the IDSA definition is flagged; each row links the patient's review and the
    alert, and has Acknowledge (a POST form with a CSRF token) and Resolve."""
    _episode(patient, TODAY - timedelta(days=5))
    alert = _report(patient, temperature_c="38.5")
    assert alert.neutropenic_fever

    html = _queue_html(client_for(clinician))

    assert 'data-testid="flag-neutropenic"' in html
    assert reverse("recovery:patient-review", args=[patient.uuid]) in html
    assert reverse("recovery:alert-detail", args=[alert.uuid]) in html
    form = re.search(r'<form method="post" action="([^"]+)">(.*?)</form>', html, re.S)
    assert form.group(1) == reverse("recovery:alert-acknowledge", args=[alert.uuid])
    assert "csrfmiddlewaretoken" in form.group(2)
    assert reverse("recovery:alert-resolve", args=[alert.uuid]) in html
    assert "Temperature 38.5 °C on Day +5 (aplasia)" in html  # the reason's first line


def test_resolved_alerts_leave_the_queue_and_the_dashboard_polls_it(client_for, clinician, patient, clock):
    alert = _report(patient, symptoms={"nausea": 3})
    client = client_for(clinician)
    html = client.get(reverse("recovery:dashboard")).content.decode()
    assert 'hx-get="/alerts/queue/"' in html
    assert 'hx-trigger="every 30s"' in html
    assert "vendor/htmx/htmx.min.js" in html
    assert "Holmgren, Pia" in _queue_html(client)

    client.post(reverse("recovery:alert-resolve", args=[alert.uuid]), {"action": "advice"})

    html = _queue_html(client)
    assert 'data-testid="queue-empty"' in html
    assert _queue_names(html) == []


def test_a_plain_visit_to_the_queue_gets_a_whole_page(client_for, clinician, patient, clock):
    _report(patient, symptoms={"nausea": 3})
    html = client_for(clinician).get(reverse("recovery:alert-queue")).content.decode()
    assert "<html" in html
    assert "Holmgren, Pia" in html


def test_the_queue_s_updated_time_is_in_the_staff_s_zone_and_says_which(client_for, clinician, clock):
    """Noon UTC is 13:00 in the centre's Stockholm, and the label names that zone, not UTC."""
    html = _queue_html(client_for(clinician))
    updated = re.search(r'<time class="rt-updated" datetime="([^"]+)">([^<]+)</time>', html)
    assert updated.group(2) == "13:00 CET"
    assert updated.group(1).startswith("2026-11-18T13:00:00+01:00")


def test_the_dashboard_says_so_when_there_is_nothing(client_for, clinician, clock):
    html = client_for(clinician).get(reverse("recovery:dashboard")).content.decode()
    assert 'data-testid="queue-empty"' in html
    assert 'data-testid="high-risk-empty"' in html
    assert 'data-testid="burden-empty"' in html


# --- acknowledging and resolving -------------------------------------------------------------------------------


def test_acknowledge_through_the_page(client_for, clinician, patient, clock):
    """GET shows a confirm page; POST acknowledges, writes history and goes back to the dashboard."""
    alert = _report(patient, symptoms={"bleeding": 3})
    client = client_for(clinician)
    url = reverse("recovery:alert-acknowledge", args=[alert.uuid])

    page = client.get(url)
    assert page.status_code == 200
    assert "Acknowledge this alert" in page.content.decode()
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN

    response = client.post(url, {"next": reverse("recovery:dashboard")})

    assert response.status_code == 302
    assert response["Location"] == reverse("recovery:dashboard")
    alert.refresh_from_db()
    assert alert.status == AlertStatus.ACKNOWLEDGED
    assert alert.acknowledged_by == clinician
    history = list(alert.history.values_list("action", "actor"))
    assert history == [("raised", None), ("acknowledged", clinician.pk)]
    followed = client.get(response["Location"]).content.decode()
    assert "Alert for Pia Holmgren acknowledged." in followed


def test_next_must_be_a_local_url(client_for, clinician, patient, clock):
    alert = _report(patient, symptoms={"bleeding": 3})
    client = client_for(clinician)
    url = reverse("recovery:alert-acknowledge", args=[alert.uuid])
    response = client.post(url, {"next": "https://evil.example.org/"})
    assert response["Location"] == reverse("recovery:dashboard")
    detail = reverse("recovery:alert-detail", args=[alert.uuid])
    response = client.post(url, {"next": detail})
    assert response["Location"] == detail


def test_resolve_needs_an_action_and_other_needs_a_note(client_for, clinician, patient, clock):
    """Mistakes are shown on the form and what was typed is kept; a good answer resolves the alert."""
    alert = _report(patient, symptoms={"nausea": 3})
    client = client_for(clinician)
    url = reverse("recovery:alert-resolve", args=[alert.uuid])
    form = client.get(url)
    assert form.status_code == 200
    assert 'name="action"' in form.content.decode()

    no_action = client.post(url, {"note": "Spoke to her husband at 14:10"})
    assert no_action.status_code == 200
    html = no_action.content.decode()
    assert "Choose what was done." in html
    assert "Spoke to her husband at 14:10" in html  # kept

    other = client.post(url, {"action": "other", "note": "   "})
    assert other.status_code == 200
    html = other.content.decode()
    assert "Say what was done." in html
    assert re.search(r'value="other" checked', html)
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN

    done = client.post(url, {"action": "other", "note": "Booked in the day unit tomorrow", "next": "/dashboard/"})

    assert done.status_code == 302
    assert done["Location"] == "/dashboard/"
    alert.refresh_from_db()
    assert alert.status == AlertStatus.RESOLVED
    assert alert.resolution == "other"
    assert alert.resolution_note == "Booked in the day unit tomorrow"
    assert alert.resolved_by == clinician
    assert list(alert.history.values_list("action", flat=True)) == ["raised", "resolved"]


def test_resolving_a_resolved_alert_says_so(client_for, clinician, patient, clock):
    alert = _report(patient, symptoms={"nausea": 3})
    client = client_for(clinician)
    url = reverse("recovery:alert-resolve", args=[alert.uuid])
    client.post(url, {"action": "advice"})
    assert "This alert was resolved" in client.get(url).content.decode()
    again = client.post(url, {"action": "seen"})
    assert again.status_code == 200
    assert "This alert is already resolved." in again.content.decode()
    assert AlertEvent.objects.filter(alert=alert, action="resolved").count() == 1


def test_alert_detail_shows_history_reports_and_day(client_for, clinician, patient, clock):
    _episode(patient, TODAY - timedelta(days=5))
    clock(NOW - timedelta(minutes=90))
    _report(patient, temperature_c="38.1")
    clock(NOW - timedelta(minutes=30))
    alert = _report(patient, temperature_c="38.4", symptoms={"chills": 2})
    acknowledge_alert(context=AuditContext(actor=clinician), alert=alert)
    clock()

    response = client_for(clinician).get(reverse("recovery:alert-detail", args=[alert.uuid]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Day +5" in html
    actions = re.findall(r'data-testid="history-row" data-action="(\w+)"', html)
    assert actions == ["raised", "updated", "acknowledged"]  # the second fever updated the first one's alert
    acknowledged = re.search(r'data-action="acknowledged">(.*?)</li>', html, re.S).group(1)
    assert clinician.display_name in acknowledged  # who acknowledged it (the navbar also names the viewer)
    assert "38.1 °C" in html
    assert AuditEvent.objects.filter(action="alert.view", patient=patient, actor=clinician).exists()


# --- who may see what -----------------------------------------------------------------------------------------


def test_another_centres_alert_does_not_exist(client_for, clinician, other_centre_patient, clock):
    alert = _report(other_centre_patient, symptoms={"bleeding": 3})
    client = client_for(clinician)
    for name in ("recovery:alert-detail", "recovery:alert-acknowledge", "recovery:alert-resolve"):
        assert client.get(reverse(name, args=[alert.uuid])).status_code == 404
    assert client.post(reverse("recovery:alert-acknowledge", args=[alert.uuid])).status_code == 404
    assert client.post(reverse("recovery:alert-resolve", args=[alert.uuid]), {"action": "advice"}).status_code == 404
    alert.refresh_from_db()
    assert alert.status == AlertStatus.OPEN
    assert "Ek, Bo" not in _queue_html(client)


def test_a_patient_may_not_see_the_dashboard_or_their_own_alert(client_for, patient, clock):
    alert = _report(patient, symptoms={"bleeding": 3})
    client = client_for(patient.user)
    assert client.get(reverse("recovery:dashboard")).status_code == 403
    assert client.get(reverse("recovery:alert-queue")).status_code == 403
    assert client.get(reverse("recovery:alert-detail", args=[alert.uuid])).status_code == 403
    assert client.post(reverse("recovery:alert-acknowledge", args=[alert.uuid])).status_code == 403
    assert client.get(reverse("recovery:patient-review", args=[patient.uuid])).status_code == 403


def test_dashboard_reads_are_audited(client_for, clinician, patient, other_patient, clock):
    _report(patient, symptoms={"nausea": 3})
    _episode(other_patient, TODAY - timedelta(days=3))
    client_for(clinician).get(reverse("recovery:dashboard"))
    audited = set(AuditEvent.objects.filter(action="dashboard.view", actor=clinician).values_list("patient", flat=True))
    assert audited == {patient.pk, other_patient.pk}


# --- constant queries -----------------------------------------------------------------------------------------

# 14 today, of which the high-risk list 5 (time zones and centres, configurations, stale rows, the list, overdue events)
QUERY_BOUND = 16


@pytest.mark.parametrize("count", [2, 60])
def test_dashboard_and_queue_queries_do_not_grow_with_patients(
    client_for, clinician, centre, clock, count, django_assert_max_num_queries
):
    """Each patient is on Day +5 with a fever (an urgent alert): a queue row and a high-risk row each."""
    for i in range(count):
        patient = PatientFactory(centre=centre, last_name=f"Load{i:02d}")
        _episode(patient, TODAY - timedelta(days=5))
        _report(patient, temperature_c="38.6", symptoms={"nausea": 2})
    client = client_for(clinician)
    client.get(reverse("recovery:dashboard"))  # session and user loaded once, like any signed-in request

    with django_assert_max_num_queries(QUERY_BOUND):
        dashboard = client.get(reverse("recovery:dashboard"))
    with django_assert_max_num_queries(QUERY_BOUND):
        queue = client.get(reverse("recovery:alert-queue"), headers={"HX-Request": "true"})

    html = dashboard.content.decode()
    assert html.count('data-testid="queue-row"') == count
    assert html.count('data-testid="high-risk-row"') == count
    assert queue.content.decode().count('data-testid="queue-row"') == count


@pytest.mark.parametrize("reports", [1, 40])
def test_patient_review_queries_do_not_grow_with_reports(
    client_for, clinician, patient, clock, reports, django_assert_max_num_queries
):
    _episode(patient, TODAY - timedelta(days=10))
    for i in range(reports):
        clock(NOW - timedelta(hours=reports - i))
        _report(patient, temperature_c="37.2", symptoms={"fatigue": 1 + i % 3})
    clock()
    client = client_for(clinician)
    client.get(reverse("recovery:dashboard"))
    with django_assert_max_num_queries(12):  # 12 today: with a chart window, the table and open alerts are read apart
        response = client.get(reverse("recovery:patient-review", args=[patient.uuid]))
    assert response.status_code == 200


# --- patients at high infection risk ---------------------------------------------------------------------------


def test_high_risk_lists_patients_in_aplasia_with_their_latest_temperature(
    client_for, clinician, centre, patient, clock
):
    _episode(patient, TODAY - timedelta(days=5))  # Pia: Day +5, aplasia
    clock(NOW - timedelta(hours=6))
    _report(patient, temperature_c="37.1")
    clock(NOW - timedelta(hours=1))
    _report(patient, temperature_c="38.4")
    clock(NOW - timedelta(minutes=30))
    _report(patient, symptoms={"fatigue": 2})  # no temperature: the latest temperature is still 38.4
    clock()
    late = PatientFactory(centre=centre, last_name="Later", first_name="Lars")
    _episode(late, TODAY - timedelta(days=200), engrafted=TODAY - timedelta(days=188))
    _report(late, temperature_c="36.8")
    conditioning = PatientFactory(centre=centre, last_name="Conditioning", first_name="Cilla")
    _episode(conditioning, TODAY + timedelta(days=3))  # conditioning started two days ago: Day -3
    PatientFactory(centre=centre, last_name="Evaluated", first_name="Eva")

    html = client_for(clinician).get(reverse("recovery:dashboard")).content.decode()
    section = _section(html, "high-risk")

    rows = section.split('data-testid="high-risk-row"')[1:]
    assert len(rows) == 2
    pia = next(row for row in rows if "Holmgren, Pia" in row)
    assert "Day +5" in pia
    assert "38.4 °C" in pia
    assert "text-danger" in pia  # at or above the centre's fever threshold
    cilla = next(row for row in rows if "Conditioning, Cilla" in row)
    assert "Day -3" in cilla
    assert "No temperature reported" in cilla
    assert "Later" not in section
    assert "Evaluated" not in section
    assert section.index("Holmgren, Pia") < section.index("Conditioning, Cilla")  # a fever first


# --- alert burden ---------------------------------------------------------------------------------------------


@pytest.fixture
def burden_cast(centre, clinician, other_centre_patient, clock):
    """Alerts of the last 28 days at centre A:

    * Pia (Day +5): an urgent fever 2 h ago, acknowledged 10 min later (target 60 min): met.
    * Olle (no transplant): a same-day alert on Monday 12:00 UTC, due by 16:30 Stockholm that day, never
      acknowledged: missed.
    * Rut (no transplant): a routine alert an hour ago, due in 47 h: not counted yet.
    * Stig: an alert 40 days ago (outside the window) and nothing since: neither counted nor followed.
    * Ebba (Day +50, engrafted): no reports, but inside the Day +100 window: followed.
    * Lars (Day +200, engrafted): no reports: not followed.
    * Bo at centre B: an urgent alert, not the clinician's.
    """
    make = lambda last, first: PatientFactory(centre=centre, last_name=last, first_name=first)  # noqa: E731
    pia, olle, rut, stig = make("Holmgren", "Pia"), make("Berg", "Olle"), make("Lund", "Rut"), make("Ström", "Stig")
    ebba, lars = make("Ek", "Ebba"), make("Nilsson", "Lars")
    _episode(pia, TODAY - timedelta(days=5))
    _episode(ebba, TODAY - timedelta(days=50), engrafted=TODAY - timedelta(days=38))
    _episode(lars, TODAY - timedelta(days=200), engrafted=TODAY - timedelta(days=188))

    clock(NOW - timedelta(days=40))
    _report(stig, symptoms={"nausea": 1})
    clock(NOW - timedelta(days=2))  # Monday 12:00 UTC
    _report(olle, symptoms={"nausea": 3})
    clock(NOW - timedelta(hours=2))
    urgent = _report(pia, temperature_c="38.4")
    _report(other_centre_patient, symptoms={"bleeding": 3})
    clock(NOW - timedelta(hours=1, minutes=50))
    acknowledge_alert(context=AuditContext(actor=clinician), alert=urgent)
    clock(NOW - timedelta(hours=1))
    _report(rut, symptoms={"nausea": 1})
    clock()


def test_alert_burden_on_a_known_data_set(clinician, burden_cast):
    burden = alert_burden(access.visible_patients(clinician), access.visible_alerts(clinician), now=timezone.now())

    assert burden.patients_followed == 4  # Pia, Olle, Rut (reports) and Ebba (Day +50)
    assert burden.raised == 3
    assert burden.per_patient_week == pytest.approx(3 / (4 * 4))
    by = {s.severity: (s.raised, s.met, s.decided, s.percent) for s in burden.by_severity}
    assert by == {"urgent": (1, 1, 1, 100), "same_day": (1, 0, 1, 0), "routine": (1, 0, 0, None)}
    assert (burden.met, burden.decided, burden.percent) == (1, 2, 50)


def test_alert_burden_on_the_page(client_for, clinician, burden_cast):
    html = client_for(clinician).get(reverse("recovery:dashboard")).content.decode()
    section = _section(html, "burden")
    assert re.search(r'data-testid="per-patient-week">0\.19<', section)
    assert re.search(r'data-testid="within-target">50%<', section)
    assert re.search(r'data-testid="burden-urgent">.*?100%', section, re.S)
    assert "Alerts per patient-week = alerts raised" in section


def test_an_alert_reopened_by_a_worse_report_is_not_counted_as_acknowledged(clinician, patient, clock):
    """A fever before conditioning is same-day; acknowledged, then a fever in conditioning makes the same alert
    urgent and reopens it. Until someone acknowledges it again it is not "acknowledged within target"."""
    clock(NOW - timedelta(hours=3))
    alert = _report(patient, temperature_c="38.2")
    assert alert.severity == "same_day"
    acknowledge_alert(context=AuditContext(actor=clinician), alert=alert)
    _episode(patient, TODAY + timedelta(days=4))  # conditioning started yesterday
    clock(NOW - timedelta(minutes=30))
    reopened = _report(patient, temperature_c="38.5")
    clock()
    assert reopened.pk == alert.pk
    assert (reopened.severity, reopened.status) == ("urgent", AlertStatus.OPEN)

    burden = alert_burden(access.visible_patients(clinician), access.visible_alerts(clinician), now=timezone.now())

    assert (burden.raised, burden.met, burden.decided) == (1, 0, 0)


# --- the per-patient review -----------------------------------------------------------------------------------


def test_patient_review_charts_use_the_centres_fever_threshold(client_for, clinician, centre, patient, clock):
    from recovery.models import CentreConfiguration

    CentreConfiguration.objects.create(centre=centre, version=1, values={"triage": {"fever_c": 37.8}})
    _episode(patient, TODAY - timedelta(days=8))
    clock(NOW - timedelta(days=1))
    _report(patient, temperature_c="37.2", symptoms={"fatigue": 1})
    clock(NOW - timedelta(hours=2))
    _report(patient, temperature_c="37.9", symptoms={"fatigue": 2, "nausea": 0})
    clock()

    response = client_for(clinician).get(reverse("recovery:patient-review", args=[patient.uuid]))

    html = response.content.decode()
    data = response.context["chart"]
    assert data["fever_c"] == 37.8
    assert [p["y"] for p in data["temperature"]] == [37.2, 37.9]
    assert [s["code"] for s in data["symptoms"]] == ["fatigue"]  # nausea was never above 0
    assert [a["severity"] for a in data["alerts"]] == ["routine", "urgent"]  # 37.9 is a fever at this centre
    assert data["temperature"][0]["x"] == int((NOW - timedelta(days=1)).timestamp() * 1000)
    assert '<script id="review-data" type="application/json">' in html
    assert "vendor/chartjs/chart.umd.min.js" in html
    assert "cdn" not in html.lower()
    assert 'data-testid="report-table"' in html
    assert "Day +8" in html
    assert AuditEvent.objects.filter(action="patient.review", patient=patient, actor=clinician).exists()


def test_patient_review_without_reports(client_for, clinician, patient, clock):
    html = client_for(clinician).get(reverse("recovery:patient-review", args=[patient.uuid])).content.decode()
    assert "has not sent any report yet" in html
    assert "review-data" not in html


def test_another_centres_patient_review_is_404(client_for, clinician, other_centre_patient, clock):
    url = reverse("recovery:patient-review", args=[other_centre_patient.uuid])
    assert client_for(clinician).get(url).status_code == 404


def test_a_coordinator_sees_the_same_dashboard(client_for, centre, patient, clock):
    coordinator = UserFactory(username="cora2", role=Role.COORDINATOR, centres=[centre])
    _report(patient, symptoms={"nausea": 3})
    assert "Holmgren, Pia" in _queue_html(client_for(coordinator))


def test_high_risk_reads_only_patients_not_engrafted_yet_in_their_own_time_zone(clinician, centre, clock):
    """Aplasia lasts until engraftment is recorded, however long; engraftment on or before the patient's own
    today ends it, in the west a day later than in UTC."""
    clock(NOW + timedelta(hours=1))  # entered at 13:00 UTC, 03:00 on the 18th in Honolulu
    make = lambda last, tz="Europe/Stockholm": PatientFactory(centre=centre, last_name=last, timezone=tz)  # noqa: E731
    _episode(make("Never"), TODAY - timedelta(days=400))  # never engrafted: still in aplasia
    _episode(make("Today"), TODAY - timedelta(days=15), engrafted=TODAY)  # early recovery since this morning
    _episode(make("West", "Pacific/Honolulu"), TODAY - timedelta(days=15), engrafted=TODAY)  # not yet there
    _episode(make("Old"), TODAY - timedelta(days=400), engrafted=TODAY - timedelta(days=388))

    patients = access.visible_patients(clinician)

    clock(datetime.fromisoformat("2026-11-18T06:00:00+00:00"))  # 20:00 on the 17th in Honolulu
    assert sorted(row.patient.last_name for row in high_risk_patients(patients)) == ["Never", "West"]
    clock(NOW + timedelta(hours=1))
    assert [row.patient.last_name for row in high_risk_patients(patients)] == ["Never"]
