"""Reading a FHIR R4 Bundle of lab Observations, as a hospital laboratory system sends them (no Django, no database).

`read_bundle` checks the Bundle's own shape (a JSON object, resourceType Bundle, type batch/transaction/
collection, a list of entries) and `read_entry` each entry on its own: an Observation, with a LOINC code this app
knows, a valueQuantity (a number and a UCUM or written unit), an effectiveDateTime with its offset, a status that
is a released result (final, amended, corrected) and a subject (`Patient/<id>` or a hospital-number identifier).
What is wrong is a `Problem` (a key and its parameters); `recovery.services.fhir_lab_import` words it in the
reader's language, finds the patient and stores the result through the labs service's own checks.
"""

import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from recovery.clinical import fhir_time
from recovery.clinical.terminology import SYSTEMS, key_for

BUNDLE_TYPES = ("batch", "transaction", "collection")
RELEASED = ("final", "amended", "corrected")  # a result a laboratory has released
UCUM = SYSTEMS["ucum"]
LOINC = SYSTEMS["loinc"]
MAX_ENTRIES = 1000

_PATIENT_REFERENCE = re.compile(r"^Patient/([A-Za-z0-9\-.]{1,64})$")


@dataclass(frozen=True)
class Problem:
    """What is wrong with a Bundle or an entry: `key` names the message, `status` the HTTP status of the entry,
    `code` the FHIR issue type."""

    key: str
    status: int = 422
    code: str = "invalid"
    params: dict = field(default_factory=dict)


class BundleError(Exception):
    def __init__(self, problem: Problem):
        super().__init__(problem.key)
        self.problem = problem


@dataclass(frozen=True)
class Subject:
    patient_id: uuid.UUID | None = None  # from `Patient/<id>`
    system: str = ""  # from an identifier
    value: str = ""


@dataclass(frozen=True)
class LabObservation:
    """One entry read: what the labs service checks next (value and unit as sent, the unit in its spelling)."""

    test: str  # the app's lab test key
    loinc: str
    value: Decimal
    unit: str  # the UCUM code, or the unit as written when no code is given: `recovery.clinical.units` reads both
    collected_at: datetime
    status: str
    subject: Subject


@dataclass(frozen=True)
class Entry:
    index: int
    observation: LabObservation | None
    problem: Problem | None


def _text(value, limit: int = 80) -> str:
    return str(value)[:limit] if value is not None else ""


def read_bundle(data) -> tuple[str, list]:
    """The Bundle's type and its entries (each still raw); BundleError when it is not a Bundle to import."""
    if not isinstance(data, dict):
        raise BundleError(Problem("not_object", 400, "structure"))
    if data.get("resourceType") != "Bundle":
        raise BundleError(Problem("not_bundle", 400, "structure", {"type": _text(data.get("resourceType"), 40)}))
    kind = data.get("type")
    if kind not in BUNDLE_TYPES:
        raise BundleError(Problem("bundle_type", 400, "not-supported", {"type": _text(kind, 40)}))
    entries = data.get("entry", [])
    if not isinstance(entries, list):
        raise BundleError(Problem("entries_not_list", 400, "structure"))
    if not entries:
        raise BundleError(Problem("no_entries", 400, "required"))
    if len(entries) > MAX_ENTRIES:
        raise BundleError(Problem("too_many", 400, "too-costly", {"count": len(entries), "most": MAX_ENTRIES}))
    return kind, entries


def read_entry(index: int, raw, bundle_type: str) -> Entry:
    try:
        return Entry(index, _observation(raw, bundle_type), None)
    except BundleError as exc:
        return Entry(index, None, exc.problem)


def _fail(key: str, status: int = 422, code: str = "invalid", /, **params):
    raise BundleError(Problem(key, status, code, params))


def _observation(raw, bundle_type: str) -> LabObservation:
    if not isinstance(raw, dict):
        _fail("entry_not_object", 400, "structure")
    request = raw.get("request")
    if bundle_type != "collection" or request is not None:
        if not isinstance(request, dict):
            _fail("no_request", 400, "required")
        method, url = request.get("method"), request.get("url")
        if method != "POST" or not isinstance(url, str) or url.split("?")[0].strip("/") != "Observation":
            _fail("request_not_post", 422, "not-supported", method=_text(method, 10), url=_text(url))
    resource = raw.get("resource")
    if not isinstance(resource, dict) or resource.get("resourceType") != "Observation":
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        _fail("not_observation", 400, "structure", type=_text(kind, 40))
    status = resource.get("status")
    if status not in RELEASED:
        _fail("status", 422, "business-rule", status=_text(status, 40))
    test, loinc = _test(resource.get("code"))
    value, unit = _quantity(resource)
    return LabObservation(
        test=test,
        loinc=loinc,
        value=value,
        unit=unit,
        collected_at=_effective(resource),
        status=status,
        subject=_subject(resource.get("subject")),
    )


