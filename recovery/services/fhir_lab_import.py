"""Lab results in as FHIR: a Bundle of Observations from a laboratory system, imported through the rules of the
CSV import and the API (issue 17 item 3; docs/fhir-lab-import.md).

Each entry is read (`recovery.clinical.fhir_lab_bundle`), its patient found among the uploader's own patients
(`Patient/<id>`, or the hospital number under the centre's identifier system of `recovery.queries.fhir.patient`),
its value converted and checked by `checked_value` and its time by `check_collected_at`, then set against the
results already recorded: a new result (201), the same sample with the same value (200, nothing added: a Bundle
sent twice adds nothing the second time) or with another value (400, refused with the API's message).

A `batch` (or `collection`) Bundle is imported entry by entry: a refused entry is named in its own outcome and the
others are saved. A `transaction` Bundle is all or nothing: one refused entry saves none. The saving is a few
queries for the whole Bundle, not per entry; the audit rows and the EBV alert are per patient. Engraftment is
computed from the counts when it is read (`recovery.queries.labs.engraftment_proposal`), so a Bundle that brings
the third day of recovered counts proposes the date on the patient's next page view; the cohort outcomes of the
patients given an ANC are refreshed once, after commit.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower, Trim
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import User
from recovery import access
from recovery.clinical.fhir_lab_bundle import BundleError, Entry, LabObservation, Problem, read_bundle, read_entry
from recovery.clinical.units import ucum_code
from recovery.models import LabResult, LabSource, Patient
from recovery.queries.configuration import active_configs
from recovery.queries.fhir.patient import HOSPITAL_NUMBER_SYSTEM
from recovery.services.audit import AuditContext, record_event
from recovery.services.lab_batches import (
    Match,
    after_results_created,
    already_recorded,
    classify_against_recorded,
    result_summary,
)
from recovery.services.labs import check_collected_at, checked_value, sample_conflict, store_result

CREATED, OK, BAD_REQUEST, NOT_FOUND, UNPROCESSABLE = 201, 200, 400, 404, 422
_SYSTEM_PREFIX, _SYSTEM_SUFFIX = HOSPITAL_NUMBER_SYSTEM.split("{centre}")

_MESSAGES = {
    "not_object": gettext_lazy("The body is not a FHIR resource: send a Bundle as a JSON object."),
    "not_bundle": gettext_lazy("Send a Bundle of Observations, not “%(type)s”."),
    "bundle_type": gettext_lazy("A Bundle of type “%(type)s” cannot be imported: send a batch or a transaction."),
    "entries_not_list": gettext_lazy("The Bundle's entry must be a list."),
    "no_entries": gettext_lazy("The Bundle has no entries."),
    "too_many": gettext_lazy("The Bundle has %(count)s entries; at most %(most)s per Bundle: split it."),
    "entry_not_object": gettext_lazy("This entry is not a JSON object."),
    "no_request": gettext_lazy("This entry has no request: give “request”: {“method”: “POST”, “url”: “Observation”}."),
    "request_not_post": gettext_lazy(
        "Only results can be sent here (POST Observation), not “%(method)s %(url)s”: this entry was not processed."
    ),
    "not_observation": gettext_lazy("This entry is not an Observation (it is “%(type)s”)."),
    "status": gettext_lazy(
        "The result's status is “%(status)s”: only a released result (final, amended or corrected) is recorded."
    ),
    "no_code": gettext_lazy("The Observation has no code: give the test's LOINC code."),
    "no_loinc": gettext_lazy("The Observation has no LOINC code (system http://loinc.org): the test is unknown."),
    "unknown_loinc": gettext_lazy(
        "LOINC %(code)s is not a lab test this app records; the documentation lists the codes it knows."
    ),
    "value_not_quantity": gettext_lazy("The result is a %(kind)s: only a number with its unit (valueQuantity)."),
    "data_absent": gettext_lazy("The Observation carries no value (dataAbsentReason): nothing to record."),
    "no_value": gettext_lazy("The Observation has no value: give valueQuantity with a value and a unit."),
    "comparator": gettext_lazy(
        "“%(comparator)s” is not a measured value: send the number measured (0 for “not detected”)."
    ),
    "value_not_number": gettext_lazy("The value “%(value)s” is not a number."),
    "no_unit": gettext_lazy("The value has no unit: give its UCUM code (valueQuantity.system and .code)."),
    "effective_not_datetime": gettext_lazy("The time of the sample must be an effectiveDateTime, not %(kind)s."),
    "no_time": gettext_lazy("The Observation has no effectiveDateTime: when was the sample taken?"),
    "no_time_of_day": gettext_lazy(
        "“%(time)s” has no time of day: give the time the sample was taken, e.g. 2025-03-10T07:30:00+01:00."
    ),
    "no_offset": gettext_lazy(
        "“%(time)s” has no time zone offset: give it, e.g. 2025-03-10T07:30:00+01:00 (FHIR requires it with a time)."
    ),
    "bad_time": gettext_lazy("“%(time)s” is not a FHIR dateTime, e.g. 2025-03-10T07:30:00+01:00."),
    "no_subject": gettext_lazy("The Observation names no patient: give subject.reference or subject.identifier."),
    "bad_reference": gettext_lazy("“%(reference)s” is not a patient reference: give Patient/<id>."),
    "bad_identifier": gettext_lazy("The subject's identifier needs a system and a value (the hospital number)."),
    "unknown_patient": gettext_lazy("No such patient."),
}


class BundleRefusedError(Exception):
    """The body as a whole cannot be imported (not a Bundle, no entries, too many): nothing was processed."""

    def __init__(self, message: str, code: str = "invalid"):
        super().__init__(message)
        self.message, self.code = message, code


class _TransactionRefusedError(Exception):
    pass


@dataclass
class EntryOutcome:
    status: int
    code: str  # the FHIR issue type
    message: str
    location: str = ""

    @property
    def refused(self) -> bool:
        return self.status >= 400


@dataclass
class BundleOutcome:
    bundle_type: str
    entries: list[EntryOutcome]
    saved: bool = True  # False: a transaction with a refused entry, nothing saved


@dataclass
class _Good:  # a `recovery.services.lab_batches.Checked`
    index: int
    observation: LabObservation
    patient: Patient
    value: Decimal
    collected_at: datetime

    @property
    def test(self) -> str:
        return self.observation.test


def location(result: LabResult) -> str:
    """The result's address in the FHIR read API (its Observation id scheme)."""
    return f"Observation/lab-{result.uuid}"


