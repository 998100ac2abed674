"""Reading a laboratory's FHIR Bundle (recovery/clinical/fhir_lab_bundle.py): pure, no database."""

import uuid
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from recovery.clinical.fhir_lab_bundle import BundleError, read_bundle, read_entry

PATIENT = uuid.UUID("6f1c4a52-3f0e-4c8e-9a57-0d4b7c1e2f30")


def _entry(**changes):
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "751-8"}]},
        "subject": {"reference": f"Patient/{PATIENT}"},
        "valueQuantity": {"value": Decimal("0.52"), "system": "http://unitsofmeasure.org", "code": "10*9/L"},
        "effectiveDateTime": "2025-03-10T07:30:00+01:00",
    }
    resource.update(changes)
    return {"resource": resource, "request": {"method": "POST", "url": "Observation"}}


def test_an_observation_is_read_with_its_test_value_unit_time_and_patient():
    entry = read_entry(0, _entry(), "batch")
    assert entry.problem is None
    found = entry.observation
    # the unit as its UCUM code: recovery.clinical.units reads it
    assert (found.test, found.loinc, found.value, found.unit) == ("anc", "751-8", Decimal("0.52"), "10*9/L")
    assert found.collected_at == datetime(2025, 3, 10, 6, 30, tzinfo=UTC)
    assert found.subject.patient_id == PATIENT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-10T07:30:00Z", datetime(2025, 3, 10, 7, 30, tzinfo=UTC)),
        ("2025-03-10T07:30+02:00", datetime(2025, 3, 10, 7, 30, tzinfo=timezone(timedelta(hours=2)))),
        ("2025-03-10T07:30:00.123-05:00", datetime(2025, 3, 10, 12, 30, 0, 123000, tzinfo=UTC)),
    ],
)
def test_times_with_an_offset_are_read(text, expected):
    assert read_entry(0, _entry(effectiveDateTime=text), "batch").observation.collected_at == expected


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("2025-03-10T07:30:00", "no_offset"),
        ("2025-03-10", "no_time_of_day"),
        ("2025-03", "no_time_of_day"),
        ("10/03/2025 07:30", "bad_time"),
        ("2025-13-40T07:30:00Z", "bad_time"),
        (20250310, "bad_time"),
    ],
)
def test_a_time_without_its_offset_or_its_time_of_day_is_refused(text, key):
    assert read_entry(0, _entry(effectiveDateTime=text), "batch").problem.key == key


@pytest.mark.parametrize("status", ["preliminary", "registered", "cancelled", "entered-in-error", "unknown", None])
def test_only_released_results_are_read(status):
    problem = read_entry(0, _entry(status=status), "batch").problem
    assert (problem.key, problem.status) == ("status", 422)


@pytest.mark.parametrize(
    ("changes", "key", "status"),
    [
        ({"code": {"coding": [{"system": "http://snomed.info/sct", "code": "1"}]}}, "no_loinc", 422),
        ({"code": {"coding": [{"system": "http://loinc.org", "code": "2345-7"}]}}, "unknown_loinc", 422),
        ({"code": {"text": "ANC"}}, "no_code", 400),
        ({"valueQuantity": {"value": "0.5", "code": "10*9/L"}}, "value_not_number", 400),
        ({"valueQuantity": {"value": True, "unit": "10^9/L"}}, "value_not_number", 400),
        ({"valueQuantity": {"value": 0.5}}, "no_unit", 422),
        ({"valueQuantity": {"value": 0.5, "comparator": "<", "unit": "10^9/L"}}, "comparator", 422),
        ({"subject": {"reference": "Group/1"}}, "bad_reference", 422),
        ({"subject": {"reference": "Patient/123"}}, "unknown_patient", 404),
        ({"subject": {"identifier": {"value": "UAS-1"}}}, "bad_identifier", 422),
        ({"subject": {"display": "Pia"}}, "no_subject", 400),
        ({"resourceType": "DiagnosticReport"}, "not_observation", 400),
    ],
)
def test_each_refusal_names_its_reason(changes, key, status):
    problem = read_entry(0, _entry(**changes), "batch").problem
    assert (problem.key, problem.status) == (key, status)


def test_value_string_and_no_value_are_told_apart():
    resource = _entry()
    del resource["resource"]["valueQuantity"]
    assert read_entry(0, resource, "batch").problem.key == "no_value"
    resource["resource"]["valueString"] = "positive"
    assert read_entry(0, resource, "batch").problem.key == "value_not_quantity"


def test_a_written_unit_is_used_when_no_ucum_code_is_given():
    found = read_entry(0, _entry(valueQuantity={"value": 500, "unit": "cells/µL"}), "batch").observation
    assert (found.value, found.unit) == (Decimal(500), "cells/µL")


def test_an_entry_of_a_batch_must_be_a_post_of_an_observation():
    entry = _entry()
    entry["request"] = {"method": "DELETE", "url": "Observation/lab-1"}
    assert read_entry(0, entry, "batch").problem.key == "request_not_post"
    del entry["request"]
    assert read_entry(0, entry, "batch").problem.key == "no_request"
    assert read_entry(0, entry, "collection").problem is None  # a collection has no requests


@pytest.mark.parametrize(
    ("data", "key"),
    [
        ([], "not_object"),
        ({"resourceType": "Observation"}, "not_bundle"),
        ({"resourceType": "Bundle", "type": "document", "entry": [{}]}, "bundle_type"),
        ({"resourceType": "Bundle", "type": "batch", "entry": []}, "no_entries"),
        ({"resourceType": "Bundle", "type": "batch", "entry": [{}] * 1001}, "too_many"),
    ],
)
def test_a_body_that_is_not_a_bundle_to_import(data, key):
    with pytest.raises(BundleError) as exc:
        read_bundle(data)
    assert exc.value.problem.key == key
