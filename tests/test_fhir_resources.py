"""The FHIR resource builders of issue 17 (recovery/queries/fhir/): EpisodeOfCare, Procedure, Condition and Flag,
each validated with the fhir.resources R4 models, narrowed by the date window in SQL, in a fixed number of
queries.

"Now" is fixed at 18 November 2026, 12:00 UTC: Day +48 of a transplant on 1 October 2026.
"""

from datetime import UTC, date, datetime

import pytest
from fhir.resources import construct_fhir_element

from recovery.models import Patient
from recovery.models.patients import MSType
from recovery.queries.fhir import RESOURCE_TYPES
from recovery.queries.fhir.common import ALL_TIME, DateRange
from tests.factories import PatientFactory
from tests.fhir_records import DAY0, full_record

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


def _search(name, patient, dates=ALL_TIME):
    return RESOURCE_TYPES[name].search(Patient.objects.filter(pk=patient.pk), dates)


def _valid(resource: dict) -> dict:
    """The resource as fhir.resources reads it back (raises if it is not valid R4)."""
    model = construct_fhir_element(resource["resourceType"], resource)
    return model.dict()


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def test_every_registered_type_is_offered():
    assert {"Patient", "EpisodeOfCare", "Procedure", "Condition", "Flag"} <= set(RESOURCE_TYPES)


@pytest.mark.parametrize("name", ["Patient", "EpisodeOfCare", "Procedure", "Condition", "Flag"])
def test_each_resource_is_valid_fhir_r4(patient, name):
    full_record(patient, n=2)
    resources = _search(name, patient)
    assert resources
    for resource in resources:
        assert resource["resourceType"] == name
        _valid(resource)


def test_the_episode_has_its_phase_status_and_period(patient):
    episode = full_record(patient)
    [resource] = _search("EpisodeOfCare", patient)
    assert resource["id"] == str(episode.uuid)
    assert resource["status"] == "active"
    assert resource["period"] == {"start": episode.mobilisation_date.isoformat()}
    assert resource["patient"] == {"reference": f"Patient/{patient.uuid}"}
    extensions = {item["url"].rsplit(":", 1)[-1]: item for item in resource["extension"]}
    assert extensions["transplant-phase"]["valueCoding"]["code"] == "early_recovery"
    assert extensions["transplant-day"]["valueInteger"] == (NOW.date() - DAY0).days
    assert resource["type"][0]["coding"][0] == {
        "system": "http://snomed.info/sct",
        "code": "425983008",
        "display": "Autologous peripheral blood stem cell transplant",
    }


def test_a_deactivated_patients_episode_is_finished_with_its_end(patient):
    full_record(patient)
    Patient.objects.filter(pk=patient.pk).update(deactivated_at=datetime(2026, 11, 10, 9, tzinfo=UTC))
    [resource] = _search("EpisodeOfCare", patient)
    assert resource["status"] == "finished"
    assert resource["period"]["end"] == "2026-11-10"
    _valid(resource)


def test_an_episode_not_yet_started_is_planned(patient):
    full_record(patient, day0=date(2027, 3, 1))
    [resource] = _search("EpisodeOfCare", patient)
    assert resource["status"] == "planned"
    assert resource["extension"][0]["valueCoding"]["code"] == "evaluation"


def test_the_procedures_of_the_transplant(patient):
    episode = full_record(patient, n=2)
    procedures = _search("Procedure", patient)
    by_text = {}
    for procedure in procedures:
        by_text.setdefault(procedure["code"]["text"], []).append(procedure)
    reinfusion = by_text["Stem cell reinfusion (Day 0)"][0]
    assert reinfusion["performedDateTime"] == DAY0.isoformat()
    assert reinfusion["status"] == "completed"
    assert reinfusion["code"]["coding"][0]["code"] == "425983008"
    assert reinfusion["note"] == [{"text": "CD34+ dose 5.20 x 10^6/kg"}]
    conditioning = by_text["Conditioning chemotherapy (Cy/ATG)"][0]
    assert conditioning["performedPeriod"] == {
        "start": episode.conditioning_start_date.isoformat(),
        "end": "2026-09-30",
    }
    assert conditioning["usedCode"] == [{"text": "Cy/ATG"}]
    assert conditioning["code"]["coding"][0]["code"] == "367336001"
    assert by_text["Stem cell mobilisation: cyclophosphamide"][0]["performedDateTime"] == (
        episode.mobilisation_date.isoformat()
    )
    # each recorded session (not also the episode's first apheresis date), with its yield
    sessions = by_text["Peripheral blood stem cell collection (apheresis)"]
    assert len(sessions) == 2
    assert sessions[0]["note"] == [{"text": "CD34+ yield 2.60 x 10^6/kg"}]
    # the hand-added procedures; the protocol's planned events are not repeated
    assert len(by_text["Central line insertion 1"]) == 1
    assert not any("expected" in text for text in by_text)
    assert len({procedure["id"] for procedure in procedures}) == len(procedures)
    # ids are stable between reads
    assert [p["id"] for p in _search("Procedure", patient)] == [p["id"] for p in procedures]