def _refused(problem: Problem) -> EntryOutcome:
    return EntryOutcome(problem.status, problem.code, str(_MESSAGES[problem.key]) % problem.params)


def import_lab_bundle(*, context: AuditContext, user: User, data) -> BundleOutcome:
    """Import the Bundle `data` (parsed JSON) for `user`, whose patients are the only ones it may name.

    BundleRefusedError when it is not a Bundle to import; else one outcome per entry, in order."""
    try:
        bundle_type, raws = read_bundle(data)
    except BundleError as exc:
        problem = exc.problem
        raise BundleRefusedError(str(_MESSAGES[problem.key]) % problem.params, problem.code) from None
    entries = [read_entry(index, raw, bundle_type) for index, raw in enumerate(raws)]
    outcomes: list[EntryOutcome | None] = [None] * len(entries)
    for entry in entries:
        if entry.problem is not None:
            outcomes[entry.index] = _refused(entry.problem)
    patients = _patients(user, [e for e in entries if e.observation is not None], outcomes)
    configs = active_configs({p.centre_id for p in patients.values()})
    good = _checked(entries, patients, configs, outcomes)
    new = _against_recorded(good, configs, outcomes)
    saved = bundle_type != "transaction" or not any(o.refused for o in outcomes)
    if saved and new:
        try:
            with transaction.atomic():
                _save(context, new, configs, outcomes)
                if bundle_type == "transaction" and any(o.refused for o in outcomes):
                    raise _TransactionRefusedError  # a sample recorded meanwhile with another value: undo all
        except _TransactionRefusedError:
            saved = False
    record_event(
        context=context,
        action="labs.fhir_import",
        detail={
            "type": bundle_type,
            "saved": saved,
            "entries": len(outcomes),
            "created": sum(o.status == CREATED for o in outcomes) if saved else 0,
            "already_recorded": sum(o.status == OK for o in outcomes),
            "refused": sum(o.refused for o in outcomes),
        },
    )
    return BundleOutcome(bundle_type, outcomes, saved)


