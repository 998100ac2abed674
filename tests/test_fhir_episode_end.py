"""The EpisodeOfCare's end and the Patient's lastUpdated (recovery/queries/fhir/episode.py, patient.py).

A deactivated patient's episode ends on the day of deactivation in the patient's zone; a withdrawn or deceased
one is `finished` with the period left open, as the app does not store the day (docs/fhir.md). Every instant is
written in UTC with a Z. "Now" is fixed at 18 November 2026, 12:00 UTC.
"""

from datetime import UTC, date, datetime

import pytest

from recovery.models import Patient
from recovery.models.patients import PatientStatus
from recovery.queries.fhir import RESOURCE_TYPES
from recovery.queries.fhir.common import ALL_TIME
from tests.factories import transplant

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


def _one(name: str, patient) -> dict:
    [resource] = RESOURCE_TYPES[name].search(Patient.objects.filter(pk=patient.pk), ALL_TIME)
    return resource


def test_the_patients_last_updated_is_an_instant_in_utc(patient):
    updated = _one("Patient", patient)["meta"]["lastUpdated"]
    assert updated.endswith("Z")
    assert "+00:00" not in updated
    assert datetime.fromisoformat(updated) == Patient.objects.get(pk=patient.pk).updated_at


def test_a_deactivated_patients_episode_ends_that_day_in_their_zone(patient):
    transplant(patient, date(2026, 10, 1))
    # 23:30 UTC on 9 November is 00:30 on the 10th in Stockholm
    Patient.objects.filter(pk=patient.pk).update(
        deactivated_at=datetime(2026, 11, 9, 23, 30, tzinfo=UTC), timezone="Europe/Stockholm"
    )
    episode = _one("EpisodeOfCare", patient)
    assert episode["status"] == "finished"
    assert episode["period"]["end"] == "2026-11-10"


@pytest.mark.parametrize("status", [PatientStatus.WITHDRAWN, PatientStatus.DECEASED])
def test_a_withdrawn_or_deceased_patients_episode_is_finished_with_no_end_the_app_does_not_know(patient, status):
    transplant(patient, date(2026, 10, 1))
    Patient.objects.filter(pk=patient.pk).update(status=status)
    episode = _one("EpisodeOfCare", patient)
    assert episode["status"] == "finished"
    assert "start" in episode["period"]
    assert "end" not in episode["period"]
