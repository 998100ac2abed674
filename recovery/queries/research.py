"""The pseudonymised research data set: the cohort's outcomes, and each patient's course relative to Day 0.

No names, hospital numbers, personal numbers, email addresses, phone numbers, contacts, birth dates or free-text
notes: each patient is a pseudonym (an HMAC-SHA256 of their UUID with RESEARCH_PSEUDONYM_KEY, so the same
patient has the same pseudonym in every export while the key stays the same, and nobody without the key can
link it back), ages are at Day 0 and dates are days from Day 0. Only the centre, which holds the key, can
re-identify a patient. Pseudonymised data is still personal data (GDPR recital 26): share it under the study's
ethics approval and agreements.
"""

import hashlib
import hmac
from collections import defaultdict
from datetime import date, datetime

from django.conf import settings

from accounts.models import User
from recovery.models import EDSSAssessment, LabResult, MRIScan, Relapse
from recovery.queries.cohort import CSV_COLUMNS, CohortFilters, CohortRow, _cell, cohort_analysis

PSEUDONYM_LENGTH = 16  # hex characters (64 bits): no collision in any realistic cohort
# The cohort's columns without the hospital number, the patient's sex and MS type added.
RESEARCH_COLUMNS = ("pseudonym", "sex", "ms_type", *(c for c in CSV_COLUMNS if c != "hospital_number"))


def pseudonym(patient_uuid) -> str:
    digest = hmac.new(settings.RESEARCH_PSEUDONYM_KEY.encode(), str(patient_uuid).encode(), hashlib.sha256)
    return digest.hexdigest()[:PSEUDONYM_LENGTH]


def _day(value: date | datetime, day0: date, tz) -> int:
    if isinstance(value, datetime):
        value = value.astimezone(tz).date()
    return (value - day0).days


def _summary(row: CohortRow) -> dict:
    values = {
        column: getattr(row, column) for column in RESEARCH_COLUMNS if column not in {"pseudonym", "sex", "ms_type"}
    }
    return {"pseudonym": pseudonym(row.patient.uuid), "sex": row.patient.sex, "ms_type": row.patient.ms_type, **values}


def research_rows(user: User, filters: CohortFilters | None = None) -> list[CohortRow]:
    """The cohort the user may see (the cohort dashboard's patients: deactivated ones are not in it)."""
    return list(cohort_analysis(user, filters or CohortFilters()).rows)


def research_csv_records(rows: list[CohortRow]) -> list[list[str]]:
    return [[_cell(_summary(row)[column]) for column in RESEARCH_COLUMNS] for row in rows]


def research_json(rows: list[CohortRow]) -> dict:
    """Each patient's summary and course (EDSS, relapses, MRI, lab results) in days from Day 0 (five queries)."""
    by_pk = {row.patient.pk: row for row in rows}
    course: dict[int, dict[str, list]] = defaultdict(lambda: defaultdict(list))

    def rel(pk, value):
        row = by_pk[pk]
        return _day(value, row.day0, row.patient.tz)

    for pk, on, score in EDSSAssessment.objects.filter(patient_id__in=by_pk).values_list(
        "patient_id", "assessed_on", "score"
    ):
        course[pk]["edss"].append({"day": rel(pk, on), "score": str(score)})
    for pk, on, domains, steroids, classification in Relapse.objects.filter(patient_id__in=by_pk).values_list(
        "patient_id", "onset_date", "domains", "treated_with_steroids", "classification"
    ):
        course[pk]["relapses"].append(
            {"day": rel(pk, on), "domains": domains, "steroids": steroids, "classification": classification}
        )
    for pk, on, t2, gd, rebaseline in MRIScan.objects.filter(patient_id__in=by_pk).values_list(
        "patient_id", "scan_date", "new_t2_lesions", "gd_enhancing_lesions", "is_rebaseline"
    ):
        course[pk]["mri"].append({"day": rel(pk, on), "new_t2": t2, "gd_enhancing": gd, "rebaseline": rebaseline})
    for pk, at, test, value, unit in (
        LabResult.objects.filter(patient_id__in=by_pk)
        .order_by("patient_id", "collected_at")
        .values_list("patient_id", "collected_at", "test", "value", "unit")
    ):
        course[pk]["labs"].append({"day": rel(pk, at), "test": test, "value": str(value), "unit": unit})
    return {
        "pseudonym_method": f"HMAC-SHA256 of the patient UUID, first {PSEUDONYM_LENGTH} hex characters",
        "dates": "days from Day 0 (the reinfusion date); ages at Day 0",
        "patients": [
            {
                **{k: _json_value(v) for k, v in _summary(row).items()},
                **{kind: course[row.patient.pk].get(kind, []) for kind in ("edss", "relapses", "mri", "labs")},
            }
            for row in rows
        ],
    }


def _json_value(value):
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