def _centre_of_system(system: str) -> str | None:
    """The centre's uuid (as text) named by a hospital-number identifier system, or None for another system."""
    if not (system.startswith(_SYSTEM_PREFIX) and system.endswith(_SYSTEM_SUFFIX)):
        return None
    return system[len(_SYSTEM_PREFIX) : len(system) - len(_SYSTEM_SUFFIX)].lower() or None


def _patients(user: User, entries: list[Entry], outcomes: list) -> dict[int, Patient]:
    """Each entry's patient (by entry index), among the user's own patients only: a few queries for the Bundle.

    Another centre's patient, an unknown id or number, or a reference and an identifier naming two people: the
    entry is refused (404, or 422 for the contradiction and an identifier system this app does not issue)."""
    visible = access.visible_patients(user).select_related("centre")
    ids = {e.observation.subject.patient_id for e in entries if e.observation.subject.patient_id}
    by_id = {p.uuid: p for p in visible.filter(uuid__in=ids)} if ids else {}
    wanted: dict[str, set[str]] = defaultdict(set)
    for entry in entries:
        subject = entry.observation.subject
        centre = _centre_of_system(subject.system) if subject.system else None
        if centre:
            wanted[centre].add(subject.value.lower())
    by_number: dict[tuple[str, str], Patient] = {}
    if wanted:
        numbers = {number for values in wanted.values() for number in values}
        rows = (
            visible.annotate(number=Lower(Trim("hospital_number")))
            .filter(number__in=numbers, centre_id__in=access.staff_centre_ids(user))
            .select_related("centre")
        )
        by_number = {(str(p.centre.uuid).lower(), p.number): p for p in rows}
    found: dict[int, Patient] = {}
    for entry in entries:
        subject = entry.observation.subject
        patient = by_id.get(subject.patient_id) if subject.patient_id else None
        if subject.system:
            centre = _centre_of_system(subject.system)
            if centre is None:
                outcomes[entry.index] = EntryOutcome(
                    UNPROCESSABLE,
                    "code-invalid",
                    _(
                        "The identifier system “%(system)s” is not this app's: give the hospital number with the "
                        "system %(ours)s, or the reference Patient/<id>."
                    )
                    % {"system": subject.system[:120], "ours": HOSPITAL_NUMBER_SYSTEM},
                )
                continue
            by_identifier = by_number.get((centre, subject.value.lower()))
            if subject.patient_id and by_identifier is not None and patient is not None and by_identifier != patient:
                outcomes[entry.index] = EntryOutcome(
                    UNPROCESSABLE,
                    "conflict",
                    _("The subject's reference and its hospital number name two different patients: nothing saved."),
                )
                continue
            if subject.patient_id and (patient is None) != (by_identifier is None):
                patient = None  # one of the two names nobody the user may see: not found, whichever it is
            else:
                patient = patient or by_identifier
        if patient is None:
            outcomes[entry.index] = EntryOutcome(
                NOT_FOUND,
                "not-found",
                _("No patient of yours matches the subject (%(subject)s).") % {"subject": _subject_text(subject)},
            )
            continue
        found[entry.index] = patient
    return found


def _subject_text(subject) -> str:
    if subject.system:
        return _("hospital number %(number)s") % {"number": subject.value[:40]}
    return f"Patient/{subject.patient_id}"


