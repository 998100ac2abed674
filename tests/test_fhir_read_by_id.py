"""Read by id for every patient resource type (`/fhir/R4/{Type}/{id}`, recovery/queries/fhir/owners.py).

Every entry of a patient's $everything is read back by its fullUrl and is the same resource; another centre's
staff and another patient get a 404 OperationOutcome; a malformed id is a 404, never a 500; the number of
queries does not grow with the patient's rows. "Now" is fixed at 18 November 2026, 12:00 UTC.
"""

import json
import re
import uuid
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recovery.models import AuditEvent, LabResult, Patient
from recovery.queries.fhir import RESOURCE_TYPES
from recovery.queries.fhir.condition import MS_PREFIX, ms_condition_id
from recovery.queries.fhir.medication import statement_id, statement_of_id
from recovery.queries.fhir.owners import OWNERS
from recovery.queries.fhir.procedure import episode_of_procedure_id, procedure_id
from tests.factories import PatientFactory
from tests.test_fhir_clinical import record

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)
BASE = "http://testserver/fhir/R4/"


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


def _everything(client, patient) -> list[dict]:
    response = client.get(f"/fhir/R4/Patient/{patient.uuid}/$everything")
    assert response.status_code == 200, response.content
    return json.loads(response.content)["entry"]


def _read(client, full_url: str):
    assert full_url.startswith(BASE), full_url
    return client.get("/fhir/R4/" + full_url.removeprefix(BASE))


def _not_found(response) -> None:
    assert response.status_code == 404, (response.status_code, response.content)
    data = json.loads(response.content)
    assert data["resourceType"] == "OperationOutcome"
    assert data["issue"][0]["code"] == "not-found"


@pytest.fixture
def whole(patient, clinician):
    """A patient with a resource of every type: labs, check-ins, EDSS, MRI, doses, a stop, relapses, alerts."""
    record(patient, clinician)
    full_record_extras(patient)
    return patient


def full_record_extras(patient, i: int = 0):
    from datetime import date, timedelta
    from decimal import Decimal

    from recovery.models import Alert, ApheresisSession, Relapse, TimelineEvent

    episode = patient.episode
    ApheresisSession.objects.create(episode=episode, collected_on=episode.apheresis_date, cd34_per_kg=Decimal("3"))
    TimelineEvent.objects.create(
        episode=episode, kind="procedure", title="Central line", planned_date=date(2025, 3, 4), status="done"
    )
    Relapse.objects.create(patient=patient, onset_date=date(2026, 6, 1), classification="relapse", domains=[])
    Alert.objects.create(
        patient=patient,
        kind=f"fever-{i}",
        severity="urgent",
        severity_rank=3,
        status="open",
        reason="Fever",
        rule="fever",
        created_at=NOW - timedelta(days=1),
    )


def test_every_type_with_patient_resources_has_an_owner_lookup():
    with_search = {name for name, kind in RESOURCE_TYPES.items() if kind.search is not None}
    assert with_search - {"Patient"} == set(OWNERS)


def test_every_resource_of_everything_is_read_back_by_its_full_url(api_for, whole, clinician):
    client = api_for(clinician)
    entries = [entry for entry in _everything(client, whole) if entry["search"]["mode"] == "match"]
    types = {entry["resource"]["resourceType"] for entry in entries}
    assert types == {name for name, kind in RESOURCE_TYPES.items() if kind.search is not None}
    ids = {entry["resource"]["resourceType"]: set() for entry in entries}
    for entry in entries:
        ids[entry["resource"]["resourceType"]].add(entry["resource"]["id"].split("-")[0])
    assert {"lab", "temp", "edss", "mri"} <= ids["Observation"]  # every kind of observation id is in the test
    assert any(i.startswith("rx") for i in ids["MedicationStatement"])
    before = AuditEvent.objects.filter(action="fhir.read", patient=whole).count()
    for entry in entries:
        response = _read(client, entry["fullUrl"])
        assert response.status_code == 200, (entry["fullUrl"], response.content)
        assert response["Content-Type"] == "application/fhir+json; charset=utf-8"
        assert json.loads(response.content) == entry["resource"], entry["fullUrl"]
    after = AuditEvent.objects.filter(action="fhir.read", patient=whole)
    assert after.count() == before + len(entries)
    lab = next(e["resource"]["id"] for e in entries if e["resource"]["id"].startswith("lab-"))
    assert after.filter(detail__resource="Observation", detail__id=lab).count() == 1


def test_the_lab_imports_location_is_readable(api_for, patient, clinician):
    record(patient, clinician)
    lab = LabResult.objects.filter(patient=patient).first()
    response = api_for(clinician).get(f"/fhir/R4/Observation/lab-{lab.uuid}")
    assert response.status_code == 200
    assert json.loads(response.content)["id"] == f"lab-{lab.uuid}"


@pytest.mark.parametrize("who", ["other_centre_coordinator", "other_centre_clinician", "other_patient"])
def test_another_centre_or_another_patient_gets_404_for_every_resource(api_for, request, whole, clinician, who):
    entries = [e for e in _everything(api_for(clinician), whole) if e["search"]["mode"] == "match"]
    outsider = request.getfixturevalue(who)
    client = api_for(outsider.user if who == "other_patient" else outsider)
    for entry in entries:
        _not_found(_read(client, entry["fullUrl"]))
    assert not AuditEvent.objects.filter(action="fhir.read", patient=whole).exclude(actor=clinician).exists()


