"""Worklists that show what is actionable (issue 16 item 7): the patient list's default, overdue only while
actionable, vaccinations due from open plans, inbox links from SITE_URL and reminders answered by a report, and
the next step after Day 0 is saved without a regimen."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from recovery import access
from recovery.clinical.timeline import DisplayStatus, EventKind, EventStatus
from recovery.models import Channel, Notification, NotificationKind, ProtocolTemplate, TimelineEvent
from recovery.queries.vaccinations import doses_due
from recovery.queries.workspace import filter_patients, still_followed, workspace
from recovery.services.audit import AuditContext
from recovery.services.reminders.dispatch import dispatch_due
from recovery.services.symptoms import record_symptom_report
from recovery.services.vaccination_plans import rebuild_vaccination_plans
from tests.factories import PatientFactory, transplant

NOON = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
TODAY = NOON.date()


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOON, tick=False)


def _text(response) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


# --- 1. the patient list: those still followed by default ------------------------------------------------------


def test_the_list_shows_patients_in_follow_up_and_hides_finished_follow_up_behind_a_filter(
    client_for, coordinator, centre, now
):
    """Transplanted in 2004 (the historical cohort): not listed by default, listed with ?finished=1; a patient
    before Day 0 and one in follow-up are listed either way."""
    historical = PatientFactory(centre=centre, last_name="Historical")
    transplant(historical, date(2004, 3, 1), engrafted=date(2004, 3, 12))
    recent = PatientFactory(centre=centre, last_name="Recent")
    transplant(recent, TODAY - timedelta(days=40), engrafted=TODAY - timedelta(days=29))
    PatientFactory(centre=centre, last_name="Waiting")
    client = client_for(coordinator)

    default = _text(client.get(reverse("recovery:patient-list")))
    assert "Recent" in default
    assert "Waiting" in default
    assert "Historical" not in default
    assert "have finished follow-up and are not shown" in default
    everyone = _text(client.get(reverse("recovery:patient-list"), {"finished": "1"}))
    assert all(name in everyone for name in ("Historical", "Recent", "Waiting"))
    assert "are not shown" not in everyone
    # a search for a finished patient says where to look
    searched = client.get(reverse("recovery:patient-list"), {"q": "Historical"}).content.decode()
    assert "No patient matches these filters" in searched
    assert "q=Historical&amp;finished=1" in searched


def test_the_boundary_of_follow_up_is_the_one_the_reminders_and_vaccinations_use(coordinator, centre, now):
    """The list's default keeps exactly the patients whose follow-up has not ended (clinical/follow_up.py)."""
    visible = access.visible_patients(coordinator)
    finished = PatientFactory(centre=centre, last_name="Finished")
    followed = PatientFactory(centre=centre, last_name="Followed")
    cutoff = still_followed(visible, access.staff_centre_ids(coordinator)).followed_from
    assert cutoff == doses_due(visible).follow_up_from  # the same day the vaccinations list says
    assert date(2016, 10, 1) < cutoff < date(2017, 3, 15)
    transplant(finished, cutoff - timedelta(days=1), engrafted=cutoff + timedelta(days=10))
    transplant(followed, cutoff, engrafted=cutoff + timedelta(days=10))
    listed = set(still_followed(visible, access.staff_centre_ids(coordinator)).patients)
    assert followed in listed
    assert finished not in listed


@pytest.mark.parametrize("query", [{}, {"finished": "1"}, {"finished": "1", "attention": "1", "phase": "follow_up"}])
def test_the_list_makes_the_same_queries_for_2_and_40_patients(client_for, coordinator, centre, now, query):
    """Whatever the filters, the number of queries does not grow with the patients."""
    client = client_for(coordinator)
    counts = []
    for count in (2, 40):
        for i in range(centre.patients.count(), count):
            patient = PatientFactory(centre=centre, last_name=f"Many{i:02d}")
            # one in follow-up (Day +800, a year-2 visit overdue), one finished, then Day 0s from 2005 to 2026
            day0 = (
                [TODAY - timedelta(days=800), date(2005, 1, 1)][i]
                if i < 2
                else date(2005, 1, 1) + timedelta(days=(397 * i) % 7900)
            )
            transplant(patient, day0, engrafted=min(day0 + timedelta(days=11), TODAY))
        client.get(reverse("recovery:patient-list"), query)
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("recovery:patient-list"), query)
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


# --- 2. overdue only while actionable -------------------------------------------------------------------------


