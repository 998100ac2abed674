"""A patient's access log read back: for staff (codes, addresses, request ids) and for the patient in plain words
(GDPR Art. 15: who has seen my data, when and what they did)."""

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from accounts.models import Role
from recovery.models import AuditEvent, Patient

# What an audit action means, in words a patient understands. The part before the dot is what was seen or
# changed, the part after what was done; a code not named here reads "<verb> <thing>" from the two tables below.
ACTION_WORDS = {
    "patient.view": gettext_lazy("Opened your record"),
    "patient.view_own": gettext_lazy("Opened your recovery page"),
    "patient.list": gettext_lazy("Saw your name in the patient list"),
    "patient.create": gettext_lazy("Enrolled you"),
    "patient.update": gettext_lazy("Changed your personal or medical details"),
    "patient.edit_form": gettext_lazy("Opened the form to change your details"),
    "patient.invite": gettext_lazy("Sent you an invitation to sign in"),
    "patient.invite_form": gettext_lazy("Opened the page to invite you to sign in"),
    "patient.review": gettext_lazy("Reviewed your check-ins"),
    "audit.view": gettext_lazy("Looked at who has seen your data"),
    "audit.view_own": gettext_lazy("Looked at who has seen your data"),
    "audit.export": gettext_lazy("Downloaded the list of who has seen your data"),
    "audit.export_own": gettext_lazy("Downloaded the list of who has seen your data"),
    "timeline.week": gettext_lazy("Saw your appointments in the week's plan"),
    "calendar.feed": gettext_lazy("Your calendar app fetched your appointments"),
    "symptoms.report": gettext_lazy("Recorded a check-in"),
    "cohort.view": gettext_lazy("Included your data in the centre's outcome figures"),
    "cohort.export": gettext_lazy("Included your data in an exported outcome data set"),
    "registry.export": gettext_lazy("Included your transplant data in a registry export (EBMT/CIBMTR)"),
    "admin.patient_delete": gettext_lazy("Deleted your record (administrator)"),
    "patient.export": gettext_lazy("Looked at or downloaded all your data (“My data”)"),
    "patient.deactivate_view": gettext_lazy("Opened the page to deactivate your record"),
    "patient.deactivate": gettext_lazy("Deactivated your record"),
    "patient.erase_view": gettext_lazy("Opened the page to erase your data"),
    "patient.erase": gettext_lazy("Erased your data"),
    "patient.email_change": gettext_lazy("Changed your e-mail address"),
    "account.email_change": gettext_lazy("Changed your e-mail address"),
    "account.email_change_requested": gettext_lazy("Asked to change your e-mail address"),
    "transplant.preview": gettext_lazy("Checked what a change to your transplant dates would do"),
    "transplant.restore": gettext_lazy("Restored earlier transplant dates"),
    "symptoms.checkin_form": gettext_lazy("Opened the check-in form"),
    "symptoms.temperature_form": gettext_lazy("Opened the temperature form"),
    "labs.import_queued": gettext_lazy("Uploaded a lab file with your results"),
    "labs.import_view": gettext_lazy("Looked at an import of lab results"),
    "fhir.bulk_export.read": gettext_lazy("Included your data in a bulk export of the centre's records"),
    "fhir.bulk_export.downloaded": gettext_lazy("Downloaded a bulk export file with your data"),
    "summary.pdf": gettext_lazy("Downloaded a summary of your care for your doctor (PDF)"),
    "summary.pdf_own": gettext_lazy("Downloaded a summary of your care for your doctor (PDF)"),
    "fhir.read": gettext_lazy("Read your record through the FHIR interface"),
    "fhir.search": gettext_lazy("Read part of your record through the FHIR interface"),
    "fhir.everything": gettext_lazy("Fetched your whole record through the FHIR interface"),
}
THINGS = {
    "patient": gettext_lazy("your record"),
    "transplant": gettext_lazy("your transplant dates"),
    "apheresis": gettext_lazy("a stem cell collection"),
    "timeline": gettext_lazy("your treatment timeline"),
    "eligibility": gettext_lazy("your eligibility for transplant"),
    "labs": gettext_lazy("your lab results"),
    "transfusion": gettext_lazy("a transfusion"),
    "transfusions": gettext_lazy("your transfusions"),
    "immune": gettext_lazy("your immune recovery"),
    "engraftment": gettext_lazy("your engraftment (blood count recovery)"),
    "symptoms": gettext_lazy("your check-ins"),
    "alert": gettext_lazy("an alert about you"),
    "task": gettext_lazy("a follow-up task about you"),
    "reminders": gettext_lazy("your reminders"),
    "notifications": gettext_lazy("your messages"),
    "vaccination": gettext_lazy("a vaccination"),
    "vaccinations": gettext_lazy("your vaccinations"),
    "prophylaxis": gettext_lazy("your preventive medicines"),
    "outcomes": gettext_lazy("your MS outcomes"),
    "edss": gettext_lazy("a disability (EDSS) score"),
    "relapse": gettext_lazy("a relapse"),
    "mri": gettext_lazy("an MRI scan"),
    "calendar": gettext_lazy("your calendar link"),
    "audit": gettext_lazy("who has seen your data"),
    "cohort": gettext_lazy("the centre's outcome figures"),
    "inbox": gettext_lazy("messages"),
    "dashboard": gettext_lazy("the alert dashboard"),
    "admin": gettext_lazy("your record in the administration site"),
}
VERBS = {
    "view": gettext_lazy("Looked at"),
    "view_own": gettext_lazy("Looked at"),
    "list": gettext_lazy("Saw in a list"),
    "queue": gettext_lazy("Saw in a list"),
    "due": gettext_lazy("Saw in a list"),
    "create": gettext_lazy("Recorded"),
    "record": gettext_lazy("Recorded"),
    "add": gettext_lazy("Added to"),
    "add_form": gettext_lazy("Opened the form to add to"),
    "change_form": gettext_lazy("Opened the form to change"),
    "hold_form": gettext_lazy("Opened the form to pause"),
    "update": gettext_lazy("Changed"),
    "complete": gettext_lazy("Marked done an event of"),
    "cancel": gettext_lazy("Cancelled an event of"),
    "move": gettext_lazy("Moved an event of"),
    "reopen": gettext_lazy("Reopened an event of"),
    "import": gettext_lazy("Imported"),
    "import_report": gettext_lazy("Looked at an import of"),
    "confirm": gettext_lazy("Confirmed"),
    "decide": gettext_lazy("Decided on"),
    "classify": gettext_lazy("Classified"),
    "acknowledge": gettext_lazy("Acknowledged"),
    "resolve": gettext_lazy("Resolved"),
    "close": gettext_lazy("Closed"),
    "hold": gettext_lazy("Paused"),
    "release": gettext_lazy("Restarted"),
    "settings": gettext_lazy("Changed the settings of"),
    "stop": gettext_lazy("Recorded stopping"),
    "revoke": gettext_lazy("Turned off"),
    "feed": gettext_lazy("Fetched"),
    "export": gettext_lazy("Downloaded"),
    "history": gettext_lazy("Looked at the change history of"),
    "delete_form": gettext_lazy("Opened the delete page of"),
    "outcomes": gettext_lazy("Looked at"),
}


