"""The patient's calendar subscription: a secret feed URL and the iCalendar (RFC 5545) file behind it.

The token in the URL is the only credential (calendar apps cannot sign in), so it is long and random, can be
replaced or revoked at any time, and the feed carries no name or hospital number: only the dates and titles of
the appointments that matter to the patient.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from recovery.clinical.timeline import EventKind, EventStatus
from recovery.event_titles import event_title
from recovery.models import Patient, TimelineEvent
from recovery.phase_text import day_label
from recovery.queries.timeline import episode_of

# Appointments the patient goes to or takes part in. Chemotherapy days, medication starts and stops and
# check-in periods stay on the page; they would clutter a personal calendar.
FEED_KINDS = frozenset(
    {
        EventKind.VISIT,
        EventKind.LAB,
        EventKind.MRI,
        EventKind.EDSS_REVIEW,
        EventKind.VACCINATION,
        EventKind.PROCEDURE,
    }
)
# Past events older than this drop out of the feed, so years of follow-up keep it small (a display choice).
FEED_HISTORY_DAYS = 365
PRODID = "-//Recovery tracker//Patient calendar//EN"
UID_DOMAIN = "recovery-tracker"
CALENDAR_NAME = gettext_lazy("My recovery appointments")
MAX_LINE_OCTETS = 75


def patient_for_token(token: str) -> Patient | None:
    """The patient whose current feed token this is, or None (unknown, revoked or malformed alike).

    A unique-index lookup: the database compares the whole value, and the caller answers the same 404 for every
    kind of miss.
    """
    if not token or len(token) > Patient._meta.get_field("calendar_token").max_length:
        return None
    return Patient.objects.select_related("episode").filter(calendar_token=token).first()


def feed_events(patient: Patient, today: date) -> QuerySet[TimelineEvent]:
    """The events that go into the patient's feed: appointments, not cancelled, from a year back onwards."""
    return TimelineEvent.objects.filter(
        episode__patient=patient,
        kind__in=[kind.value for kind in FEED_KINDS],
        planned_date__gte=today - timedelta(days=FEED_HISTORY_DAYS),
    ).exclude(status=EventStatus.CANCELLED)


# RFC 5545 text --------------------------------------------------------------------------------------


def escape_text(value: str) -> str:
    """A TEXT value (RFC 5545 section 3.3.11): backslash, semicolon, comma and newlines escaped."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold_line(line: str) -> str:
    """Fold a content line into pieces of at most 75 octets joined by CRLF + space (RFC 5545 section 3.1).

    Never splits a UTF-8 character; the leading space of a continuation counts towards its 75 octets.
    """
    pieces: list[str] = []
    current = ""
    size = 0
    limit = MAX_LINE_OCTETS
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            pieces.append(current)
            current, size, limit = "", 0, MAX_LINE_OCTETS - 1
        current += char
        size += width
    pieces.append(current)
    return "\r\n ".join(pieces)


def _utc_stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def _date_value(day: date) -> str:
    return day.strftime("%Y%m%d")


def _event_lines(event: TimelineEvent, reinfusion: date | None, today: date, stamp: datetime) -> list[str]:
    on = event.actual_date if event.status == EventStatus.DONE and event.actual_date else event.planned_date
    modified = event.updated_at or stamp
    lines = [
        "BEGIN:VEVENT",
        f"UID:{event.uuid}@{UID_DOMAIN}",
        f"DTSTAMP:{_utc_stamp(modified)}",
        f"LAST-MODIFIED:{_utc_stamp(modified)}",
        f"DTSTART;VALUE=DATE:{_date_value(on)}",
        f"DTEND;VALUE=DATE:{_date_value(on + timedelta(days=1))}",
        f"SUMMARY:{escape_text(event_title(event.title))}",
        "TRANSP:TRANSPARENT",
    ]
    notes = []
    if reinfusion is not None:
        notes.append(_("%(day)s after your transplant.") % {"day": day_label((on - reinfusion).days)})
    if on >= today:
        notes.append(_("Your team will tell you the time and place."))
    lines.append(f"DESCRIPTION:{escape_text(' '.join(notes))}")
    lines.append("END:VEVENT")
    return lines


def render_ics(patient: Patient, events: Iterable[TimelineEvent], today: date, now: datetime | None = None) -> str:
    """The patient's appointments as an iCalendar file: one all-day VEVENT per appointment that matters to them.

    Cancelled events and kinds outside `FEED_KINDS` are left out, as are events more than `FEED_HISTORY_DAYS`
    before `today`. There is no METHOD, so DTSTAMP is each event's last change in the store, in UTC (RFC 5545
    section 3.8.7.2); `now` (default the current time) stands in for an unsaved event. The words (calendar name,
    built-in titles, notes) are in the patient's preferred language, whoever fetches the feed.
    """
    with translation.override(patient.preferred_language or settings.LANGUAGE_CODE):
        return _render_ics(patient, events, today, now)


def _render_ics(patient: Patient, events: Iterable[TimelineEvent], today: date, now: datetime | None) -> str:
    stamp = now or datetime.now(UTC)
    episode = episode_of(patient)
    reinfusion = episode.reinfusion_date if episode is not None else None
    oldest = today - timedelta(days=FEED_HISTORY_DAYS)
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        f"X-WR-CALNAME:{escape_text(str(CALENDAR_NAME))}",
        "REFRESH-INTERVAL;VALUE=DURATION:PT6H",
        "X-PUBLISHED-TTL:PT6H",
    ]
    for event in sorted(events, key=lambda e: (e.planned_date, e.pk or 0)):
        if event.status == EventStatus.CANCELLED or event.kind not in FEED_KINDS or event.planned_date < oldest:
            continue
        lines.extend(_event_lines(event, reinfusion, today, stamp))
    lines.append("END:VCALENDAR")
    return "".join(fold_line(line) + "\r\n" for line in lines)