def test_conditioning_long_past_is_not_recorded_not_overdue_on_the_patients_page(client_for, coordinator, centre, now):
    """Day +200 with nothing recorded: the conditioning days and the Day 0 reinfusion are not overdue (they are
    listed, neutrally, as passed without a record); the month-6 visit of 18 days ago is overdue."""
    patient = PatientFactory(centre=centre)
    transplant(patient, TODAY - timedelta(days=200), engrafted=TODAY - timedelta(days=189))
    context = workspace(patient)
    overdue = {v.event.kind for v in context["overdue"]}
    not_recorded = {v.event.kind for v in context["not_recorded"]}
    assert EventKind.CHEMOTHERAPY not in overdue
    assert EventKind.CHEMOTHERAPY in not_recorded
    assert EventKind.PROCEDURE in not_recorded
    assert any(v.event.template_key == "visit-m6" for v in context["overdue"])
    assert all(v.event.planned_date >= TODAY - timedelta(days=90) for v in context["overdue"])
    page = client_for(coordinator).get(reverse("recovery:patient-detail", args=[patient.uuid])).content.decode()
    assert 'data-testid="not-recorded"' in page
    assert "not recorded" in page
    overdue_block = page.split('data-testid="overdue"')[1].split("</ul>")[0]
    assert "Conditioning" not in overdue_block


def test_the_lists_count_only_actionable_overdue_events(client_for, coordinator, centre, now):
    """The list's count, ?attention=1 and This week agree with the patient's page: a patient whose only past
    unrecorded events are conditioning days does not need attention; a missed visit within the window does."""
    conditioned = PatientFactory(centre=centre, last_name="Conditioned")
    transplant(conditioned, TODAY - timedelta(days=2))  # conditioning days passed, Day 0 two days ago
    TimelineEvent.objects.filter(episode__patient=conditioned, kind=EventKind.MEDICATION_START).update(status="done")
    missed = PatientFactory(centre=centre, last_name="Missed")
    transplant(missed, TODAY - timedelta(days=2))
    TimelineEvent.objects.filter(episode__patient=missed, kind=EventKind.MEDICATION_START).update(status="done")
    event = TimelineEvent.objects.filter(episode__patient=missed).first()
    TimelineEvent.objects.create(
        episode=event.episode, kind=EventKind.VISIT, title="Clinic visit", planned_date=TODAY - timedelta(days=5)
    )
    client = client_for(coordinator)
    attention = _text(client.get(reverse("recovery:patient-list"), {"attention": "1"}))
    assert "Missed" in attention
    assert "Conditioned" not in attention
    assert set(filter_patients(access.visible_patients(coordinator), needs_attention=True)) == {missed}
    week = client.get(reverse("recovery:this-week")).content.decode()
    assert "Clinic visit" in week
    assert "Conditioning:" not in week


def test_a_centre_that_widens_the_window_sees_older_events_overdue(centre, now):
    """The window comes from the centre's configuration."""
    from recovery.models import CentreConfiguration

    patient = PatientFactory(centre=centre)
    transplant(patient, TODAY - timedelta(days=200), engrafted=TODAY - timedelta(days=189))
    old_visit = "visit-d100"  # 100 days ago: past the default 90-day window
    assert old_visit not in {v.event.template_key for v in workspace(patient)["overdue"]}
    CentreConfiguration.objects.create(centre=centre, version=1, values={"transplant": {"overdue_window_days": 365}})
    assert old_visit in {v.event.template_key for v in workspace(patient)["overdue"]}


def test_the_api_says_not_recorded_for_past_conditioning(api_for, coordinator, centre, now):
    patient = PatientFactory(centre=centre)
    transplant(patient, TODAY - timedelta(days=200), engrafted=TODAY - timedelta(days=189))
    events = api_for(coordinator).get(f"/api/v1/patients/{patient.uuid}/timeline/").json()["events"]
    statuses = {e["status"] for e in events if e["kind"] == EventKind.CHEMOTHERAPY}
    assert statuses == {DisplayStatus.NOT_RECORDED}


# --- 3. vaccinations due: open plans only ------------------------------------------------------------------------


@pytest.mark.parametrize("stored", [True, False], ids=["stored", "live"])
def test_a_patient_transplanted_in_2004_does_not_lead_the_vaccinations_due(
    client_for, coordinator, centre, now, stored
):
    """Every dose unrecorded since 2004 would make them the most overdue; their follow-up has ended, so the list
    leads with the patient whose plan is open."""
    old = PatientFactory(centre=centre, last_name="Twothousandfour")
    transplant(old, date(2004, 5, 1), engrafted=date(2004, 5, 12))
    open_plan = PatientFactory(centre=centre, last_name="Openplan")
    transplant(open_plan, TODAY - timedelta(days=200), engrafted=TODAY - timedelta(days=189))
    if stored:
        rebuild_vaccination_plans()
    rows = list(doses_due(access.visible_patients(coordinator)))
    assert [row.patient for row in rows] == [open_plan]
    html = client_for(coordinator).get(reverse("recovery:vaccinations-due")).content.decode()
    assert "Openplan" in html
    assert "Twothousandfour" not in html