def test_a_planned_reinfusion_is_in_preparation_and_the_first_apheresis_date_stands_for_no_session(patient):
    from tests.factories import transplant

    transplant(patient, date(2026, 12, 20), mobilised_days_before=50, collected_days_before=40)
    procedures = {p["code"]["text"]: p for p in _search("Procedure", patient)}
    assert procedures["Stem cell reinfusion (Day 0)"]["status"] == "preparation"
    assert procedures["Peripheral blood stem cell collection (apheresis)"]["status"] == "completed"


def test_multiple_sclerosis_and_each_relapse(patient):
    full_record(patient)
    conditions = _search("Condition", patient)
    ms = conditions[0]
    assert ms["code"]["coding"][0]["code"] == "426373005"  # RRMS
    assert ms["onsetDateTime"] == "2015-03-01"
    assert ms["clinicalStatus"]["coding"][0]["code"] == "active"
    relapses = conditions[1:]
    assert [r["verificationStatus"]["coding"][0]["code"] for r in relapses] == ["provisional", "confirmed", "refuted"]
    assert all(r["code"]["coding"][0]["code"] == "192929006" for r in relapses)
    notes = [note["text"] for note in relapses[2]["note"]]
    assert "Functional systems affected: Visual, Sensory (numbness, tingling)" in notes
    assert any(note.startswith("Possible pseudo-relapse") for note in notes)


@pytest.mark.parametrize(
    ("ms_type", "code"),
    [(MSType.SPMS, "425500002"), (MSType.PPMS, "428700003"), ("", "24700007"), (MSType.CIS, None)],
)
def test_the_ms_type_chooses_the_code(centre, ms_type, code):
    patient = PatientFactory(centre=centre, ms_type=ms_type, ms_onset_date=None)
    [ms] = _search("Condition", patient)
    assert "onsetDateTime" not in ms
    if code is None:
        assert ms["code"] == {"text": "Clinically isolated syndrome"}
    else:
        assert ms["code"]["coding"][0]["code"] == code
    _valid(ms)


def test_only_open_and_acknowledged_alerts_are_flags(patient):
    full_record(patient)
    flags = _search("Flag", patient)
    assert len(flags) == 2
    priorities = sorted(flag["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] for flag in flags)
    assert priorities == ["PH", "PM"]
    acknowledged = [flag for flag in flags if len(flag["extension"]) == 2]
    assert len(acknowledged) == 1
    assert all(flag["status"] == "active" for flag in flags)


@pytest.mark.parametrize(
    ("name", "window", "expected"),
    [
        # the hand-added procedure (D-6), the conditioning (from D-5) and the reinfusion only
        ("Procedure", DateRange(_utc(date(2026, 9, 25)), _utc(date(2026, 10, 2))), 3),
        ("Procedure", DateRange(_utc(date(2027, 1, 1)), None), 0),
        # relapses from D+30, the MS onset in 2015
        ("Condition", DateRange(_utc(date(2026, 10, 31)), None), 3),
        ("Condition", DateRange(_utc(date(2015, 1, 1)), _utc(date(2016, 1, 1))), 1),
        ("Flag", DateRange(_utc(date(2026, 10, 4)), _utc(date(2026, 10, 5))), 2),
        ("Flag", DateRange(None, _utc(date(2026, 10, 4))), 0),
        ("EpisodeOfCare", DateRange(None, _utc(date(2026, 8, 1))), 0),
        ("EpisodeOfCare", DateRange(_utc(date(2026, 11, 1)), None), 1),
    ],
)
def test_the_date_window_narrows_each_type(patient, name, window, expected):
    full_record(patient)
    assert len(_search(name, patient, window)) == expected


@pytest.mark.parametrize("name", ["EpisodeOfCare", "Procedure", "Condition", "Flag"])
def test_the_query_count_does_not_grow_with_the_rows(centre, name, django_assert_num_queries):
    small, large = PatientFactory(centre=centre), [PatientFactory(centre=centre) for _ in range(3)]
    full_record(small, n=1)
    for patient in large:
        full_record(patient, n=4)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as one:
        _search(name, small)
    with CaptureQueriesContext(connection) as many:
        found = RESOURCE_TYPES[name].search(Patient.objects.filter(pk__in=[p.pk for p in large]), DateRange())
    assert len(found) > len(_search(name, small))
    assert len(many.captured_queries) == len(one.captured_queries)
