"""Lab results in as FHIR (issue 17 item 3): POST /fhir/R4/ with a laboratory's Bundle of Observations."""

import json
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources.bundle import Bundle
from fhir.resources.operationoutcome import OperationOutcome
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from recovery.models import AuditEvent, LabResult, LabSource, LabTest
from recovery.queries.fhir.patient import HOSPITAL_NUMBER_SYSTEM
from recovery.queries.labs import engraftment_proposal
from recovery.queries.timeline import patient_today
from tests.factories import PatientFactory, transplant

pytestmark = pytest.mark.django_db

URL = "/fhir/R4/"
FHIR_JSON = "application/fhir+json"


def _at(patient, day, hour=7, minute=30) -> str:
    """A FHIR dateTime on `day` at `hour` in the patient's zone, with its offset."""
    return datetime.combine(day, time(hour, minute), tzinfo=patient.tz).isoformat()


def observation(
    subject, loinc, value, unit_code, effective, *, status="final", unit_system="http://unitsofmeasure.org"
):
    quantity = {"value": value, "unit": unit_code}
    if unit_system:
        quantity.update(system=unit_system, code=unit_code)
    resource = {
        "resourceType": "Observation",
        "status": status,
        "category": [
            {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
        "subject": subject,
        "valueQuantity": quantity,
    }
    if effective is not None:
        resource["effectiveDateTime"] = effective
    return {"resource": resource, "request": {"method": "POST", "url": "Observation"}}


def by_id(patient):
    return {"reference": f"Patient/{patient.uuid}"}


def by_number(patient, number=None):
    system = HOSPITAL_NUMBER_SYSTEM.format(centre=patient.centre.uuid)
    return {"identifier": {"system": system, "value": number or patient.hospital_number}}


def bundle(*entries, kind="batch"):
    return {"resourceType": "Bundle", "type": kind, "entry": list(entries)}


def post(api, body, content_type=FHIR_JSON):
    data = body if isinstance(body, bytes | str) else json.dumps(body, default=float)
    return api.post(URL, data=data, content_type=content_type)


def statuses(response):
    return [entry["response"]["status"] for entry in response.json()["entry"]]


@pytest.fixture
def second_patient(centre):
    return PatientFactory(centre=centre, hospital_number="UAS-2002")


@pytest.fixture
def lab_bundle(patient, second_patient):
    """A morning's results from the hospital laboratory: two patients, counts in three UCUM spellings, and six
    entries that must be refused each for its own reason."""
    today = patient_today(patient)
    day = today - timedelta(days=1)
    return bundle(
        observation(by_id(patient), "751-8", 0.6, "10*9/L", _at(patient, day)),  # 0 ANC, canonical unit
        observation(by_id(patient), "777-3", 25000, "/uL", _at(patient, day)),  # 1 platelets in /uL: 25
        observation(by_number(second_patient), "751-8", 1.2, "10*3/uL", _at(second_patient, day)),  # 2 ANC 10^3/uL
        observation(by_number(second_patient), "718-7", 11.5, "g/dL", _at(second_patient, day)),  # 3 Hb g/dL: 115
        observation(by_id(patient), "2345-7", 5.4, "mmol/L", _at(patient, day)),  # 4 glucose: unknown to the app
        observation(by_id(patient), "6690-2", 4.1, "10*9/L", f"{day.isoformat()}T07:30:00"),  # 5 no time zone
        observation(by_id(patient), "6690-2", 4.1, "10*6/L", _at(patient, day)),  # 6 a unit that is not WBC's
        observation(by_id(patient), "777-3", 2500, "10*9/L", _at(patient, day, 8)),  # 7 implausible platelets
        observation(
            {"reference": "Patient/00000000-0000-4000-8000-000000000000"}, "751-8", 0.4, "10*9/L", _at(patient, day)
        ),  # 8 unknown patient
        observation(by_id(patient), "751-8", 0.9, "10*9/L", _at(patient, day, 9), status="preliminary"),  # 9
    )


EXPECTED = [
    "201 Created",
    "201 Created",
    "201 Created",
    "201 Created",
    "422 Unprocessable Entity",
    "422 Unprocessable Entity",
    "422 Unprocessable Entity",
    "422 Unprocessable Entity",
    "404 Not Found",
    "422 Unprocessable Entity",
]


def test_a_laboratory_bundle_gives_one_outcome_per_entry(api_for, coordinator, patient, second_patient, lab_bundle):
    """Each entry is imported or refused on its own, in order; the refusals say why in words."""
    response = post(api_for(coordinator), lab_bundle)
    assert response.status_code == 200
    assert response["Content-Type"].startswith(FHIR_JSON)
    body = response.json()
    Bundle.parse_obj(body)  # a valid R4 Bundle
    assert body["type"] == "batch-response"
    assert statuses(response) == EXPECTED
    stored = {(r.patient_id, r.test): (r.value, r.unit, r.source) for r in LabResult.objects.all()}
    assert stored == {
        (patient.pk, "anc"): (Decimal("0.6"), "x10^9/L", LabSource.FHIR),
        (patient.pk, "platelets"): (Decimal("25"), "x10^9/L", LabSource.FHIR),
        (second_patient.pk, "anc"): (Decimal("1.2"), "x10^9/L", LabSource.FHIR),
        (second_patient.pk, "haemoglobin"): (Decimal("115"), "g/L", LabSource.FHIR),
    }
    entries = body["entry"]
    anc = LabResult.objects.get(patient=patient, test="anc")
    assert entries[0]["response"]["location"] == f"Observation/lab-{anc.uuid}"
    words = [entry["response"]["outcome"]["issue"][0]["diagnostics"] for entry in entries]
    assert "LOINC 2345-7 is not a lab test" in words[4]
    assert "no time zone offset" in words[5]
    assert "“10^6/L” is not a unit for White cells (WBC)" not in words[6]  # the code as sent is named
    assert "“10*6/L” is not a unit for White cells (WBC)" in words[6]
    assert "Its UCUM code is 10*9/L" in words[6]
    assert "did you mean 2.5?" in words[7]
    assert "No patient of yours" in words[8]
    assert "“preliminary”" in words[9]
    assert all("location" not in entry["response"] for entry in entries[4:])
    records = AuditEvent.objects.filter(action="labs.record")
    assert sorted(e.patient_id for e in records) == sorted([patient.pk, second_patient.pk])  # one per patient
    assert all(e.detail["source"] == "fhir" and e.actor == coordinator for e in records)
    summary = AuditEvent.objects.get(action="labs.fhir_import")
    assert (summary.detail["created"], summary.detail["refused"]) == (4, 6)
    assert entries[4]["response"]["outcome"]["issue"][0]["severity"] == "error"


def test_the_same_bundle_twice_adds_nothing_the_second_time(api_for, coordinator, lab_bundle):
    """Idempotent: the second post records nothing and answers 200 for every entry the first one created."""
    api = api_for(coordinator)
    first = post(api, lab_bundle)
    rows = LabResult.objects.count()
    records = AuditEvent.objects.filter(action="labs.record").count()
    second = post(api, lab_bundle)
    assert second.status_code == 200
    Bundle.parse_obj(second.json())
    assert LabResult.objects.count() == rows == 4
    assert AuditEvent.objects.filter(action="labs.record").count() == records
    assert statuses(second)[:4] == ["200 OK"] * 4
    assert statuses(second)[4:] == EXPECTED[4:]
    locations = [entry["response"].get("location") for entry in first.json()["entry"]]
    assert [entry["response"].get("location") for entry in second.json()["entry"]] == locations
    assert "Already recorded" in second.json()["entry"][0]["response"]["outcome"]["issue"][0]["diagnostics"]


def test_another_value_for_a_recorded_sample_is_refused(api_for, coordinator, patient):
    at = _at(patient, patient_today(patient) - timedelta(days=1))
    api = api_for(coordinator)
    post(api, bundle(observation(by_id(patient), "751-8", 0.6, "10*9/L", at)))
    response = post(
        api,
        bundle(
            observation(by_id(patient), "751-8", 0.8, "10*9/L", at, status="corrected"),
            observation(by_id(patient), "751-8", 600, "/uL", at),  # the same value in another unit: the same result
        ),
    )
    assert statuses(response) == ["400 Bad Request", "200 OK"]
    issue = response.json()["entry"][0]["response"]["outcome"]["issue"][0]
    assert issue["code"] == "conflict"
    assert "already recorded with 0.6" in issue["diagnostics"]
    assert "corrects it after checking" in issue["diagnostics"]
    assert LabResult.objects.get().value == Decimal("0.6")


def test_the_same_sample_twice_in_one_bundle(api_for, coordinator, patient):
    at = _at(patient, patient_today(patient) - timedelta(days=1))
    response = post(
        api_for(coordinator),
        bundle(
            observation(by_id(patient), "751-8", 0.6, "10*9/L", at),
            observation(by_id(patient), "751-8", 0.6, "10*9/L", at),
            observation(by_id(patient), "751-8", 0.7, "10*9/L", at),
        ),
    )
    assert statuses(response) == ["201 Created", "200 OK", "400 Bad Request"]
    entries = response.json()["entry"]
    assert entries[0]["response"]["location"] == entries[1]["response"]["location"]
    assert LabResult.objects.count() == 1


def test_engraftment_is_proposed_after_a_bundle_with_three_days_of_recovered_neutrophils(api_for, coordinator, patient):
    """ANC fell below 0.5 after Day 0 and the Bundle brings D+11 to D+13 at >= 0.5: D+11 is proposed."""
    day0 = patient_today(patient) - timedelta(days=14)
    transplant(patient, day0)
    anc = {1: 2.1, 3: 0.3, 7: 0.02, 10: 0.4, 11: 0.6, 12: 0.9, 13: 1.4}
    entries = [
        observation(by_id(patient), "751-8", value, "10*9/L", _at(patient, day0 + timedelta(days=offset)))
        for offset, value in anc.items()
    ]
    assert engraftment_proposal(patient).neutrophil.proposed is None
    response = post(api_for(coordinator), bundle(*entries))
    assert set(statuses(response)) == {"201 Created"}
    status = engraftment_proposal(patient)
    assert status.neutrophil.proposed == day0 + timedelta(days=11)
    assert status.neutrophil.awaiting_confirmation
    patient.refresh_from_db()
    assert patient.outcomes_stale_since is not None  # the cohort's febrile neutropenia counts ANC results


def test_a_transaction_is_all_or_nothing(api_for, coordinator, patient):
    at = _at(patient, patient_today(patient) - timedelta(days=1))
    good = observation(by_id(patient), "751-8", 0.6, "10*9/L", at)
    bad = observation(by_id(patient), "777-3", 25, "10*9/L", at[:19])  # no offset
    response = post(api_for(coordinator), bundle(good, bad, kind="transaction"))
    assert response.status_code == 400
    outcome = response.json()
    OperationOutcome.parse_obj(outcome)
    assert outcome["issue"][0]["expression"] == ["Bundle.entry[1]"]
    assert "nothing was saved" in outcome["issue"][-1]["diagnostics"]
    assert not LabResult.objects.exists()
    response = post(api_for(coordinator), bundle(good, kind="transaction"))
    assert response.json()["type"] == "transaction-response"
    Bundle.parse_obj(response.json())
    assert statuses(response) == ["201 Created"]


def test_the_hospital_number_is_read_within_the_centre_named_by_the_system(
    api_for, coordinator, patient, other_centre_patient
):
    """A hospital number under another centre's system (even an existing one) finds nobody; an unknown system
    and a reference that contradicts the identifier are refused."""
    at = _at(patient, patient_today(patient) - timedelta(days=1))
    other_system = by_number(other_centre_patient)
    contradicting = {"reference": f"Patient/{patient.uuid}", **by_number(patient, "no-such-number")}
    response = post(
        api_for(coordinator),
        bundle(
            observation(by_number(patient, patient.hospital_number.lower()), "751-8", 0.6, "10*9/L", at),
            observation(other_system, "751-8", 0.6, "10*9/L", at),
            observation({"identifier": {"system": "urn:oid:1.2.3", "value": "x"}}, "751-8", 0.6, "10*9/L", at),
            observation(contradicting, "777-3", 30, "10*9/L", at),
        ),
    )
    assert statuses(response) == ["201 Created", "404 Not Found", "422 Unprocessable Entity", "404 Not Found"]
    assert (
        HOSPITAL_NUMBER_SYSTEM.split("{")[0]
        in response.json()["entry"][2]["response"]["outcome"]["issue"][0]["diagnostics"]
    )
    assert list(LabResult.objects.values_list("patient_id", flat=True)) == [patient.pk]


def test_another_centres_staff_cannot_import_into_our_patient(api_for, other_centre_coordinator, patient):
    at = _at(patient, patient_today(patient) - timedelta(days=1))
    response = post(
        api_for(other_centre_coordinator),
        bundle(
            observation(by_id(patient), "751-8", 0.6, "10*9/L", at),
            observation(by_number(patient), "751-8", 0.6, "10*9/L", at),
        ),
    )
    assert statuses(response) == ["404 Not Found", "404 Not Found"]
    assert not LabResult.objects.exists()


def test_patients_and_strangers_cannot_post(api_for, client_for, patient):
    body = bundle(observation(by_id(patient), "751-8", 0.6, "10*9/L", _at(patient, patient_today(patient))))
    assert post(api_for(patient.user), body).status_code == 403
    assert post(api_for(None), body).status_code == 401
    response = post(client_for(patient.user), body)
    assert response.status_code == 403
    OperationOutcome.parse_obj(response.json())
    assert not LabResult.objects.exists()


def test_a_session_user_posts_with_the_csrf_token(coordinator, patient):
    """A signed-in coordinator's browser session works like the token, with Django's CSRF protection."""
    from django.test import Client

    browser = Client(enforce_csrf_checks=True)
    browser.force_login(coordinator)
    body = json.dumps(bundle(observation(by_id(patient), "751-8", 0.6, "10*9/L", _at(patient, patient_today(patient)))))
    assert browser.post(URL, data=body, content_type=FHIR_JSON).status_code == 403
    browser.get("/patients/")
    token = browser.cookies["csrftoken"].value
    response = browser.post(URL, data=body, content_type=FHIR_JSON, HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    ("body", "content_type", "status", "words"),
    [
        (b"not json", FHIR_JSON, 400, "not JSON"),
        (b"\xff\xfe", FHIR_JSON, 400, "not JSON"),
        (b"[1, 2]", FHIR_JSON, 400, "not a FHIR resource"),
        (b'{"resourceType": "Patient"}', FHIR_JSON, 400, "not “Patient”"),
        (b'{"resourceType": "Bundle", "type": "searchset", "entry": []}', FHIR_JSON, 400, "searchset"),
        (b'{"resourceType": "Bundle", "type": "batch"}', FHIR_JSON, 400, "no entries"),
        (b'{"resourceType": "Bundle", "type": "batch", "entry": {}}', FHIR_JSON, 400, "must be a list"),
        (b"[" * 100_000 + b"]" * 100_000, FHIR_JSON, 400, "not JSON"),
        (b'{"a": NaN}', "application/json", 400, "not JSON"),
        (b"<Bundle/>", "application/fhir+xml", 415, "application/fhir+json"),
    ],
)
def test_a_body_that_is_not_a_bundle_is_a_400_operation_outcome(
    api_for, coordinator, body, content_type, status, words
):
    response = post(api_for(coordinator), body, content_type)
    assert response.status_code == status
    OperationOutcome.parse_obj(response.json())
    assert words in response.json()["issue"][0]["diagnostics"]


def test_a_bundle_too_large_is_refused(api_for, coordinator, patient):
    entry = observation(by_id(patient), "751-8", 0.6, "10*9/L", _at(patient, patient_today(patient)))
    too_many = post(api_for(coordinator), bundle(*[entry] * 1001))
    assert too_many.status_code == 400
    assert "at most 1000" in too_many.json()["issue"][0]["diagnostics"]


def test_the_one_size_limit_is_djangos(api_for, coordinator, patient, settings):
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 400 `too-costly` OperationOutcome; one at the limit is read."""
    entry = observation(by_id(patient), "751-8", 0.6, "10*9/L", _at(patient, patient_today(patient)))
    body = json.dumps(bundle(entry), default=float).encode()
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = len(body)
    assert post(api_for(coordinator), body).status_code == 200
    huge = post(api_for(coordinator), body + b" ")
    assert huge.status_code == 400
    assert huge["Content-Type"] == "application/fhir+json; charset=utf-8"
    issue = OperationOutcome.parse_obj(huge.json()).issue[0]
    assert issue.code == "too-costly"
    assert f"larger than {len(body)} bytes" in issue.diagnostics


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=20,
)


def _mutated_entries(patient):
    at = _at(patient, patient_today(patient) - timedelta(days=1))
    base = observation(by_id(patient), "751-8", 0.6, "10*9/L", at)
    keys = ["status", "code", "subject", "valueQuantity", "effectiveDateTime", "resourceType"]
    return st.lists(
        st.tuples(st.sampled_from(keys), _json).map(
            lambda change: {**base, "resource": {**base["resource"], change[0]: change[1]}}
        )
        | _json,
        min_size=1,
        max_size=4,
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_garbage_entries_never_give_a_500(api_for, coordinator, patient, data):
    """Random JSON where an Observation's parts should be: each entry is answered, none is a server error."""
    api = api_for(coordinator)
    body = data.draw(_json | _mutated_entries(patient).map(lambda entries: bundle(*entries)))
    response = post(api, body)
    assert response.status_code in (200, 400), response.content
    if response.status_code == 200:
        Bundle.parse_obj(response.json())
        assert all(not s.startswith("5") for s in statuses(response))
    else:
        OperationOutcome.parse_obj(response.json())


def test_queries_do_not_grow_with_the_entries(api_for, coordinator, patient):
    """The import is a few queries for the Bundle, not per entry: 1 and 10 results for a patient cost alike."""
    today = patient_today(patient)

    def entries(days, test="751-8"):
        return [observation(by_id(patient), test, 0.6, "10*9/L", _at(patient, today - timedelta(days=d))) for d in days]

    api = api_for(coordinator)
    post(api, bundle(*entries([40])))  # the token's first use and the like, out of the count
    with CaptureQueriesContext(connection) as one:
        assert statuses(post(api, bundle(*entries([30])))) == ["201 Created"]
    with CaptureQueriesContext(connection) as ten:
        assert set(statuses(post(api, bundle(*entries(range(1, 11)))))) == {"201 Created"}
    assert len(ten) == len(one)
    with CaptureQueriesContext(connection) as again:
        assert set(statuses(post(api, bundle(*entries(range(1, 11)))))) == {"200 OK"}
    assert len(again) <= len(one)


@pytest.mark.parametrize(
    "body",
    [
        b'{"resourceType": "Bundle", "x": "' + b"a" * (3 * 1024 * 1024) + b'"}',  # above Django's own limit
        b'{"resourceType": "Bundle", "type": "batch", "entry": [{"x": "\\u0000"}]}',  # a NUL, as JSON escapes it
    ],
)
def test_what_django_refuses_before_the_view_is_an_operation_outcome_too(api_for, coordinator, body):
    response = post(api_for(coordinator), body)
    assert response.status_code == 400
    OperationOutcome.parse_obj(response.json())


# Every UCUM code the import reads, with a value and what it is in the test's canonical unit.
CONVERTED = [
    ("751-8", "10*9/L", "0.5", "0.5"),
    ("751-8", "10*3/uL", "0.5", "0.5"),
    ("751-8", "10*3/mm3", "0.5", "0.5"),
    ("751-8", "10*6/mL", "0.5", "0.5"),
    ("751-8", "/uL", "500", "0.5"),
    ("751-8", "{cells}/uL", "500", "0.5"),
    ("751-8", "/mm3", "500", "0.5"),
    ("751-8", "{cells}/mm3", "500", "0.5"),
    ("718-7", "g/L", "120", "120"),
    ("718-7", "g/dL", "12", "120"),
    ("2465-3", "mg/dL", "900", "9"),
    ("2465-3", "mg/mL", "9", "9"),
    ("3016-3", "m[IU]/L", "2.1", "2.1"),
    ("3016-3", "mIU/L", "2.1", "2.1"),
    ("3016-3", "u[IU]/mL", "2.1", "2.1"),
    ("30247-1", "{copies}/mL", "1200", "1200"),
    ("30247-1", "copies/mL", "1200", "1200"),
]


def test_every_ucum_code_read_has_its_conversion_tested():
    from recovery.clinical.labs_config import DEFAULT_LAB_CONFIG
    from recovery.clinical.units import UNITS

    canonical = {DEFAULT_LAB_CONFIG.unit(test) for test in LabTest.values}
    read = {ucum for _unit, ucum, to, _factor in UNITS if ucum and to in canonical}
    assert read <= {unit for _, unit, _, _ in CONVERTED}


@pytest.mark.parametrize(("loinc", "unit", "value", "canonical"), CONVERTED)
def test_ucum_units_are_converted_to_the_canonical_unit(api_for, coordinator, patient, loinc, unit, value, canonical):
    at = _at(patient, patient_today(patient) - timedelta(days=1))
    response = post(api_for(coordinator), bundle(observation(by_id(patient), loinc, Decimal(value), unit, at)))
    assert statuses(response) == ["201 Created"], response.json()
    assert LabResult.objects.get().value == Decimal(canonical)


@pytest.mark.parametrize(
    ("loinc", "unit"),
    [("751-8", "10*6/L"), ("751-8", "10*3/L"), ("751-8", "%"), ("718-7", "mmol/L"), ("718-7", "10*9/L")],
)
def test_a_unit_that_is_not_the_tests_is_refused_never_guessed(api_for, coordinator, patient, loinc, unit):
    at = _at(patient, patient_today(patient) - timedelta(days=1))
    response = post(api_for(coordinator), bundle(observation(by_id(patient), loinc, Decimal("0.5"), unit, at)))
    assert statuses(response) == ["422 Unprocessable Entity"]
    assert "is not a unit for" in response.json()["entry"][0]["response"]["outcome"]["issue"][0]["diagnostics"]
    assert not LabResult.objects.exists()


def test_the_outcomes_are_in_the_requests_language(api_for, coordinator, patient):
    at = _at(patient, patient_today(patient) - timedelta(days=1))
    api = api_for(coordinator)
    body = bundle(observation(by_id(patient), "751-8", 0.6, "10*9/L", at[:19]))
    response = api.post(URL, data=json.dumps(body), content_type=FHIR_JSON, HTTP_ACCEPT_LANGUAGE="sv")
    assert "saknar tidszon" in response.json()["entry"][0]["response"]["outcome"]["issue"][0]["diagnostics"]


def test_a_sample_recorded_meanwhile_by_another_request_loses_no_other_result(coordinator, patient):
    """Between the check and the INSERT another request records one of the Bundle's samples: the Bundle's results
    are then saved one by one, that entry answered as a duplicate or a conflict, the others still created."""
    from datetime import datetime as dt

    from recovery.clinical.fhir_lab_bundle import read_entry
    from recovery.queries.configuration import active_configs
    from recovery.services import fhir_lab_import as service
    from recovery.services.audit import AuditContext

    day = patient_today(patient) - timedelta(days=1)
    raw = [
        observation(by_id(patient), "751-8", 0.6, "10*9/L", _at(patient, day)),
        observation(by_id(patient), "777-3", 25, "10*9/L", _at(patient, day)),
        observation(by_id(patient), "6690-2", 4.1, "10*9/L", _at(patient, day)),
    ]
    entries = [read_entry(i, json.loads(json.dumps(e)), "batch") for i, e in enumerate(raw)]
    outcomes = [None] * len(entries)
    patients = service._patients(coordinator, entries, outcomes)
    configs = active_configs({patient.centre_id})
    new = service._against_recorded(service._checked(entries, patients, configs, outcomes), configs, outcomes)
    assert [o.status for o in outcomes] == [201, 201, 201]
    at = dt.fromisoformat(_at(patient, day))
    for test, value in (("anc", "0.6"), ("platelets", "30")):  # the same ANC; platelets with another value
        LabResult.objects.create(patient=patient, test=test, value=Decimal(value), unit="x10^9/L", collected_at=at)
    service._save(AuditContext(actor=coordinator), new, configs, outcomes)
    assert [o.status for o in outcomes] == [200, 400, 201]
    wbc = LabResult.objects.get(test="wbc")
    assert outcomes[2].location == f"Observation/lab-{wbc.uuid}"
    assert outcomes[0].location == f"Observation/lab-{LabResult.objects.get(test='anc').uuid}"
    assert "already recorded with 30" in outcomes[1].message
    assert LabResult.objects.get(test="platelets").value == Decimal(30)