# --- 4. the inbox: absolute links from SITE_URL; reminders answered by a report ---------------------------------

PLANNED_AT = datetime(2026, 11, 19, 6, 0, tzinfo=UTC)  # 07:00 in Stockholm, Day +3


@pytest.fixture
def reminded(patient, coordinator, time_machine):
    """Pia on Day +3 missed the 08:00 check-in: the reminders and the missed-check-in message are in her inbox."""
    time_machine.move_to(PLANNED_AT, tick=False)
    transplant(patient, date(2026, 11, 16))
    time_machine.move_to(PLANNED_AT + timedelta(hours=6), tick=False)
    dispatch_due()
    return patient


def test_inbox_links_are_absolute_links_on_site_url(client_for, reminded, coordinator, settings):
    """Each message links to its page on SITE_URL, and addresses in its text are links too, never localhost."""
    settings.SITE_URL = "https://recovery.example.se/"
    for user in (reminded.user, coordinator):
        page = client_for(user).get(reverse("recovery:inbox")).content.decode()
        links = re.findall(r'<a href="([^"]+)" data-testid="inbox-link"', page)
        assert links
        assert all(link.startswith("https://recovery.example.se/") for link in links), links
        assert "localhost" not in page
    page = client_for(reminded.user).get(reverse("recovery:inbox")).content.decode()
    assert f'href="https://recovery.example.se{reverse("recovery:temperature")}"' in page


def test_a_temperature_report_marks_the_reminders_answered_and_read(client_for, reminded, coordinator):
    """After Pia reports, her check-in reminders and the missed-check-in message are no longer unread; they
    say answered. Staff's own messages stay as they were."""
    client = client_for(reminded.user)
    assert 'data-testid="unread"' in client.get(reverse("recovery:inbox")).content.decode()
    staff_unread = Notification.objects.filter(recipient=coordinator, read_at__isnull=True).count()
    record_symptom_report(
        context=AuditContext(actor=reminded.user), patient=reminded, recorded_at=timezone.now(), temperature_c="36.8"
    )
    mine = Notification.objects.filter(recipient=reminded.user, channel=Channel.IN_APP, status="sent")
    assert mine.exists()
    assert not mine.filter(read_at__isnull=True).exists()
    page = client.get(reverse("recovery:inbox")).content.decode()
    assert 'data-testid="unread"' not in page
    assert 'data-testid="answered"' in page
    assert Notification.objects.filter(recipient=coordinator, read_at__isnull=True).count() == staff_unread


def test_a_report_leaves_later_reminders_unread(reminded, time_machine):
    """Only what was delivered before the report is answered by it: the next reminder is new."""
    record_symptom_report(
        context=AuditContext(actor=reminded.user), patient=reminded, recorded_at=timezone.now(), temperature_c="36.8"
    )
    time_machine.move_to(PLANNED_AT + timedelta(hours=13), tick=False)
    dispatch_due()
    later = Notification.objects.filter(
        recipient=reminded.user, channel=Channel.IN_APP, status="sent", sent_at__gt=PLANNED_AT + timedelta(hours=7)
    )
    assert later.filter(kind=NotificationKind.TEMPERATURE_CHECKIN).exists()
    assert later.filter(read_at__isnull=True).exists()


# --- 5. Day 0 saved without a regimen: the next step ------------------------------------------------------------


def test_saving_day0_without_a_regimen_says_to_choose_one_with_a_link(client_for, coordinator, patient, now):
    form = {"reinfusion_date": "2026-12-10", "conditioning_start_date": "2026-12-05"}
    response = client_for(coordinator).post(reverse("recovery:episode-edit", args=[patient.uuid]), form, follow=True)
    text = _text(response)
    assert "No regimen is chosen yet, so nothing is planned on the timeline" in text
    assert "0 events added" not in text
    edit = reverse("recovery:episode-edit", args=[patient.uuid])
    assert f'<a href="{edit}#id_protocol">Choose the regimen (protocol)</a>' in response.content.decode()


def test_saving_with_a_regimen_says_what_the_timeline_gained(client_for, coordinator, patient, now):
    form = {
        "protocol": ProtocolTemplate.objects.get(code="cy_atg").pk,
        "reinfusion_date": "2026-12-10",
        "conditioning_start_date": "2026-12-05",
    }
    response = client_for(coordinator).post(reverse("recovery:episode-edit", args=[patient.uuid]), form, follow=True)
    added = TimelineEvent.objects.filter(episode__patient=patient, status=EventStatus.PLANNED).count()
    assert added > 0
    assert f"Saved. Timeline: {added} events added, 0 moved, 0 removed." in _text(response)
    assert "No regimen" not in _text(response)
