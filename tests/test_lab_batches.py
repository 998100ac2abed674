"""What the CSV import and the FHIR lab import share (recovery/services/lab_batches.py): each checked result set
against the recorded ones and the earlier ones of its batch, in a query per PATIENT_CHUNK patients."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recovery.access import visible_patients
from recovery.models import Alert, AuditEvent, LabImportStatus, LabResult, LabSource, Patient
from recovery.queries.configuration import active_configs
from recovery.services import lab_batches
from recovery.services.audit import AuditContext
from recovery.services.lab_batches import Match, after_results_created, classify_against_recorded
from recovery.services.lab_csv import REJECTED
from recovery.services.lab_import import import_lab_csv
from recovery.services.labs import KIND_EBV
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@dataclass
class Item:
    patient: Patient
    test: str
    value: Decimal
    collected_at: datetime


def _at(days: int = 1) -> datetime:
    return (timezone.now() - timedelta(days=days)).replace(microsecond=0)


def test_each_result_is_new_repeated_contradicted_recorded_or_a_conflict(patient):
    at = _at()
    recorded = LabResult.objects.create(
        patient=patient, test="anc", value=Decimal("0.5"), unit="x10^9/L", collected_at=at
    )
    items = [
        Item(patient, "anc", Decimal("0.5"), at),  # recorded with this value
        Item(patient, "platelets", Decimal(25), at),  # new
        Item(patient, "platelets", Decimal(25), at),  # the same as the new one above
        Item(patient, "platelets", Decimal(30), at),  # another value than the new one above
        Item(patient, "anc", Decimal("0.7"), at),  # another value than the recorded one
    ]
    found = classify_against_recorded(items, active_configs({patient.centre_id}), source=LabSource.FHIR)
    assert [match for match, _result in found] == [
        Match.RECORDED,
        Match.NEW,
        Match.REPEATED,
        Match.CONTRADICTED,
        Match.CONFLICT,
    ]
    assert [found[0][1].pk, found[4][1].pk] == [recorded.pk, recorded.pk]
    new = found[1][1]
    assert new.pk is None
    assert [found[2][1], found[3][1]] == [new, new]
    assert (new.unit, new.source) == ("x10^9/L", LabSource.FHIR)


def test_the_recorded_results_are_read_a_chunk_of_patients_at_a_time(centre, monkeypatch):
    monkeypatch.setattr(lab_batches, "PATIENT_CHUNK", 2)
    at = _at()
    patients = [PatientFactory(centre=centre) for _ in range(5)]
    for patient in patients:
        LabResult.objects.create(patient=patient, test="anc", value=Decimal(1), unit="x10^9/L", collected_at=at)
    items = [Item(patient, "anc", Decimal(1), at) for patient in patients]
    configs = active_configs({centre.pk})
    with CaptureQueriesContext(connection) as queries:
        found = classify_against_recorded(items, configs)
    assert [match for match, _result in found] == [Match.RECORDED] * 5
    assert len(queries) == 3  # 2 + 2 + 1 patients


def test_audit_rows_and_the_ebv_alert_are_per_patient(centre, coordinator):
    at = _at()
    first, second = PatientFactory(centre=centre), PatientFactory(centre=centre)
    created = [
        LabResult.objects.create(patient=first, test="anc", value=Decimal(1), unit="x10^9/L", collected_at=at),
        LabResult.objects.create(
            patient=first, test="ebv_pcr", value=Decimal(900000), unit="copies/mL", collected_at=at
        ),
        LabResult.objects.create(patient=second, test="wbc", value=Decimal(4), unit="x10^9/L", collected_at=at),
    ]
    after_results_created(
        context=AuditContext(actor=coordinator),
        created=created,
        configs=active_configs({centre.pk}),
        source=LabSource.CSV,
        detail={"import": "x"},
    )
    rows = {row.patient_id: row.detail for row in AuditEvent.objects.filter(action="labs.record")}
    assert rows[first.pk] == {"source": "csv", "tests": ["anc", "ebv_pcr"], "results": 2, "import": "x"}
    assert rows[second.pk]["tests"] == ["wbc"]
    assert Alert.objects.filter(patient=first, kind=KIND_EBV).count() == 1
    assert not Alert.objects.filter(patient=second).exists()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.outcomes_stale_since is not None  # an ANC: the cohort's neutropenia counts it
    assert second.outcomes_stale_since is None


def _import(user, centre, text):
    return import_lab_csv(
        context=AuditContext(actor=user),
        centre=centre,
        patients=visible_patients(user).filter(centre=centre),
        filename="labs.csv",
        data=text.encode(),
    )


def test_a_sample_twice_in_a_file_after_a_refused_first_is_not_a_duplicate(patient, coordinator, centre):
    """The first line contradicts the recorded result: the second, with the same value, is refused too (it was
    never imported), and one with the recorded value is a duplicate of the recorded result."""
    at = timezone.localtime(_at(), ZoneInfo(patient.timezone)).replace(second=0)
    LabResult.objects.create(patient=patient, test="anc", value=Decimal("0.5"), unit="x10^9/L", collected_at=at)
    when = f"{at:%Y-%m-%d %H:%M}"
    n = patient.hospital_number
    text = (
        "hospital_number,test,value,unit,collected_at\n"
        f"{n},anc,0.7,x10^9/L,{when}\n"
        f"{n},anc,0.7,x10^9/L,{when}\n"
        f"{n},anc,0.5,x10^9/L,{when}\n"
    )
    result = _import(coordinator, centre, text)
    assert result.status == LabImportStatus.FAILED
    assert [line["outcome"] for line in result.report] == [REJECTED, REJECTED]
    assert all("already recorded with 0.5" in line["message"] for line in result.report)
    assert LabResult.objects.count() == 1


@pytest.mark.parametrize(("unit", "value", "stored"), [("10*9/L", "0.4", "0.4"), ("{cells}/uL", "400", "0.4")])
def test_a_csv_line_may_give_its_unit_as_a_ucum_code(patient, coordinator, centre, unit, value, stored):
    at = timezone.localtime(_at(), ZoneInfo(patient.timezone))
    line = f"{patient.hospital_number},cd4,{value},{unit},{at:%Y-%m-%d %H:%M}"
    text = f"hospital_number,test,value,unit,collected_at\n{line}\n"
    result = _import(coordinator, centre, text)
    assert result.status == LabImportStatus.DONE, result.report
    assert LabResult.objects.get().value == Decimal(stored)
