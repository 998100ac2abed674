"""The bulk writer of the seed commands (recovery/management/bulk.py): COPY on PostgreSQL, executemany elsewhere.

Each value type goes in through `BulkTable` and comes back through the ORM unchanged; the indexes and constraints
that `defer_indexes` drops come back exactly as PostgreSQL described them before.
"""

import io
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from recovery.management.bulk import (
    BulkTable,
    defer_indexes,
    index_definitions,
    reserve_ids,
    restore_indexes,
)
from recovery.models import EDSSAssessment, LabResult, MRIScan, Patient, Relapse, SymptomReport, TimelineEvent
from tests.factories import PatientFactory

AWKWARD_TEXT = "tab\there, new\nline, back\\slash \\N, carriage\rreturn, quote ' and \" é"
STOCKHOLM = ZoneInfo("Europe/Stockholm")


@pytest.fixture
def patient(db):
    return PatientFactory()


def _load(model, columns, rows, now):
    table = BulkTable(model, columns, now=now)
    table.extend(rows)
    assert len(table) == len(rows)
    table.write(table.take())
    assert len(table) == 0


def test_every_column_type_comes_back_as_written(patient):
    """Dates, aware datetimes (another zone, summer and winter), decimals, nulls, booleans, integers, awkward text
    and JSON: what the ORM reads back is what was added; the columns not given take their defaults."""
    now = timezone.now()
    summer = datetime(2024, 7, 1, 6, 30, tzinfo=STOCKHOLM)
    winter = datetime(2024, 1, 15, 23, 5, 7, 120000, tzinfo=STOCKHOLM)
    columns = ("patient_id", "recorded_at", "temperature_c", "notes", "phase", "day", "neutropenic_fever", "symptoms")
    rows = [
        (patient.pk, summer, Decimal("38.4"), AWKWARD_TEXT, "aplasia", 5, True, {"fever": True, "note": "a\tb\\c"}),
        (patient.pk, winter, None, "", "follow_up", None, False, {}),
    ]
    _load(SymptomReport, columns, rows, now)
    first, second = SymptomReport.objects.filter(patient=patient).order_by("recorded_at")
    assert (second.recorded_at, second.temperature_c, second.notes, second.day) == (
        summer,
        Decimal("38.4"),
        AWKWARD_TEXT,
        5,
    )
    assert second.neutropenic_fever is True
    assert second.symptoms == {"fever": True, "note": "a\tb\\c"}
    assert (first.recorded_at, first.temperature_c, first.notes, first.day) == (winter, None, "", None)
    assert first.neutropenic_fever is False
    assert first.symptoms == {}
    # Not given: a new UUID each, the field defaults, `now` for auto_now_add.
    assert first.uuid != second.uuid
    assert (first.findings, first.triage_level, first.feels_urgent, first.entered_by_id) == ([], "none", False, None)
    assert first.created_at == now


def test_dates_json_lists_and_booleans(patient):
    now = timezone.now()
    columns = ("patient_id", "onset_date", "domains", "description", "treated_with_steroids", "possible_pseudo_relapse")
    _load(Relapse, columns, [(patient.pk, date(2019, 2, 28), ["visual", "motor"], AWKWARD_TEXT, True, False)], now)
    relapse = Relapse.objects.get(patient=patient)
    assert (relapse.onset_date, relapse.domains, relapse.description) == (
        date(2019, 2, 28),
        ["visual", "motor"],
        AWKWARD_TEXT,
    )
    assert (relapse.treated_with_steroids, relapse.possible_pseudo_relapse, relapse.classification) == (True, False, "")


def test_decimals_from_floats_and_integers_keep_their_value(patient):
    """Lab values are planned as floats and ints: stored as the decimal they print as."""
    now = timezone.now()
    at = timezone.now() - timedelta(days=1)
    rows = [
        (patient.pk, "anc", 0.35, "x10^9/L", at, "csv"),
        (patient.pk, "platelets", 214, "x10^9/L", at, "csv"),
        (patient.pk, "cd4", 0.083, "x10^9/L", at, "csv"),
    ]
    _load(LabResult, ("patient_id", "test", "value", "unit", "collected_at", "source"), rows, now)
    values = dict(LabResult.objects.filter(patient=patient).values_list("test", "value"))
    assert values == {"anc": Decimal("0.35"), "platelets": Decimal("214"), "cd4": Decimal("0.083")}


