"""/fhir/R4/ (issue 17): metadata, Patient read, search with paging and the date window, $everything.

Every Bundle and resource is validated with the fhir.resources R4 models. "Now" is fixed at 18 November 2026,
12:00 UTC: Day +48 of the transplant of tests/fhir_records.py.
"""

import json
import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources import construct_fhir_element
from fhir.resources.bundle import Bundle
from fhir.resources.capabilitystatement import CapabilityStatement

from recovery.api.fhir.views import MAX_BATCH
from recovery.models import AuditEvent
from recovery.queries.fhir import RESOURCE_TYPES
from tests.factories import PatientFactory
from tests.fhir_records import full_record

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)
BASE = "http://testserver/fhir/R4/"
INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]+Z")
FHIR_JSON = "application/fhir+json; charset=utf-8"


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


def _json(response) -> dict:
    assert response["Content-Type"] == FHIR_JSON, response["Content-Type"]
    return json.loads(response.content)


def _bundle(response) -> dict:
    assert response.status_code == 200, response.content
    data = _json(response)
    parsed = Bundle.parse_obj(data)
    # the round trip: parsed and written out again, the same content
    assert _instants_as_offsets(json.loads(parsed.json())) == _instants_as_offsets(data)
    for entry in data.get("entry", []):
        construct_fhir_element(entry["resource"]["resourceType"], entry["resource"])
    return data


def _instants_as_offsets(value):
    """The same content with each instant's "Z" written "+00:00", as fhir.resources writes it back."""
    if isinstance(value, dict):
        return {key: _instants_as_offsets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_instants_as_offsets(item) for item in value]
    if isinstance(value, str) and INSTANT.fullmatch(value):
        return value.removesuffix("Z") + "+00:00"
    return value


def _outcome(response, status: int) -> str:
    assert response.status_code == status, response.content
    data = _json(response)
    construct_fhir_element("OperationOutcome", data)
    return data["issue"][0]["diagnostics"]


def _types(data: dict) -> list[str]:
    return [entry["resource"]["resourceType"] for entry in data.get("entry", [])]


# metadata --------------------------------------------------------------------------------------------------


def test_the_capability_statement_lists_every_registered_type(client):
    response = client.get("/fhir/R4/metadata")
    assert response.status_code == 200
    data = _json(response)
    CapabilityStatement.parse_obj(data)
    assert data["fhirVersion"] == "4.0.1"
    resources = {entry["type"]: entry for entry in data["rest"][0]["resource"]}
    assert set(resources) == set(RESOURCE_TYPES)
    assert {param["name"] for param in resources["Procedure"]["searchParam"]} == {"patient", "date", "_count"}
    assert resources["Patient"]["operation"][0]["name"] == "everything"
    assert {"code": "read"} in resources["Patient"]["interaction"]


# read -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["coordinator", "clinician", "own"])
def test_the_patient_is_read_by_whoever_sees_them_and_audited(api_for, request, patient, who):
    user = patient.user if who == "own" else request.getfixturevalue(who)
    response = api_for(user).get(f"/fhir/R4/Patient/{patient.uuid}")
    assert response.status_code == 200
    data = _json(response)
    construct_fhir_element("Patient", data)
    assert data["id"] == str(patient.uuid)
    event = AuditEvent.objects.get(action="fhir.read")
    assert (event.patient_id, event.actor_id) == (patient.pk, user.pk)


@pytest.mark.parametrize("who", ["other_patient", "other_centre_coordinator", "other_centre_clinician"])
def test_a_patient_out_of_sight_is_404_as_an_operation_outcome(api_for, request, patient, who):
    user = request.getfixturevalue(who)
    user = getattr(user, "user", user)
    client = api_for(user)
    assert "No such patient" in _outcome(client.get(f"/fhir/R4/Patient/{patient.uuid}"), 404)
    _outcome(client.get(f"/fhir/R4/Patient/{patient.uuid}/$everything"), 404)
    _outcome(client.get(f"/fhir/R4/Condition?patient={patient.uuid}"), 404)
    assert not AuditEvent.objects.filter(action__startswith="fhir.").exists()


def test_a_session_works_as_well_as_a_token_and_nothing_is_401(client_for, api_for, patient):
    assert client_for(patient.user).get(f"/fhir/R4/Patient/{patient.uuid}").status_code == 200
    assert "credentials" in _outcome(api_for(None).get(f"/fhir/R4/Patient/{patient.uuid}"), 401).lower()
    bad = api_for(None)
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    _outcome(bad.get(f"/fhir/R4/Patient/{patient.uuid}"), 401)


