"""The patient's calendar subscription: creating and revoking its secret address, and the iCalendar feed itself."""

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from recovery.clinical.timeline import EventKind, EventStatus
from recovery.models import AuditEvent, ProtocolTemplate, TimelineEvent
from recovery.queries.calendar import FEED_KINDS, render_ics
from recovery.services.audit import AuditContext
from recovery.services.calendar import create_calendar_token, revoke_calendar_token
from recovery.services.timeline import change_event, save_episode

NOW = datetime(2024, 12, 1, 10, 0, tzinfo=UTC)
TODAY = date(2024, 12, 1)
MY_CALENDAR = reverse("recovery:my-calendar")
SYSTEM = AuditContext.system("tests")


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def episode(patient):
    """Pia on Day +9 of a Cy/ATG transplant, with the protocol's timeline generated."""
    day0 = TODAY - timedelta(days=9)
    fields = {
        "protocol": ProtocolTemplate.objects.get(code="cy_atg"),
        "mobilisation_date": day0 - timedelta(days=35),
        "apheresis_date": day0 - timedelta(days=25),
        "conditioning_start_date": day0 - timedelta(days=5),
        "reinfusion_date": day0,
    }
    return save_episode(context=SYSTEM, patient=patient, fields=fields).episode


def feed_url(token: str) -> str:
    return reverse("recovery:calendar-feed", args=[token])


def unfold(ics: str) -> list[str]:
    """The logical content lines of an iCalendar text (continuation lines joined back on)."""
    return ics.replace("\r\n ", "").split("\r\n")[:-1]


def vevents(ics: str) -> list[dict[str, str]]:
    events, current = [], None
    for line in unfold(ics):
        if line == "BEGIN:VEVENT":
            current = {}
        elif line == "END:VEVENT":
            events.append(current)
            current = None
        elif current is not None:
            name, _, value = line.partition(":")
            current[name] = value
    return events


def test_creating_an_address_shows_it_with_instructions_and_audits_it(client_for, patient):
    """Pressing create gives the patient an absolute feed address, plain instructions, and an audit row."""
    client = client_for(patient.user)
    response = client.post(MY_CALENDAR, {"action": "create"})
    assert response.status_code == 302
    assert response["Location"] == MY_CALENDAR
    patient.refresh_from_db()
    assert len(patient.calendar_token) >= 43
    content = client.get(MY_CALENDAR).content.decode()
    assert f'value="http://testserver/calendar/{patient.calendar_token}.ics"' in content
    assert f'href="webcal://testserver/calendar/{patient.calendar_token}.ics"' in content
    assert "iPhone" in content
    assert "Android" in content
    assert "Copy" in content
    event = AuditEvent.objects.get(action="calendar.create")
    assert (event.actor, event.patient) == (patient.user, patient)
    assert patient.calendar_token not in str(event.detail)


def test_without_an_address_the_page_offers_to_create_one(client_for, patient):
    """A patient who has no calendar address yet sees a button to create it, and no address."""
    content = client_for(patient.user).get(MY_CALENDAR).content.decode()
    assert "Create my calendar address" in content
    assert "testserver/calendar/" not in content
    assert ".ics" not in content


def test_a_new_address_replaces_the_old_one(client_for, patient, episode):
    """Making a new address stops the old one at once; the new one works."""
    old = create_calendar_token(patient)
    client = client_for(patient.user)
    client.post(MY_CALENDAR, {"action": "create"})
    patient.refresh_from_db()
    assert patient.calendar_token != old
    assert client.get(feed_url(old)).status_code == 404
    assert client.get(feed_url(patient.calendar_token)).status_code == 200
    assert AuditEvent.objects.get(action="calendar.create").detail == {"replaced": True}


def test_revoking_makes_the_old_url_404(client_for, patient, episode):
    """After "Stop my calendar" the old address answers 404 and the page offers to create a new one."""
    token = create_calendar_token(patient)
    client = client_for(patient.user)
    assert client.get(feed_url(token)).status_code == 200
    response = client.post(MY_CALENDAR, {"action": "revoke"})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.calendar_token is None
    assert client.get(feed_url(token)).status_code == 404
    assert AuditEvent.objects.filter(action="calendar.revoke", actor=patient.user, patient=patient).count() == 1
    assert "Create my calendar address" in client.get(MY_CALENDAR).content.decode()


def test_an_unknown_token_is_404_like_a_revoked_one(client, patient, episode):
    """A made-up, a revoked and an absurdly long token all get the same plain 404, and nothing is audited."""
    token = create_calendar_token(patient)
    revoke_calendar_token(patient)
    revoked = client.get(feed_url(token))
    unknown = client.get(feed_url("x" * 43))
    too_long = client.get(feed_url("y" * 500))
    assert revoked.status_code == unknown.status_code == too_long.status_code == 404
    # The page's only difference may be its language switch's fresh CSRF token.
    csrf = re.compile(rb'name="csrfmiddlewaretoken" value="[^"]*"')
    assert csrf.sub(b"", revoked.content) == csrf.sub(b"", unknown.content.replace(b"x" * 43, token.encode()))
    assert not AuditEvent.objects.filter(action="calendar.feed").exists()