def test_ids_given_are_used_and_reserved_ids_are_new(patient):
    """With "id" among the columns the row keeps it; `reserve_ids` never hands out an id in use."""
    ids = reserve_ids(Patient, 3)
    assert len(set(ids)) == 3
    assert patient.pk not in ids
    assert min(ids) > patient.pk
    now = timezone.now()
    columns = ("id", "centre_id", "first_name", "last_name", "date_of_birth", "hospital_number", "timezone")
    rows = [(pk, patient.centre_id, "Å", "O'Neil", date(1990, 1, 1), f"BULK-{pk}", "Europe/Stockholm") for pk in ids]
    _load(Patient, columns, rows, now)
    loaded = Patient.objects.filter(pk__in=ids)
    assert sorted(loaded.values_list("pk", flat=True)) == ids
    assert {p.status for p in loaded} == {"active"}
    assert len({p.uuid for p in loaded}) == 3
    assert min(reserve_ids(Patient, 2)) > max(ids)


def test_unknown_columns_are_refused(db):
    with pytest.raises(ValueError, match="no columns"):
        BulkTable(EDSSAssessment, ["patient_id", "nonsense"], now=timezone.now())


@pytest.mark.services(needs="PostgreSQL")
def test_indexes_and_constraints_are_restored_exactly(require_postgres, patient):
    """Dropped for a load (secondary indexes, unique constraints, foreign keys; the primary keys stay), re-created
    after it: pg_indexes and pg_constraint describe the tables exactly as before, and the data loaded meanwhile
    obeys them."""
    models = (TimelineEvent, LabResult, EDSSAssessment, MRIScan)
    before = index_definitions(models)
    statements = defer_indexes(models)
    indexes, constraints = index_definitions(models)
    assert len(indexes) < len(before[0])
    assert {name for _, name, _ in indexes} == {f"{m._meta.db_table}_pkey" for m in models}
    assert {kind for _, _, kind, _ in constraints} == {"p", "c"}  # primary keys and checks; no foreign or unique keys
    _load(
        EDSSAssessment,
        ("patient_id", "assessed_on", "score"),
        [(patient.pk, date(2020, 1, 1), Decimal("2.5"))],
        timezone.now(),
    )
    restore_indexes(statements)
    assert index_definitions(models) == before
    assert EDSSAssessment.objects.filter(patient=patient).count() == 1


@pytest.mark.services(needs="PostgreSQL")
def test_a_load_breaking_a_restored_constraint_fails(require_postgres, patient):
    """The constraints are checked when re-created: a duplicate loaded without its unique index is refused then."""
    from django.db import IntegrityError, transaction

    statements = defer_indexes([LabResult])
    at = timezone.now() - timedelta(hours=1)
    row = (patient.pk, "anc", 1.2, "x10^9/L", at, "csv")
    _load(LabResult, ("patient_id", "test", "value", "unit", "collected_at", "source"), [row, row], timezone.now())
    with pytest.raises(IntegrityError), transaction.atomic():
        restore_indexes(statements)
    assert connection.vendor == "postgresql"


def _content(centre_name: str):
    patients = Patient.objects.filter(centre__name=centre_name, hospital_number__startswith="TX-")
    return (
        sorted(patients.values_list("hospital_number", "first_name", "date_of_birth", "episode__reinfusion_date")),
        sorted(LabResult.objects.filter(patient__in=patients).values_list("patient__hospital_number", "test", "value")),
        sorted(
            TimelineEvent.objects.filter(episode__patient__in=patients).values_list(
                "episode__patient__hospital_number", "template_key", "planned_date", "status"
            )
        ),
        sorted(MRIScan.objects.filter(patient__in=patients).values_list("patient__hospital_number", "scan_date")),
    )


@pytest.mark.services(needs="PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_the_parallel_load_gives_the_data_of_the_plain_one(require_postgres, monkeypatch, settings):
    """On PostgreSQL outside a transaction the seed plans in worker processes and writes on a second thread (several
    chunks here): the same patients and records as the plain load inside a transaction, the indexes as before."""
    from django.core.management import call_command
    from django.db import transaction

    from accounts.models import Centre
    from recovery.management.commands import seed_transplanted
    from recovery.models import ProtocolEvent, ProtocolTemplate
    from recovery.services.protocols import load_default_protocols

    load_default_protocols(ProtocolTemplate, ProtocolEvent)
    settings.DEBUG = True
    monkeypatch.setattr(seed_transplanted, "CHUNK", 15)
    before = index_definitions(seed_transplanted.DEFERRED_MODELS)
    for name in ("Parallel", "Plain"):
        Centre.objects.create(name=name, timezone="Europe/Stockholm", phone_24h="+46 18 611 00 00")
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO()}
    call_command("seed_transplanted", patients=50, seed=3, centre="Parallel", **quiet)
    assert index_definitions(seed_transplanted.DEFERRED_MODELS) == before
    with transaction.atomic():
        call_command("seed_transplanted", patients=50, seed=3, centre="Plain", **quiet)
    parallel = _content("Parallel")
    assert len(parallel[0]) == 50
    assert parallel == _content("Plain")
    # Run again: nothing new, nothing doubled.
    call_command("seed_transplanted", patients=50, seed=3, centre="Parallel", **quiet)
    assert _content("Parallel") == parallel
