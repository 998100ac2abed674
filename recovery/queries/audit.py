"""A patient's access log read back: for staff (codes, addresses, request ids) and for the patient in plain words
(GDPR Art. 15: who has seen my data, when and what they did)."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Role
from recovery.models import AuditEvent, Patient

# What an audit action means, in words a patient understands. The part before the dot is what was seen or
# changed, the part after what was done; a code not named here reads "<verb> <thing>" from the two tables below.
ACTION_WORDS = {
    "patient.view": "Opened your record",
    "patient.view_own": "Opened your recovery page",
    "patient.list": "Saw your name in the patient list",
    "patient.create": "Enrolled you",
    "patient.update": "Changed your personal or medical details",
    "patient.edit_form": "Opened the form to change your details",
    "patient.invite": "Sent you an invitation to sign in",
    "patient.invite_form": "Opened the page to invite you to sign in",
    "patient.review": "Reviewed your check-ins",
    "audit.view": "Looked at who has seen your data",
    "audit.view_own": "Looked at who has seen your data",
    "audit.export": "Downloaded the list of who has seen your data",
    "audit.export_own": "Downloaded the list of who has seen your data",
    "timeline.week": "Saw your appointments in the week's plan",
    "calendar.feed": "Your calendar app fetched your appointments",
    "symptoms.report": "Recorded a check-in",
    "cohort.view": "Included your data in the centre's outcome figures",
    "cohort.export": "Included your data in an exported outcome data set",
    "admin.patient_delete": "Deleted your record (administrator)",
    "patient.export": "Looked at or downloaded all your data (\u201cMy data\u201d)",
    "patient.deactivate_view": "Opened the page to deactivate your record",
    "patient.deactivate": "Deactivated your record",
    "patient.erase_view": "Opened the page to erase your data",
    "patient.erase": "Erased your data",
    "patient.email_change": "Changed your e-mail address",
    "account.email_change": "Changed your e-mail address",
    "account.email_change_requested": "Asked to change your e-mail address",
    "transplant.preview": "Checked what a change to your transplant dates would do",
    "transplant.restore": "Restored earlier transplant dates",
    "symptoms.checkin_form": "Opened the check-in form",
    "symptoms.temperature_form": "Opened the temperature form",
    "labs.import_queued": "Uploaded a lab file with your results",
    "labs.import_view": "Looked at an import of lab results",
}
THINGS = {
    "patient": "your record",
    "transplant": "your transplant dates",
    "apheresis": "a stem cell collection",
    "timeline": "your treatment timeline",
    "eligibility": "your eligibility for transplant",
    "labs": "your lab results",
    "transfusion": "a transfusion",
    "transfusions": "your transfusions",
    "immune": "your immune recovery",
    "engraftment": "your engraftment (blood count recovery)",
    "symptoms": "your check-ins",
    "alert": "an alert about you",
    "task": "a follow-up task about you",
    "reminders": "your reminders",
    "notifications": "your messages",
    "vaccination": "a vaccination",
    "vaccinations": "your vaccinations",
    "prophylaxis": "your preventive medicines",
    "outcomes": "your MS outcomes",
    "edss": "a disability (EDSS) score",
    "relapse": "a relapse",
    "mri": "an MRI scan",
    "calendar": "your calendar link",
    "audit": "who has seen your data",
    "cohort": "the centre's outcome figures",
    "inbox": "messages",
    "dashboard": "the alert dashboard",
    "admin": "your record in the administration site",
}
VERBS = {
    "view": "Looked at",
    "view_own": "Looked at",
    "list": "Saw in a list",
    "queue": "Saw in a list",
    "due": "Saw in a list",
    "create": "Recorded",
    "record": "Recorded",
    "add": "Added to",
    "add_form": "Opened the form to add to",
    "change_form": "Opened the form to change",
    "hold_form": "Opened the form to pause",
    "update": "Changed",
    "complete": "Marked done an event of",
    "cancel": "Cancelled an event of",
    "move": "Moved an event of",
    "reopen": "Reopened an event of",
    "import": "Imported",
    "import_report": "Looked at an import of",
    "confirm": "Confirmed",
    "decide": "Decided on",
    "classify": "Classified",
    "acknowledge": "Acknowledged",
    "resolve": "Resolved",
    "close": "Closed",
    "hold": "Paused",
    "release": "Restarted",
    "settings": "Changed the settings of",
    "stop": "Recorded stopping",
    "revoke": "Turned off",
    "feed": "Fetched",
    "export": "Downloaded",
    "history": "Looked at the change history of",
    "delete_form": "Opened the delete page of",
    "outcomes": "Looked at",
}


def describe_action(action: str, *, for_staff: bool = False) -> str:
    """An audit action code in plain words, as the patient reads it ("labs.record" -> "Recorded your lab
    results"), or as staff read it about the patient ("Recorded the patient's lab results")."""
    if action in ACTION_WORDS:
        words = ACTION_WORDS[action]
    else:
        thing, _, verb = action.partition(".")
        words = f"{VERBS.get(verb, 'Worked with')} {THINGS.get(thing, 'your data')}"
    if for_staff:
        words = re.sub(r"\bYour\b", "The patient's", words)
        words = re.sub(r"\byour\b", "the patient's", words)
        words = re.sub(r"\byou\b", "the patient", words)
    return words


def describe_actor(event: AuditEvent, patient: Patient) -> tuple[str, str]:
    """(who, role) in plain words, no internal ids: the patient is "You", a process "The system"."""
    if event.actor_id is None:
        return "The system", "Automatic process"
    if patient.user_id is not None and event.actor_id == patient.user_id:
        return "You", "Patient"
    name = event.actor_name or event.actor_username
    if event.actor_role:
        role = Role(event.actor_role).label if event.actor_role in Role.values else event.actor_role
    else:
        role = "Administrator"
    return name, role


def access_log(patient: Patient) -> QuerySet[AuditEvent]:
    """Every audit row about the patient, newest first (by id: rows outlive the patient's record)."""
    return AuditEvent.objects.filter(patient_id=patient.pk).order_by("-at", "-id")


@dataclass(frozen=True)
class AccessLine:
    at: datetime
    who: str
    role: str
    what: str


def plain_lines(patient: Patient, events) -> list[AccessLine]:
    return [AccessLine(event.at, *describe_actor(event, patient), describe_action(event.action)) for event in events]


def _cell(value) -> str:
    """A CSV cell that a spreadsheet does not run as a formula (=, +, -, @ first)."""
    text = "" if value is None else str(value)
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _local(at: datetime) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S %Z")


OWN_CSV_COLUMNS = ("Date", "Who", "Role", "What")
STAFF_CSV_COLUMNS = ("Date", "User", "Name", "Role", "Action", "What", "Details", "IP address", "Request id")


def own_csv_rows(patient: Patient) -> Iterator[list[str]]:
    """The patient's own access log as CSV rows (header first), oldest last like the page."""
    yield list(OWN_CSV_COLUMNS)
    for event in access_log(patient).iterator(chunk_size=500):
        who, role = describe_actor(event, patient)
        yield [_local(event.at), _cell(who), _cell(role), _cell(describe_action(event.action))]


def staff_csv_rows(patient: Patient) -> Iterator[list[str]]:
    yield list(STAFF_CSV_COLUMNS)
    for event in access_log(patient).iterator(chunk_size=500):
        yield [
            _local(event.at),
            _cell(event.actor_username),
            _cell(event.actor_name),
            _cell(event.actor_role),
            event.action,
            _cell(describe_action(event.action, for_staff=True)),
            _cell(json.dumps(event.detail, ensure_ascii=False, sort_keys=True)),
            event.ip or "",
            event.request_id,
        ]