def test_the_patient_reads_their_own_resources(api_for, whole):
    client = api_for(whole.user)
    for entry in _everything(client, whole)[:12]:
        assert _read(client, entry["fullUrl"]).status_code == 200


@pytest.mark.parametrize(
    "path",
    [
        "Observation/not-a-uuid",
        "Observation/lab-not-a-uuid",
        "Observation/spaceship-00000000-0000-0000-0000-000000000000",
        "Observation/00000000-0000-0000-0000-000000000000",
        "Observation/lab-00000000-0000-0000-0000-000000000000",
        "Procedure/00000000-0000-0000-0000-000000000000",
        "Procedure/xyz",
        "Condition/%20",
        "MedicationStatement/rx-nothing",
        "MedicationStatement/rx-00000000-0000-0000-0000-000000000000",
        "MedicationStatement/00000000-0000-0000-0000-000000000000",
        "EpisodeOfCare/00000000-0000-0000-0000-00000000000Z",
        "Flag/" + "9" * 200,
        "Immunization/{0}",
        "QuestionnaireResponse/lab-00000000-0000-0000-0000-000000000000",
    ],
)
def test_a_malformed_or_unknown_id_is_404_not_500(api_for, whole, clinician, path):
    _not_found(api_for(clinician).get(f"/fhir/R4/{path}"))


def test_an_id_of_one_type_is_not_found_as_another(api_for, whole, clinician):
    client = api_for(clinician)
    entries = [e for e in _everything(client, whole) if e["search"]["mode"] == "match"]
    flag = next(e["resource"]["id"] for e in entries if e["resource"]["resourceType"] == "Flag")
    _not_found(client.get(f"/fhir/R4/Condition/{flag}"))
    _not_found(client.get(f"/fhir/R4/Observation/lab-{flag}"))


def test_a_protocol_event_is_not_a_procedure_by_its_uuid(api_for, whole, clinician):
    """The protocol's own timeline events are not sent as Procedures (the episode's dates are): not readable."""
    event = whole.episode.events.filter(template_key__isnull=False).first()
    _not_found(api_for(clinician).get(f"/fhir/R4/Procedure/{event.uuid}"))


def test_the_questionnaire_is_still_read_by_id(api_for, clinician):
    from recovery.queries.fhir.questionnaire import QUESTIONNAIRE_ID

    assert api_for(clinician).get(f"/fhir/R4/Questionnaire/{QUESTIONNAIRE_ID}").status_code == 200
    _not_found(api_for(clinician).get("/fhir/R4/Questionnaire/nothing"))


@pytest.mark.parametrize("name", sorted(OWNERS))
def test_a_read_by_id_takes_a_fixed_number_of_queries(api_for, clinician, centre, name):
    """Read the first and the last resource of the type for a patient with few rows and one with many, in a
    centre of one patient and of several: the same number of queries."""

    def queries(extra_patients: int, repeat: int) -> list[int]:
        patient = PatientFactory(centre=centre)
        record(patient, clinician)
        for i in range(repeat):
            full_record_extras(patient, i)
        for _ in range(extra_patients):
            other = PatientFactory(centre=centre)
            record(other, clinician)
        client = api_for(clinician)
        entries = [
            e
            for e in _everything(client, patient)
            if e["search"]["mode"] == "match" and e["resource"]["resourceType"] == name
        ]
        counts = []
        for entry in (entries[0], entries[-1]):  # a derived id (uuid5) and a stored one, where the type has both
            with CaptureQueriesContext(connection) as captured:
                response = _read(client, entry["fullUrl"])
            assert response.status_code == 200, response.content
            counts.append(len(captured.captured_queries))
        return counts

    assert queries(0, 1) == queries(3, 3)


def test_the_capability_statement_offers_read_for_every_type(client):
    data = json.loads(client.get("/fhir/R4/metadata").content)
    offered = {entry["type"]: entry["interaction"] for entry in data["rest"][0]["resource"]}
    assert set(offered) == set(RESOURCE_TYPES)
    assert all({"code": "read"} in interactions for interactions in offered.values())


@pytest.mark.parametrize("medication", ["aciclovir", "co_trimoxazole", "m" * 32])
def test_a_derived_id_names_its_owner_and_fits_fhirs_64_characters(medication):
    """The ids built from an episode's dates or a patient's course say whose they are (one indexed lookup to
    find the owner, not a hash of every patient in sight) and stay valid FHIR ids."""
    someone = uuid.uuid4()
    statement = statement_id(Patient(uuid=someone), medication)
    assert statement_of_id(statement) == (someone, medication)
    assert ms_condition_id(Patient(uuid=someone)) == f"{MS_PREFIX}{someone}"
    steps = [procedure_id(someone, what) for what in ("conditioning", "reinfusion", "apheresis-123456789")]
    assert [episode_of_procedure_id(step) for step in steps] == [someone] * 3
    for resource_id in [statement, ms_condition_id(Patient(uuid=someone)), *steps]:
        assert re.fullmatch(r"[A-Za-z0-9\-.]{1,64}", resource_id), resource_id
    assert episode_of_procedure_id(f"{someone}-surgery") is None
    assert statement_of_id("rx-nothing") is None