def describe_action(action: str, *, for_staff: bool = False) -> str:
    """An audit action code in plain words, as the patient reads it ("labs.record" -> "Recorded your lab
    results"), or as staff read it about the patient ("Recorded the patient's lab results").

    The patient's words are in the active language; the staff's are rewritten from the English ones, so they stay
    in English.
    """
    if for_staff:
        with translation.override("en"):
            words = describe_action(action)
        words = re.sub(r"\bYour\b", "The patient's", words)
        words = re.sub(r"\byour\b", "the patient's", words)
        return re.sub(r"\byou\b", "the patient", words)
    if action in ACTION_WORDS:
        return str(ACTION_WORDS[action])
    thing, _dot, verb = action.partition(".")
    # "Looked at" + "your lab results": a verb phrase and its object, which every table entry is written as.
    return pgettext("access log: what was done, to what", "%(verb)s %(thing)s") % {
        "verb": VERBS.get(verb, gettext_lazy("Worked with")),
        "thing": THINGS.get(thing, gettext_lazy("your data")),
    }


def describe_actor(event: AuditEvent, patient: Patient) -> tuple[str, str]:
    """(who, role) in plain words, no internal ids: the patient is "You", a process "The system"."""
    if event.actor_id is None:
        return _("The system"), _("Automatic process")
    if patient.user_id is not None and event.actor_id == patient.user_id:
        return _("You"), _("Patient")
    name = event.actor_name or event.actor_username
    if event.actor_role:
        role = Role(event.actor_role).label if event.actor_role in Role.values else event.actor_role
    else:
        role = _("Administrator")
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
