"""Procedure.status (recovery/queries/fhir/procedure.py; H-49): what is recorded, else the day and the period on
the patient's own today. A plan whose day passed with nothing recorded is `unknown`, never `completed`;
conditioning is `in-progress` until Day 0; Day 0 is `in-progress` on the day unless the reinfusion is recorded
given. "Now" is fixed at 18 November 2026, 12:00 UTC (the patient's today is 18 November).
"""

from datetime import UTC, date, datetime, timedelta

import pytest

from recovery.models import Patient, TimelineEvent
from recovery.queries.fhir import RESOURCE_TYPES
from recovery.queries.fhir.common import ALL_TIME
from recovery.queries.fhir.procedure import day_status, event_status, period_status
from tests.factories import transplant

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)
TODAY = date(2026, 11, 18)
FHIR_PROCEDURE_STATUSES = {
    "preparation",
    "in-progress",
    "not-done",
    "on-hold",
    "stopped",
    "completed",
    "entered-in-error",
    "unknown",
}


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


def _days(n: int) -> date:
    return TODAY + timedelta(days=n)


@pytest.mark.parametrize(
    ("recorded", "planned", "expected"),
    [
        ("planned", _days(3), "preparation"),  # ahead
        ("planned", _days(0), "preparation"),  # due today, not yet recorded
        ("planned", _days(-1), "unknown"),  # overdue: the app shows it overdue, nobody said it was done
        ("planned", _days(-400), "unknown"),  # long past, not recorded
        ("done", _days(-1), "completed"),
        ("done", _days(0), "completed"),
        ("cancelled", _days(-1), "not-done"),
        ("cancelled", _days(5), "not-done"),
    ],
)
def test_a_hand_added_event_has_its_recorded_status(recorded, planned, expected):
    assert event_status(recorded, planned, TODAY) == expected


@pytest.mark.parametrize(
    ("day", "recorded", "expected"),
    [
        (_days(1), None, "preparation"),
        (_days(0), None, "in-progress"),  # Day 0 today, not recorded given
        (_days(0), "planned", "in-progress"),
        (_days(0), "done", "completed"),  # recorded given on the day
        (_days(-1), None, "completed"),
        (_days(-1), "cancelled", "not-done"),
    ],
)
def test_a_one_day_procedure_of_the_episode(day, recorded, expected):
    assert day_status(day, TODAY, recorded) == expected


@pytest.mark.parametrize(
    ("start", "day0", "expected"),
    [
        (_days(2), _days(7), "preparation"),
        (_days(0), _days(5), "in-progress"),  # first day
        (_days(-3), _days(2), "in-progress"),  # mid-way
        (_days(-5), _days(1), "in-progress"),  # last day (Day -1)
        (_days(-5), _days(0), "completed"),  # Day 0: the conditioning is over
        (_days(-3), None, "in-progress"),  # no Day 0 recorded: the end is not known
    ],
)
def test_conditioning_is_in_progress_until_day_0(start, day0, expected):
    assert period_status(start, day0, TODAY) == expected


def _procedures(patient) -> dict[str, dict]:
    found = RESOURCE_TYPES["Procedure"].search(Patient.objects.filter(pk=patient.pk), ALL_TIME)
    assert {p["status"] for p in found} <= FHIR_PROCEDURE_STATUSES
    return {p["code"]["text"].split(" (")[0].split(":")[0]: p for p in found}


def test_conditioning_in_progress(patient):
    transplant(patient, _days(2), conditioning_days_before=5, mobilised_days_before=40, collected_days_before=30)
    procedures = _procedures(patient)
    assert procedures["Stem cell mobilisation"]["status"] == "completed"
    assert procedures["Conditioning chemotherapy"]["status"] == "in-progress"
    assert procedures["Conditioning chemotherapy"]["performedPeriod"] == {
        "start": _days(-3).isoformat(),
        "end": _days(1).isoformat(),
    }
    assert procedures["Stem cell reinfusion"]["status"] == "preparation"


def test_day_0_today(patient):
    episode = transplant(patient, TODAY)
    procedures = _procedures(patient)
    assert procedures["Conditioning chemotherapy"]["status"] == "completed"
    assert procedures["Stem cell reinfusion"]["status"] == "in-progress"
    TimelineEvent.objects.filter(episode=episode, template_key="reinfusion-d0").update(status="done")
    assert _procedures(patient)["Stem cell reinfusion"]["status"] == "completed"


def test_day_0_passed_and_mobilisation_cancelled(patient):
    episode = transplant(patient, _days(-1))
    TimelineEvent.objects.filter(episode=episode, template_key="mobilisation-cy").update(status="cancelled")
    procedures = _procedures(patient)
    assert procedures["Stem cell reinfusion"]["status"] == "completed"
    assert procedures["Stem cell mobilisation"]["status"] == "not-done"


@pytest.mark.parametrize(
    ("status", "planned", "expected"),
    [
        ("planned", _days(-2), "unknown"),  # overdue
        ("planned", _days(4), "preparation"),
        ("cancelled", _days(-2), "not-done"),
        ("done", _days(-2), "completed"),
    ],
)
def test_a_hand_added_procedure_in_the_search(patient, status, planned, expected):
    episode = transplant(patient, _days(-30))
    TimelineEvent.objects.create(
        episode=episode, kind="procedure", title="Central line removal", planned_date=planned, status=status
    )
    assert _procedures(patient)["Central line removal"]["status"] == expected


def test_the_statuses_cost_one_query_whatever_the_episodes(centre):
    from tests.factories import PatientFactory

    def count(n: int) -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        patients = [PatientFactory(centre=centre) for _ in range(n)]
        for each in patients:
            transplant(each, TODAY)
        with CaptureQueriesContext(connection) as captured:
            RESOURCE_TYPES["Procedure"].search(Patient.objects.filter(pk__in=[p.pk for p in patients]), ALL_TIME)
        return len(captured.captured_queries)

    assert count(1) == count(4)