def _test(code) -> tuple[str, str]:
    codings = code.get("coding") if isinstance(code, dict) else None
    if not isinstance(codings, list) or not codings:
        _fail("no_code", 400, "required")
    loinc = [c for c in codings if isinstance(c, dict) and c.get("system") == LOINC and isinstance(c.get("code"), str)]
    if not loinc:
        _fail("no_loinc", 422, "code-invalid")
    for coding in loinc:
        key = key_for("loinc", coding["code"].strip())
        if key is not None:
            return key, coding["code"].strip()
    _fail("unknown_loinc", 422, "code-invalid", code=", ".join(_text(c["code"], 20) for c in loinc[:3]))
    raise AssertionError  # unreachable: _fail raises


def _quantity(resource: dict) -> tuple[Decimal, str]:
    if "valueQuantity" not in resource:
        other = next((name for name in resource if name.startswith("value")), None)
        if other is not None:
            _fail("value_not_quantity", 422, "not-supported", kind=_text(other, 40))
        absent = resource.get("dataAbsentReason")
        if absent is not None:
            _fail("data_absent", 422, "incomplete")
        _fail("no_value", 400, "required")
    quantity = resource["valueQuantity"]
    if not isinstance(quantity, dict):
        _fail("no_value", 400, "required")
    if quantity.get("comparator") is not None:
        _fail("comparator", 422, "value", comparator=_text(quantity.get("comparator"), 4))
    value = quantity.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        _fail("value_not_number", 400, "value", value=_text(value, 40))
    number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    if not number.is_finite():
        _fail("value_not_number", 400, "value", value=_text(value, 40))
    code, system, written = quantity.get("code"), quantity.get("system"), quantity.get("unit")
    if isinstance(code, str) and code.strip() and system == UCUM:
        return number, code.strip()  # `recovery.clinical.units` reads UCUM codes
    if isinstance(written, str) and written.strip():
        return number, written.strip()
    _fail("no_unit", 422, "required")
    raise AssertionError  # unreachable


def _effective(resource: dict) -> datetime:
    raw = resource.get("effectiveDateTime", resource.get("effectiveInstant"))
    if raw is None:
        kind = next((name for name in resource if name.startswith("effective")), None)
        if kind is not None:
            _fail("effective_not_datetime", 422, "not-supported", kind=_text(kind, 40))
        _fail("no_time", 422, "required")
    if not isinstance(raw, str):
        _fail("bad_time", 400, "value", time=_text(raw, 40))
    text = raw.strip()
    try:
        value = fhir_time.parse(text)  # the FHIR dateTime grammar: a time of day needs its offset
    except fhir_time.FhirTimeError as error:
        if error.reason == fhir_time.NO_ZONE:
            _fail("no_offset", 422, "value", time=text)
        _fail("bad_time", 400, "value", time=_text(text, 40))
    if not value.has_time:
        _fail("no_time_of_day", 422, "value", time=text)
    return value.start


def _subject(subject) -> Subject:
    if not isinstance(subject, dict):
        _fail("no_subject", 400, "required")
    reference, identifier = subject.get("reference"), subject.get("identifier")
    patient_id = None
    if reference is not None:
        match = _PATIENT_REFERENCE.match(reference) if isinstance(reference, str) else None
        if match is None:
            _fail("bad_reference", 422, "value", reference=_text(reference))
        try:
            patient_id = uuid.UUID(match.group(1))
        except ValueError:
            _fail("unknown_patient", 404, "not-found")
    if identifier is not None:
        if not isinstance(identifier, dict):
            _fail("bad_identifier", 422, "value")
        system, value = identifier.get("system"), identifier.get("value")
        if not isinstance(system, str) or not isinstance(value, str) or not system.strip() or not value.strip():
            _fail("bad_identifier", 422, "value")
        return Subject(patient_id, system.strip(), value.strip())
    if patient_id is None:
        _fail("no_subject", 400, "required")
    return Subject(patient_id)
