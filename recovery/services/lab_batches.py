"""Many lab results at once (the CSV import, a FHIR Bundle): what the two imports share once each result has passed
its own checks (`recovery.services.labs.checked_value`, `check_collected_at`).

`classify_against_recorded` sets each checked result against the results already recorded and against the earlier
ones of the same batch, in a query per PATIENT_CHUNK patients: a new result (the `LabResult` to create), the same
result again, or another value for a sample that has one. Each import words the outcome in its own terms (a line
of the report, a Bundle entry's status). `after_results_created` is what follows the INSERT: the cohort outcomes
of the patients given an ANC marked for refreshing, one audit row per patient and the EBV alert.
"""

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from django.utils import timezone
from django.utils.translation import gettext as _

from recovery.models import LabResult, LabTest, Patient
from recovery.queries.configuration import ActiveConfig
from recovery.services.audit import AuditContext, record_event
from recovery.services.labs import check_ebv_alert
from recovery.services.outcome_summaries import request_outcome_refresh_many

PATIENT_CHUNK = 500  # patients per query for the results already recorded


class Checked(Protocol):
    """A result that passed its own checks: its value in the canonical unit, its time checked."""

    patient: Patient
    test: str
    value: Decimal
    collected_at: datetime


class Match(StrEnum):
    """A checked result set against the others; the `LabResult` that goes with it is named in each."""

    NEW = "new"  # to create: the new, unsaved result
    REPEATED = "repeated"  # the same value as a new result earlier in the batch: that result
    CONTRADICTED = "contradicted"  # another value than a new result earlier in the batch: that result
    RECORDED = "recorded"  # already recorded with the same value: the recorded result
    CONFLICT = "conflict"  # already recorded with another value: the recorded result


Key = tuple[int, str, datetime]


def recorded_results(checked: Sequence[Checked]) -> dict[Key, LabResult]:
    """The results already recorded for the samples of `checked`, by (patient id, test, collection time): a query
    per PATIENT_CHUNK patients."""
    if not checked:
        return {}
    earliest = min(c.collected_at for c in checked)
    latest = max(c.collected_at for c in checked)
    tests = {c.test for c in checked}
    patient_ids = sorted({c.patient.pk for c in checked})
    found: dict[Key, LabResult] = {}
    for start in range(0, len(patient_ids), PATIENT_CHUNK):
        rows = LabResult.objects.filter(
            patient_id__in=patient_ids[start : start + PATIENT_CHUNK],
            test__in=tests,
            collected_at__gte=earliest,
            collected_at__lte=latest,
        ).only("uuid", "patient_id", "test", "collected_at", "value", "unit")
        found.update({(r.patient_id, r.test, r.collected_at): r for r in rows})
    return found


def classify_against_recorded(
    checked: Sequence[Checked], configs: Mapping[int, ActiveConfig], **fields
) -> list[tuple[Match, LabResult]]:
    """Each of `checked`, in order, with its `Match` and result. A new result is built (not saved) in its test's
    canonical unit at its patient's centre (`configs` by centre id), with `fields` (source, import, ...).

    A sample given twice in the batch is set against the first giving's result when that one is new, else against
    the recorded result, so that the same value is never answered as saved when the first giving was refused."""
    recorded = recorded_results(checked)
    new: dict[Key, LabResult] = {}
    found: list[tuple[Match, LabResult]] = []
    for item in checked:
        key = (item.patient.pk, item.test, item.collected_at)
        earlier, existing = new.get(key), recorded.get(key)
        if earlier is not None:
            found.append((Match.REPEATED if earlier.value == item.value else Match.CONTRADICTED, earlier))
        elif existing is not None:
            found.append((Match.RECORDED if existing.value == item.value else Match.CONFLICT, existing))
        else:
            new[key] = LabResult(
                patient=item.patient,
                test=item.test,
                value=item.value,
                unit=configs[item.patient.centre_id].labs.unit(item.test),
                collected_at=item.collected_at,
                **fields,
            )
            found.append((Match.NEW, new[key]))
    return found


def already_recorded(value: Decimal, unit: str) -> str:
    return _("Already recorded (%(result)s): not imported again.") % {"result": f"{value.normalize():f} {unit}"}


def result_summary(patient: Patient, test: str, value: Decimal, unit: str, at: datetime) -> str:
    """A result as the outcome of its import names it: "ANC 0.5 x10^9/L on 2025-03-10 07:30" (the patient's time)."""
    local = timezone.localtime(at, ZoneInfo(patient.timezone))
    return _("%(test)s %(result)s on %(time)s.") % {
        "test": LabTest(test).label,
        "result": f"{value.normalize():f} {unit}",
        "time": f"{local:%Y-%m-%d %H:%M}",
    }


def after_results_created(
    *,
    context: AuditContext,
    created: Sequence[LabResult],
    configs: Mapping[int, ActiveConfig],
    source: str,
    detail: dict | None = None,
) -> None:
    """After `created` were saved (in the caller's transaction): the cohort's febrile neutropenia counts ANC results
    (services/outcome_summaries.py), so those patients' outcomes are marked for refreshing after commit; one
    `labs.record` audit row per patient (with `detail`) and the EBV alert (`configs` by centre id)."""
    request_outcome_refresh_many({r.patient_id for r in created if r.test == LabTest.ANC})
    by_patient: dict[int, list[LabResult]] = defaultdict(list)
    for result in created:
        by_patient[result.patient_id].append(result)
    for results in by_patient.values():
        patient = results[0].patient
        record_event(
            context=context,
            action="labs.record",
            patient=patient,
            detail={"source": source, "tests": sorted({r.test for r in results}), "results": len(results)}
            | (detail or {}),
        )
        check_ebv_alert(patient=patient, results=results, config=configs[patient.centre_id])