def test_unknown_types_ids_and_reads_by_id(api_for, coordinator, patient):
    client = api_for(coordinator)
    assert "Spaceship" in _outcome(client.get("/fhir/R4/Spaceship"), 404)
    _outcome(client.get("/fhir/R4/Patient/not-a-uuid"), 404)
    # every type is read by id (tests/test_fhir_read_by_id.py): a patient's id is no Condition's
    assert "No Condition" in _outcome(client.get(f"/fhir/R4/Condition/{patient.uuid}"), 404)


def test_accept_application_json_still_gets_fhir_json(api_for, coordinator, patient):
    response = api_for(coordinator).get(f"/fhir/R4/Patient/{patient.uuid}", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    _json(response)
    _outcome(api_for(coordinator).get(f"/fhir/R4/Patient/{patient.uuid}?_format=xml"), 406)


# search -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("reference", ["{id}", "Patient/{id}"])
def test_search_by_patient(api_for, clinician, patient, other_patient, reference):
    full_record(patient, n=2)
    full_record(other_patient)
    value = reference.format(id=patient.uuid)
    data = _bundle(api_for(clinician).get("/fhir/R4/Condition", {"patient": value}))
    assert data["type"] == "searchset"
    assert data["total"] == 7  # MS and six relapses
    assert {entry["resource"]["subject"]["reference"] for entry in data["entry"]} == {f"Patient/{patient.uuid}"}
    for entry in data["entry"]:
        assert entry["search"] == {"mode": "match"}
        assert entry["fullUrl"] == f"{BASE}Condition/{entry['resource']['id']}"
    assert [link["relation"] for link in data["link"]] == ["self"]
    assert list(AuditEvent.objects.filter(action="fhir.search").values_list("patient_id", flat=True)) == [patient.pk]


def test_the_date_window_narrows_the_search(api_for, clinician, patient):
    full_record(patient)
    client = api_for(clinician)
    url = f"/fhir/R4/Procedure?patient={patient.uuid}"
    everything = _bundle(client.get(url))["total"]
    window = _bundle(client.get(f"{url}&date=ge2026-09-25&date=lt2026-10-02"))
    assert 0 < window["total"] < everything
    assert window["total"] == 3  # the hand-added procedure, the conditioning, the reinfusion
    assert _bundle(client.get(f"{url}&date=2026-10-01"))["total"] == 1  # eq a day: the reinfusion
    assert _bundle(client.get(f"{url}&date=gt2026-10-01"))["total"] == 0
    assert _bundle(client.get(f"{url}&date=le2026"))["total"] == everything
    assert _bundle(client.get(f"{url}&date=2026-10"))["total"] == 1
    assert _bundle(client.get(f"{url}&date=ge2026-10-01T00:00:00%2B02:00&date=lt2026-10-01T12:00Z"))["total"] == 1


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("date=2026-13-01", "not a real date"),
        ("date=yesterday", "not a date"),
        ("date=ap2026-01-01", "prefix 'ap' is not supported"),
        ("date=ge2026-01-01T10:00", "time zone"),
        ("_count=0", "1 to 200"),
        ("_count=many", "1 to 200"),
        ("_count=500", "1 to 200"),
        ("code=8310-5", "Unknown parameter(s): code"),
        ("patient=Observation/1", "Patient/"),
        ("_cursor=abc", "next link"),
    ],
)
def test_a_bad_parameter_is_a_400_operation_outcome(api_for, coordinator, patient, query, words):
    diagnostics = _outcome(api_for(coordinator).get(f"/fhir/R4/Procedure?{query}"), 400)
    assert words in diagnostics


def test_pages_follow_the_next_link_to_every_resource_once(api_for, coordinator, centre):
    patients = [PatientFactory(centre=centre) for _ in range(3)]
    for patient in patients:
        full_record(patient, n=2)
    client = api_for(coordinator)
    first = _bundle(client.get("/fhir/R4/Condition", {"_count": 4}))
    assert first["total"] == 21  # three patients: MS and six relapses each
    seen, page = [], first
    while True:
        seen.extend(entry["resource"]["id"] for entry in page.get("entry", []))
        links = {link["relation"]: link["url"] for link in page["link"]}
        if "next" not in links:
            break
        assert links["next"].startswith("http://testserver/fhir/R4/Condition?")
        assert "_count=4" in links["next"]
        page = _bundle(client.get(links["next"]))
        assert len(page.get("entry", [])) <= 4
    assert len(seen) == len(set(seen)) == 21


