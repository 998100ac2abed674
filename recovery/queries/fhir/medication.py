"""FHIR MedicationStatement: the antimicrobial prophylaxis courses (issue 17; recovery/clinical/prophylaxis.py).

The courses are computed from the episode dates and CD4 results by the same rule as the patient's pages
(`recovery.queries.prophylaxis.courses_from`), with the clinician's stop record where there is one:

* stopped (a `ProphylaxisStop`): `completed`, the period from the start to the day it was stopped;
* started, not stopped: `active`, the period from the start to the planned (earliest) stop while that is still
  ahead; once it has passed the period is open (the course is taken until a stop is recorded). The note gives
  the planned stop, and says so for a course that stops only once CD4 has recovered;
* not started yet: `intended`, the period from the planned start (when known).

A stop recorded for a medication the centre no longer plans is still sent (`completed`, ending that day). The
medication is coded in ATC (terminology_data/atc.csv). The id is derived from the patient and the medication,
so it stays the same when the course is stopped. Four queries, whatever the number of patients and courses.
"""

import base64
import re
import uuid
from collections import defaultdict
from datetime import UTC, date, timedelta

from django.db.models import Q, QuerySet

from recovery.clinical.prophylaxis import CourseStatus, MedicationPlan
from recovery.clinical.terminology import codings
from recovery.models import Patient, ProphylaxisStop
from recovery.queries.configuration import active_configs
from recovery.queries.fhir.common import DateRange, ResourceType, fhir_date, patient_reference
from recovery.queries.prophylaxis import cd4_by_patient, courses_from, medication_name, medication_purpose
from recovery.queries.timeline import patient_today


def statement_id(patient: Patient, medication: str) -> str:
    """`rx-<patient uuid in base32>-<medication>` (`_` written `.`): stable, at most 62 characters for a medication
    code of up to 32, and it names its patient and medication (`statement_of_id`)."""
    patient_key = base64.b32encode(patient.uuid.bytes).decode().rstrip("=")
    return f"rx-{patient_key}-{medication.replace('_', '.')}"


def statement_of_id(resource_id: str) -> tuple[uuid.UUID, str] | None:
    """The patient's uuid and the medication a MedicationStatement id names, or None for another id."""
    match = re.fullmatch(r"rx-([A-Z2-7]{26})-([a-z0-9.]{1,32})", resource_id)
    if match is None:
        return None
    try:
        patient_uuid = uuid.UUID(bytes=base64.b32decode(match[1] + "======"))
    except ValueError:
        return None
    return patient_uuid, match[2].replace(".", "_")


def _medication(code: str) -> dict:
    concept: dict = {"text": medication_name(code)}
    atc = codings("atc").get(code)
    if atc is not None:
        concept["coding"] = [atc.as_fhir()]
    return concept


def statement(
    patient: Patient,
    medication: str,
    plan: MedicationPlan | None,
    stop: ProphylaxisStop | None,
    day0: date | None,
    today: date,
) -> dict:
    """One course as a MedicationStatement; `plan` None for a stop recorded for a medication no longer planned."""
    start = None
    if plan is not None:
        start = plan.start or (day0 if plan.status != CourseStatus.NOT_STARTED else None)
    period: dict = {}
    notes: list[dict] = []
    if stop is not None:
        status = "completed"
        period["end"] = fhir_date(stop.stopped_on)
        if stop.note:
            notes.append({"text": stop.note})
    elif plan is not None and plan.status == CourseStatus.NOT_STARTED:
        status = "intended"
    else:
        status = "active"
    if start is not None:
        period["start"] = fhir_date(start)
    if stop is None and plan is not None and plan.planned_stop is not None:
        if plan.planned_stop > today:
            period["end"] = fhir_date(plan.planned_stop)
        words = "Earliest planned stop" + (", once CD4 has recovered" if plan.until_cd4 else "")
        notes.append({"text": f"{words}: {plan.planned_stop.isoformat()}."})
    resource = {
        "resourceType": "MedicationStatement",
        "id": statement_id(patient, medication),
        "status": status,
        "medicationCodeableConcept": _medication(medication),
        "subject": patient_reference(patient),
        "reasonCode": [{"text": f"Prophylaxis after aHSCT: {medication_purpose(medication) or medication}"}],
    }
    if period:
        resource["effectivePeriod"] = period
    if notes:
        resource["note"] = notes
    return resource


def _window(dates: DateRange) -> tuple[date | None, date | None]:
    """The window as days: the first day in it and the first day after it (None: open)."""
    first = dates.start.astimezone(UTC).date() if dates.start is not None else None
    after = None
    if dates.end is not None:
        end = dates.end.astimezone(UTC)
        after = end.date() if end.time() == end.time().min else end.date() + timedelta(days=1)
    return first, after


def _overlaps(resource: dict, first: date | None, after: date | None) -> bool:
    period = resource.get("effectivePeriod", {})
    start, end = period.get("start"), period.get("end")
    if after is not None and start is not None and date.fromisoformat(start) >= after:
        return False
    return first is None or end is None or date.fromisoformat(end) >= first


def search(patients: QuerySet[Patient], dates: DateRange) -> list[dict]:
    """The prophylaxis courses of `patients` (with a Day 0) whose period overlaps the window."""
    first, after = _window(dates)
    started_before_end = Q()
    if after is not None:  # every course starts on or after the conditioning start or Day 0
        started_before_end = Q(episode__conditioning_start_date__lt=after) | Q(episode__reinfusion_date__lt=after)
    rows = list(
        patients.filter(episode__reinfusion_date__isnull=False)
        .filter(started_before_end)
        .select_related("episode")
        .order_by("id")
    )
    configs = active_configs({p.centre_id for p in rows})
    cd4 = cd4_by_patient(rows, configs)
    stops: dict[int, list[ProphylaxisStop]] = defaultdict(list)
    for stop in ProphylaxisStop.objects.filter(patient__in=[p.pk for p in rows]).order_by("stopped_on", "id"):
        stops[stop.patient_id].append(stop)
    resources = []
    for patient in rows:
        day0, today = patient.episode.reinfusion_date, patient_today(patient)
        config = configs[patient.centre_id].prophylaxis
        courses = courses_from(patient.episode, cd4[patient.pk], stops[patient.pk], today, config)
        planned = {course.medication for course in courses}
        found = [statement(patient, c.medication, c.plan, c.stop, day0, today) for c in courses]
        found += [
            statement(patient, s.medication, None, s, day0, today)
            for s in stops[patient.pk]
            if s.medication not in planned
        ]
        resources += [resource for resource in found if _overlaps(resource, first, after)]
    return resources


MEDICATION_STATEMENT = ResourceType(
    "MedicationStatement",
    search=search,
    description="Antimicrobial prophylaxis courses after aHSCT (ATC codes), planned, taken and stopped.",
)