def test_an_anonymous_client_can_fetch_the_feed(client, patient, episode):
    """No login is needed: the token is the credential. The fetch is audited with no actor, with ip and request id."""
    token = create_calendar_token(patient)
    response = client.get(feed_url(token), HTTP_X_REQUEST_ID="feed-req-1")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response.content.startswith(b"BEGIN:VCALENDAR\r\n")
    event = AuditEvent.objects.get(action="calendar.feed")
    assert event.actor is None
    assert event.actor_username == "calendar-feed"
    # the request id is the server's own, never the client's
    assert (event.patient, event.ip, event.request_id) == (patient, "127.0.0.1", response["X-Request-ID"])


def test_the_feed_is_valid_icalendar(client, patient, episode):
    """CRLF line endings, no line over 75 octets, VERSION and PRODID, one all-day VEVENT per appointment."""
    ics = client.get(feed_url(create_calendar_token(patient))).content.decode()
    assert "\n" not in ics.replace("\r\n", "")
    assert ics.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in ics.split("\r\n"))
    lines = unfold(ics)
    assert lines[0] == "BEGIN:VCALENDAR"
    assert "VERSION:2.0" in lines
    assert any(line.startswith("PRODID:") for line in lines)
    assert "X-WR-CALNAME:My recovery appointments" in lines
    assert lines.count("BEGIN:VEVENT") == lines.count("END:VEVENT") > 0
    for event in vevents(ics):
        assert re.fullmatch(r"[0-9a-f-]{36}@recovery-tracker", event["UID"])
        assert re.fullmatch(r"\d{8}T\d{6}Z", event["DTSTAMP"])
        assert re.fullmatch(r"\d{8}", event["DTSTART;VALUE=DATE"])
        assert event["SUMMARY"]
    assert patient.first_name not in ics
    assert patient.hospital_number not in ics


def test_only_appointments_that_matter_to_the_patient_are_in_the_feed(client, patient, episode):
    """Visits, labs, MRI, EDSS reviews, vaccinations and procedures; no chemotherapy, medicines or cancelled events."""
    visit = episode.events.get(template_key="visit-d30")
    change_event(context=SYSTEM, event=visit, action="cancel")
    ics = client.get(feed_url(create_calendar_token(patient))).content.decode()
    events = vevents(ics)
    summaries = {event["SUMMARY"] for event in events}
    assert "Clinic visit (Day +100)" in summaries
    assert "Stem cell reinfusion (Day 0)" in summaries
    assert "Brain MRI (month 12)" in summaries
    assert "Clinic visit (Day +30)" not in summaries
    assert not any(
        "Conditioning" in summary or "Aciclovir" in summary or "check-in" in summary for summary in summaries
    )
    expected = (
        TimelineEvent.objects.filter(episode=episode, kind__in=list(FEED_KINDS))
        .exclude(status=EventStatus.CANCELLED)
        .values_list("uuid", flat=True)
    )
    assert {event["UID"] for event in events} == {f"{uid}@recovery-tracker" for uid in expected}
    reinfusion = next(event for event in events if event["SUMMARY"] == "Stem cell reinfusion (Day 0)")
    assert reinfusion["DTSTART;VALUE=DATE"] == "20241122"
    assert reinfusion["DTEND;VALUE=DATE"] == "20241123"


def test_long_titles_are_folded_and_special_characters_escaped(patient):
    """A long title with commas, semicolons, backslashes, a newline and non-ASCII text survives folding intact."""
    title = "Blodprov, urin; och EKG \\ ta med listan\nRing först: " + "väntrum ° " * 12
    event = TimelineEvent(
        uuid=uuid.UUID(int=1), kind=EventKind.LAB, title=title, planned_date=TODAY, status=EventStatus.PLANNED
    )
    ics = render_ics(patient, [event], TODAY, now=NOW)
    physical = ics.split("\r\n")
    assert all(len(line.encode()) <= 75 for line in physical)
    assert sum(line.startswith(" ") for line in physical) >= 2
    ics.encode().decode()  # folding never splits a UTF-8 character
    (summary,) = [line for line in unfold(ics) if line.startswith("SUMMARY:")]
    escaped = "Blodprov\\, urin\\; och EKG \\\\ ta med listan\\nRing först: " + "väntrum ° " * 12
    assert summary == "SUMMARY:" + escaped
    (parsed,) = vevents(ics)
    assert parsed["UID"] == "00000000-0000-0000-0000-000000000001@recovery-tracker"
    assert parsed["DTSTAMP"] == "20241201T100000Z"
    assert parsed["DTSTART;VALUE=DATE"] == "20241201"


def test_a_coordinator_cannot_create_a_calendar_address(client_for, coordinator, patient):
    """Staff have no calendar page of their own; a POST is refused and creates nothing."""
    assert client_for(coordinator).post(MY_CALENDAR, {"action": "create"}).status_code == 403
    assert not AuditEvent.objects.filter(action="calendar.create").exists()


def test_an_unknown_action_is_a_bad_request(client_for, patient):
    """Only create and revoke are understood."""
    assert client_for(patient.user).post(MY_CALENDAR, {"action": "delete-everything"}).status_code == 400