def test_without_a_patient_staff_see_their_centre_and_a_patient_only_themself(
    api_for, coordinator, patient, other_patient, other_centre_patient
):
    for someone in (patient, other_patient, other_centre_patient):
        full_record(someone)
    staff = _bundle(api_for(coordinator).get("/fhir/R4/Flag"))
    subjects = {entry["resource"]["subject"]["reference"] for entry in staff["entry"]}
    assert subjects == {f"Patient/{patient.uuid}", f"Patient/{other_patient.uuid}"}
    own = _bundle(api_for(patient.user).get("/fhir/R4/Flag"))
    assert {entry["resource"]["subject"]["reference"] for entry in own["entry"]} == {f"Patient/{patient.uuid}"}
    patients = _bundle(api_for(patient.user).get("/fhir/R4/Patient"))
    assert [entry["resource"]["id"] for entry in patients["entry"]] == [str(patient.uuid)]


def test_a_search_reads_a_fixed_number_of_queries(api_for, coordinator, centre):
    def queries(n: int) -> int:
        patient = PatientFactory(centre=centre)
        full_record(patient, n=n)
        client = api_for(coordinator)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/fhir/R4/Procedure?patient={patient.uuid}")
        assert response.status_code == 200
        return len(captured.captured_queries)

    assert queries(1) == queries(6)


# $everything ------------------------------------------------------------------------------------------------


def test_everything_is_the_whole_record_as_a_valid_bundle(api_for, patient):
    full_record(patient, n=2)
    data = _bundle(api_for(patient.user).get(f"/fhir/R4/Patient/{patient.uuid}/$everything"))
    types = _types(data)
    assert types[0] == "Patient"
    assert {"EpisodeOfCare", "Procedure", "Condition", "Flag"} <= set(types)
    assert data["total"] == len([e for e in data["entry"] if e["search"]["mode"] == "match"])
    assert AuditEvent.objects.filter(action="fhir.everything", patient=patient).count() == 1


def test_everything_with_start_end_and_type(api_for, clinician, patient):
    full_record(patient)
    client = api_for(clinician)
    url = f"/fhir/R4/Patient/{patient.uuid}/$everything"
    data = _bundle(client.get(f"{url}?start=2026-10-31&_type=Patient,Condition"))
    assert _types(data) == ["Patient", "Condition", "Condition", "Condition"]  # the relapses from D+30
    assert "not a resource type" in _outcome(client.get(f"{url}?_type=Spaceship"), 404)
    assert "not a real date" in _outcome(client.get(f"{url}?end=2026-02-30"), 400)


def test_everything_reads_a_fixed_number_of_queries(api_for, clinician, centre):
    def queries(n: int) -> int:
        patient = PatientFactory(centre=centre)
        full_record(patient, n=n)
        client = api_for(clinician)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/fhir/R4/Patient/{patient.uuid}/$everything")
        assert response.status_code == 200
        return len(captured.captured_queries)

    assert queries(1) == queries(5)


def test_the_access_log_names_fhir_reads_in_the_patients_language():
    from django.utils import translation

    from recovery.queries.audit import describe_action

    assert describe_action("fhir.everything") == "Fetched your whole record through the FHIR interface"
    assert (
        describe_action("fhir.search", for_staff=True) == "Read part of the patient's record through the FHIR interface"
    )
    with translation.override("sv"):
        assert describe_action("fhir.read") == "Läste din journal via FHIR-gränssnittet"


def test_a_page_audits_exactly_the_patients_it_shows(api_for, coordinator, centre):
    patients = [PatientFactory(centre=centre) for _ in range(3)]
    data = _bundle(api_for(coordinator).get("/fhir/R4/Condition", {"_count": 2}))
    shown = {entry["resource"]["subject"]["reference"].removeprefix("Patient/") for entry in data["entry"]}
    assert len(shown) == 2
    audited = set(AuditEvent.objects.filter(action="fhir.search").values_list("patient__uuid", flat=True))
    assert {str(uuid) for uuid in audited} == shown
    assert {str(p.uuid) for p in patients} > shown


def test_a_sparse_type_over_many_patients_takes_a_few_batches_not_one_per_patient(api_for, coordinator, centre):
    from recovery.models import Alert

    patients = [PatientFactory(centre=centre) for _ in range(60)]
    last = max(patients, key=lambda p: p.pk)
    Alert.objects.create(
        patient=last, kind="fever", severity="urgent", severity_rank=3, reason="Fever", rule="fever", created_at=NOW
    )
    client = api_for(coordinator)
    with CaptureQueriesContext(connection) as captured:
        data = _bundle(client.get("/fhir/R4/Flag"))
    assert [entry["resource"]["subject"]["reference"] for entry in data["entry"]] == [f"Patient/{last.uuid}"]
    assert [link["relation"] for link in data["link"]] == ["self"]
    assert "total" not in data  # two batches: not counted without reading more
    assert len(captured.captured_queries) < 15


