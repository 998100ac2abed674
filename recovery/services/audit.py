"""The one mechanism that records who read or changed which patient's data.

Features call `record_event` (one patient) or `record_reads` (a page that lists many). A change records the
value before and after of each changed field, made by `changes(before, after, fields)`: clinical values in
clear (that is what a reviewer of a change needs), personal identifiers and contact details masked
(`MASKED_FIELDS`), because the audit trail is kept after the record itself is erased and must not become a
second copy of who the patient is.

Audit rows are never changed or deleted (a database trigger refuses it, migration 0011).
"""

import datetime
import decimal
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import connection, models
from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from recovery.middleware import client_ip
from recovery.models import AuditEvent, Patient

# --- masking ----------------------------------------------------------------------------------------------------

_MASK = "*"
AUDIT_BATCH_SIZE = 5000  # rows per INSERT when one read shows many patients (a cohort export)
_PER_ROW = {"id", "patient", "patient_uuid"}
_KEPT = 2  # characters kept at each end of an identifier


def mask_identifier(value: str) -> str:
    """A personal or hospital number, a phone number: the first and last two characters, separators kept.

    "19850312-1234" -> "19******-**34"; "+46701234567" -> "+4********67"; very short values are fully masked.
    """
    text = str(value)
    positions = [index for index, char in enumerate(text) if char.isalnum()]
    if len(positions) <= 2 * _KEPT:
        return re.sub(r"[0-9A-Za-z]", _MASK, text)
    hidden = set(positions[_KEPT:-_KEPT])
    return "".join(_MASK if index in hidden else char for index, char in enumerate(text))


def mask_email(value: str) -> str:
    """ "anna.berg@example.org" -> "a***@example.org": the domain stays (it tells a typo from a new address)."""
    local, at, domain = str(value).rpartition("@")
    if not at:
        return mask_identifier(value)
    return f"{local[:1]}***@{domain}"


def mask_name(value: str) -> str:
    """ "Anna Berg" -> "A*** B***": each word's initial."""
    return " ".join(f"{word[:1]}***" for word in str(value).split())


def mask_date(value: Any) -> str:
    """A date of birth keeps its year only: "1985-**-**"."""
    text = value.isoformat() if isinstance(value, datetime.date) else str(value)
    return f"{text[:4]}-**-**"


# Which fields of which record are masked in audit rows, and how. Decided for issue 14 (docs/security.md):
# identifiers (hospital or personal number), contact details (email, phone, next of kin) and the name and date
# of birth, which together identify a person. Everything clinical (dates of care, doses, scores, results,
# statuses) is recorded in clear.
MASKED_FIELDS: dict[str, Callable[[Any], str]] = {
    "hospital_number": mask_identifier,
    "personal_number": mask_identifier,
    "phone": mask_identifier,
    "contact_phone": mask_identifier,
    "email": mask_email,
    "first_name": mask_name,
    "last_name": mask_name,
    "contact_name": mask_name,
    "date_of_birth": mask_date,
}


def _plain(value: Any) -> Any:
    """A value as JSON can hold it: dates as ISO text, decimals as text (no float rounding), records by id."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return str(getattr(value, "uuid", value.pk))
    if isinstance(value, list | tuple | set | frozenset):
        return [_plain(item) for item in value]
    return str(value)


def audit_value(name: str, value: Any) -> Any:
    """The value of field `name` as an audit row records it (masked when it is personal, see MASKED_FIELDS)."""
    if value is None or value == "":
        return _plain(value)
    masker = MASKED_FIELDS.get(name)
    return masker(value) if masker else _plain(value)


def snapshot(record: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The values of `fields` of a record (or a mapping) now, to compare with after a change."""
    if isinstance(record, Mapping):
        return {name: record.get(name) for name in fields}
    return {name: getattr(record, name, None) for name in fields}


def changes(before: Any, after: Any, fields: Iterable[str]) -> dict[str, dict[str, Any]]:
    """{"field": {"old": ..., "new": ...}} for each of `fields` whose value differs between `before` and `after`
    (records or mappings), values made plain and masked by `audit_value`. Put it in an audit row's detail
    under "changes"."""
    fields = list(fields)
    old, new = snapshot(before, fields), snapshot(after, fields)
    return {
        name: {"old": audit_value(name, old[name]), "new": audit_value(name, new[name])}
        for name in fields
        if old[name] != new[name]
    }


# --- recording --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditContext:
    """Where a request came from, carried into services so they need not know about HTTP."""

    actor: User | None
    request_id: str = ""
    ip: str | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_request(cls, request: HttpRequest) -> "AuditContext":
        request = getattr(request, "_request", request)  # a DRF Request wraps Django's
        user = request.user if request.user.is_authenticated else None
        extra = {}
        if getattr(request, "client_request_id", ""):
            extra["client_request_id"] = request.client_request_id
        return cls(actor=user, request_id=getattr(request, "request_id", ""), ip=client_ip(request), extra=extra)

    @classmethod
    def system(cls, process: str) -> "AuditContext":
        return cls(actor=None, extra={"process": process})


def _event(context: AuditContext, action: str, patient: Patient | None, detail: dict | None) -> AuditEvent:
    actor = context.actor
    return AuditEvent(
        actor=actor,
        actor_username=actor.get_username() if actor else context.extra.get("process", "system"),
        actor_name=(actor.get_full_name() if actor else "")[:300],
        actor_role=(getattr(actor, "role", "") or "") if actor else "",
        patient=patient,
        patient_uuid=patient.uuid if patient is not None else None,
        action=action,
        request_id=context.request_id,
        ip=context.ip,
        detail={**context.extra, **(detail or {})},
    )


def record_event(
    *, context: AuditContext, action: str, patient: Patient | None = None, detail: dict | None = None
) -> AuditEvent:
    event = _event(context, action, patient, detail)
    event.save(force_insert=True)
    return event


def record_reads(*, context: AuditContext, action: str, patients: Iterable[Patient]) -> None:
    """One row per patient shown. A page of patients is one INSERT; a long list (a cohort export of tens of
    thousands) is copied by the database from the patient table, AUDIT_BATCH_SIZE patients per statement, with
    what the rows share (who, when, from where, the action) worked out once."""
    patients = list(patients)
    if len(patients) <= AUDIT_BATCH_SIZE // 10:
        AuditEvent.objects.bulk_create([_event(context, action, patient, None) for patient in patients])
        return
    one = _event(context, action, None, None)
    one.at = timezone.now()
    shared = [f for f in AuditEvent._meta.concrete_fields if f.name not in _PER_ROW]
    values = [f.get_db_prep_save(getattr(one, f.attname), connection) for f in shared]
    patient_table = Patient._meta.db_table
    # Names from the models, every value a parameter.
    sql = (
        f"INSERT INTO {_quote(AuditEvent._meta.db_table)} "  # noqa: S608
        f"({', '.join(_quote(f.column) for f in shared)}, {_quote('patient_id')}, {_quote('patient_uuid')}) "
        f"SELECT {', '.join(['%s'] * len(shared))}, {_quote('id')}, {_quote('uuid')} FROM {_quote(patient_table)} "
        f"WHERE {_quote('id')} IN ({{ids}})"
    )
    ids = [patient.pk for patient in patients]
    with connection.cursor() as cursor:
        for start in range(0, len(ids), AUDIT_BATCH_SIZE):
            batch = ids[start : start + AUDIT_BATCH_SIZE]
            cursor.execute(sql.format(ids=", ".join(["%s"] * len(batch))), [*values, *batch])


def _quote(name: str) -> str:
    return connection.ops.quote_name(name)