def _checked(entries: list[Entry], patients: dict[int, Patient], configs: dict, outcomes: list) -> list[_Good]:
    """The value converted and checked, the time checked: no query."""
    good = []
    for entry in entries:
        patient = patients.get(entry.index)
        if patient is None:
            continue
        observation = entry.observation
        labs = configs[patient.centre_id].labs
        errors: list[str] = []
        value = collected_at = None
        try:
            value = checked_value(observation.test, observation.value, observation.unit, labs)
        except ValidationError as exc:
            errors.extend(message for messages in exc.message_dict.values() for message in messages)
            if "unit" in exc.message_dict:
                errors.append(
                    _("Its UCUM code is %(ucum)s (valueQuantity.system http://unitsofmeasure.org).")
                    % {"ucum": ucum_code(labs.unit(observation.test))}
                )
        try:
            collected_at = check_collected_at(patient, observation.collected_at, "effectiveDateTime")
        except ValidationError as exc:
            errors.extend(exc.messages)
        if errors:
            outcomes[entry.index] = EntryOutcome(UNPROCESSABLE, "business-rule", " ".join(errors))
            continue
        good.append(_Good(entry.index, observation, patient, value, collected_at))
    return good


def _against_recorded(good: list[_Good], configs: dict, outcomes: list) -> list[tuple[_Good, LabResult]]:
    """Each good entry a new result, the same result again (already recorded or earlier in the Bundle) or refused
    (another value for a sample already recorded): a query per PATIENT_CHUNK patients of the Bundle."""
    new: list[tuple[_Good, LabResult]] = []
    classified = classify_against_recorded(good, configs, source=LabSource.FHIR)
    for item, (match, result) in zip(good, classified, strict=True):
        unit = configs[item.patient.centre_id].labs.unit(item.test)
        if match == Match.REPEATED:
            message = _("The same result appears earlier in this Bundle: recorded once.")
            outcomes[item.index] = EntryOutcome(OK, "duplicate", message, location(result))
        elif match == Match.CONTRADICTED:
            message = _("An earlier entry of this Bundle gives another value for the same sample.")
            outcomes[item.index] = EntryOutcome(BAD_REQUEST, "conflict", message)
        elif match == Match.RECORDED:
            outcomes[item.index] = EntryOutcome(OK, "duplicate", already_recorded(item.value, unit), location(result))
        elif match == Match.CONFLICT:
            outcomes[item.index] = _conflict(item, result)
        else:
            new.append((item, result))
            message = result_summary(item.patient, item.test, item.value, unit, item.collected_at)
            outcomes[item.index] = EntryOutcome(CREATED, "informational", message, location(result))
    return new


def _conflict(item: _Good, existing: LabResult) -> EntryOutcome:
    message = sample_conflict(item.patient, existing.test, existing.collected_at, existing.value, existing.unit)
    if item.observation.status != "final":
        message += " " + _(
            "A corrected result does not replace the recorded one by itself: the unit corrects it after checking."
        )
    return EntryOutcome(BAD_REQUEST, "conflict", message)


def _save(context: AuditContext, new: list[tuple[_Good, LabResult]], configs: dict, outcomes: list) -> None:
    """Every new result in one INSERT; when another request recorded one of these samples meanwhile, one by one
    through `store_result` instead (each in its own savepoint, so that one refused result loses no other)."""
    for _item, result in new:
        result.entered_by = context.actor
    try:
        with transaction.atomic():
            created = LabResult.objects.bulk_create([result for _item, result in new])
    except IntegrityError:
        created = []
        for item, result in new:
            try:
                with transaction.atomic():
                    outcome = store_result(
                        patient=item.patient,
                        test=result.test,
                        value=result.value,
                        collected_at=result.collected_at,
                        source=LabSource.FHIR,
                        actor=context.actor,
                        config=configs[item.patient.centre_id].labs,
                    )
            except ValidationError as exc:
                outcomes[item.index] = EntryOutcome(BAD_REQUEST, "conflict", " ".join(exc.messages))
                continue
            if outcome.created:
                created.append(outcome.result)
                outcomes[item.index].location = location(outcome.result)
            else:
                message = already_recorded(result.value, result.unit)
                outcomes[item.index] = EntryOutcome(OK, "duplicate", message, location(outcome.result))
    after_results_created(context=context, created=created, configs=configs, source=LabSource.FHIR)