@pytest.mark.parametrize(
    ("values", "start", "end"),
    [
        (["2025"], "2025-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
        (["eq2025-12"], "2025-12-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00"),
        (["gt2025-03"], "2025-04-01T00:00:00+00:00", None),
        (["le2025-03-10"], None, "2025-03-11T00:00:00+00:00"),
        (["lt2025-03-10T08:15+01:00"], None, "2025-03-10T07:15:00+00:00"),
        (["ge2025-03-10T08:15:30Z"], "2025-03-10T08:15:30+00:00", None),
        (["le2025-03-10T08:15:30.5Z"], None, "2025-03-10T08:15:30.600000+00:00"),  # .5: a tenth of a second
        (["lt2025-03-10T08:15:30.250Z"], None, "2025-03-10T08:15:30.250000+00:00"),
        (
            ["ge2025-01-01", "gt2025-02-01", "lt2025-06-01", "le2025-12"],
            "2025-02-02T00:00:00+00:00",
            "2025-06-01T00:00:00+00:00",
        ),
    ],
)
def test_date_values_and_prefixes_make_the_window(values, start, end):
    from recovery.api.fhir.params import date_range

    window = date_range(values)
    assert (window.start and window.start.isoformat(), window.end and window.end.isoformat()) == (start, end)


def test_a_cursor_cannot_ask_for_every_patient_at_once(api_for, coordinator, centre):
    """The batch in a cursor is held to the largest the server uses: a made-up one reads no more than that."""
    PatientFactory(centre=centre)
    PatientFactory(centre=centre)
    data = _bundle(api_for(coordinator).get("/fhir/R4/Patient", {"_cursor": "0.999999999.0", "_count": 1}))
    assert len(data["entry"]) == 1
    following = next(link["url"] for link in data["link"] if link["relation"] == "next")
    assert following.endswith(f"_cursor=0.{MAX_BATCH}.1")


def test_a_type_with_definitions_is_read_by_id_and_offered_in_metadata(api_for, coordinator, patient, monkeypatch):
    """A type registered with `definitions()` (the check-in's Questionnaire) shows up in the CapabilityStatement,
    is read by id and searched without patient data, and $everything includes it."""
    from recovery.queries.fhir.common import ResourceType

    questionnaire = {
        "resourceType": "Questionnaire",
        "id": "checkin",
        "status": "active",
        "item": [{"linkId": "fever", "text": "Fever?", "type": "boolean"}],
    }
    kind = ResourceType("Questionnaire", definitions=lambda: [questionnaire], description="The check-in.")
    monkeypatch.setitem(RESOURCE_TYPES, "Questionnaire", kind)
    client = api_for(coordinator)
    offered = {entry["type"]: entry for entry in _json(client.get("/fhir/R4/metadata"))["rest"][0]["resource"]}
    assert {"code": "read"} in offered["Questionnaire"]["interaction"]
    assert "searchParam" not in offered["Questionnaire"]
    response = client.get("/fhir/R4/Questionnaire/checkin")
    assert response.status_code == 200
    assert _json(response) == questionnaire
    _outcome(client.get("/fhir/R4/Questionnaire/other"), 404)
    assert _bundle(client.get("/fhir/R4/Questionnaire"))["total"] == 1
    everything = _bundle(client.get(f"/fhir/R4/Patient/{patient.uuid}/$everything"))
    assert everything["entry"][-1] == {
        "fullUrl": f"{BASE}Questionnaire/checkin",
        "resource": questionnaire,
        "search": {"mode": "include"},
    }


@pytest.mark.parametrize(
    "query",
    [
        "date=",
        "date=ge",
        "date=9999",
        "date=9999-12",
        "date=0000",
        "date=ge9999-12-31T23:59:59Z",
        "date=\uff12\uff10\uff12\uff15-\uff11\uff13",  # full-width digits
        "date=2025-02-29",
        "date=2025%00",
        "date=" + "9" * 300,
        "_count=\uff11\uff10\uff10\uff10",
        "_count=-1",
        "_cursor=1.2.3.4",
        "_cursor=-1.0.0",
        "patient=",
        "patient=%00",
        "patient=Patient/",
        "patient=a&patient=b",
    ],
)
def test_odd_parameters_are_a_400_or_404_never_a_500(api_for, coordinator, query):
    response = api_for(coordinator).get(f"/fhir/R4/Procedure?{query}")
    assert response.status_code in (400, 404), (query, response.status_code)
    _outcome(response, response.status_code)
