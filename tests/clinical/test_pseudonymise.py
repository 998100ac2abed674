"""The bulk export's pseudonymiser (recovery/clinical/pseudonymise.py): a table of resources in, what must be gone
and what must stay out; every output still a valid FHIR R4 resource."""

import json

import pytest
from fhir.resources import construct_fhir_element

from recovery.clinical.pseudonymise import DATA_ABSENT_MASKED, PSEUDONYMISED_LABEL, pseudonym, pseudonymise

KEY = b"k" * 32
OTHER_KEY = b"o" * 32
PATIENT_ID = "6f1c1f5e-3b1a-4a57-9d0e-2d8c6a2b9f10"

PATIENT = {
    "resourceType": "Patient",
    "id": PATIENT_ID,
    "meta": {"lastUpdated": "2026-01-02T03:04:05+00:00"},
    "text": {"status": "generated", "div": '<div xmlns="http://www.w3.org/1999/xhtml">Pia Holmgren</div>'},
    "identifier": [{"system": "urn:recovery-tracker:centre:x:hospital-number", "value": "UAS-12345"}],
    "active": True,
    "name": [{"use": "official", "family": "Holmgren", "given": ["Pia"]}],
    "telecom": [{"system": "phone", "value": "+46701234567"}],
    "gender": "female",
    "birthDate": "1985-03-12",
    "address": [{"city": "Uppsala"}],
    "contact": [{"name": {"text": "Lars Holmgren"}, "telecom": [{"system": "phone", "value": "+46709999999"}]}],
    "communication": [{"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": "sv"}]}}],
}
OBSERVATION = {
    "resourceType": "Observation",
    "id": "0a9a6a0e-8c39-4f0a-9d59-6f1a7f0a1b2c",
    "identifier": [{"system": "urn:recovery-tracker:lab-result", "value": "0a9a6a0e"}],
    "status": "final",
    "code": {"coding": [{"system": "http://loinc.org", "code": "8310-5", "display": "Body temperature"}]},
    "subject": {"reference": f"Patient/{PATIENT_ID}", "display": "Pia Holmgren"},
    "effectiveDateTime": "2026-01-05T08:15:00+01:00",
    "valueQuantity": {"value": 38.6, "unit": "Cel", "system": "http://unitsofmeasure.org", "code": "Cel"},
    "note": [{"text": "Pia said she felt shivery after her walk with Lars."}],
}
FREE_TEXT_OBSERVATION = {
    "resourceType": "Observation",
    "id": "obs-2",
    "status": "final",
    "code": {"text": "Patient's own words"},
    "subject": {"reference": f"https://tracker.example/fhir/R4/Patient/{PATIENT_ID}"},
    "valueString": "Pia: headache since the party at Anna's",
}
RESPONSE = {
    "resourceType": "QuestionnaireResponse",
    "id": "qr-1",
    "questionnaire": "https://tracker.example/fhir/R4/Questionnaire/checkin",
    "status": "completed",
    "subject": {"reference": f"Patient/{PATIENT_ID}"},
    "authored": "2026-01-05T08:15:00+01:00",
    "item": [
        {"linkId": "fever", "text": "Fever", "answer": [{"valueInteger": 2}]},
        {"linkId": "other", "text": "Something else", "answer": [{"valueString": "My neighbour Olle says hi"}]},
    ],
    "extension": [{"url": "https://tracker.example/note", "valueString": "Called by Pia's husband"}],
}
CONDITION = {
    "resourceType": "Condition",
    "id": "cond-1",
    "clinicalStatus": {
        "coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]
    },
    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "24700007", "display": "Multiple sclerosis"}]},
    "subject": {"reference": f"Patient/{PATIENT_ID}"},
    "recorder": {"display": "Dr Karl Lind"},
    "onsetDateTime": "2015-03-01",
}

IDENTIFYING = [
    "Holmgren",
    "Pia",
    "UAS-12345",
    "+46701234567",
    "+46709999999",
    "Uppsala",
    "Lars",
    PATIENT_ID,
    "Olle",
    "Anna",
    "Karl Lind",
    "shivery",
    "1985-03-12",
]


@pytest.mark.parametrize(
    ("resource", "kept"),
    [
        (PATIENT, {"gender": "female", "birthDate": "1985", "active": True}),
        (OBSERVATION, {"status": "final", "effectiveDateTime": "2026-01-05T08:15:00+01:00"}),
        (FREE_TEXT_OBSERVATION, {"dataAbsentReason": DATA_ABSENT_MASKED}),
        (RESPONSE, {"status": "completed"}),
        (CONDITION, {"onsetDateTime": "2015-03-01"}),
    ],
    ids=["patient", "observation", "free-text-observation", "questionnaire-response", "condition"],
)
def test_nothing_identifying_is_left_and_the_resource_stays_valid(resource, kept):
    before = json.dumps(resource)
    out = pseudonymise(resource, KEY)
    text = json.dumps(out)
    assert [word for word in IDENTIFYING if word in text] == []
    assert {name: out[name] for name in kept} == kept
    construct_fhir_element(out["resourceType"], out)  # raises when not a valid R4 resource
    assert json.dumps(resource) == before, "the input was changed"
    assert out["id"] == pseudonym(KEY, resource["resourceType"], resource["id"])


def test_references_point_to_the_patients_pseudonym_relative_or_absolute():
    patient = pseudonymise(PATIENT, KEY)
    assert pseudonymise(OBSERVATION, KEY)["subject"] == {"reference": f"Patient/{patient['id']}"}
    assert pseudonymise(FREE_TEXT_OBSERVATION, KEY)["subject"] == {"reference": f"Patient/{patient['id']}"}
    assert pseudonymise(RESPONSE, KEY)["questionnaire"] == RESPONSE["questionnaire"]  # a canonical, not a reference


def test_meta_keeps_no_write_time_and_says_pseudonymised():
    out = pseudonymise(PATIENT, KEY)
    assert out["meta"] == {"security": [PSEUDONYMISED_LABEL]}
    assert pseudonymise(CONDITION, KEY)["meta"] == {"security": [PSEUDONYMISED_LABEL]}


def test_pseudonyms_do_not_link_across_keys_and_are_stable_within_one():
    assert pseudonym(KEY, "Patient", PATIENT_ID) == pseudonym(KEY, "Patient", PATIENT_ID)
    assert pseudonym(KEY, "Patient", PATIENT_ID) != pseudonym(OTHER_KEY, "Patient", PATIENT_ID)
    assert pseudonym(KEY, "Patient", PATIENT_ID) != pseudonym(KEY, "Observation", PATIENT_ID)


def test_free_text_answers_and_extensions_go_but_coded_answers_stay():
    out = pseudonymise(RESPONSE, KEY)
    assert out["item"][0] == {"linkId": "fever", "text": "Fever", "answer": [{"valueInteger": 2}]}
    assert out["item"][1] == {"linkId": "other", "text": "Something else"}
    assert "extension" not in out


def test_a_coding_display_stays_a_reference_display_goes():
    out = pseudonymise(CONDITION, KEY)
    assert out["code"]["coding"][0]["display"] == "Multiple sclerosis"
    assert "recorder" not in out


def test_contained_and_bundled_resources_are_pseudonymised_too():
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"resource": PATIENT}, {"resource": OBSERVATION}],
    }
    out = pseudonymise(bundle, KEY)
    text = json.dumps(out)
    assert [word for word in IDENTIFYING if word in text] == []
    assert out["entry"][1]["resource"]["subject"]["reference"] == f"Patient/{out['entry'][0]['resource']['id']}"
    construct_fhir_element("Bundle", out)


def test_a_contained_resource_keeps_its_local_id_and_the_reference_to_it():
    observation = {
        **OBSERVATION,
        "contained": [{"resourceType": "Specimen", "id": "s1", "subject": {"reference": f"Patient/{PATIENT_ID}"}}],
        "specimen": {"reference": "#s1"},
    }
    out = pseudonymise(observation, KEY)
    assert out["contained"][0]["id"] == "s1"
    assert out["specimen"] == {"reference": "#s1"}
    assert PATIENT_ID not in json.dumps(out)
    construct_fhir_element("Observation", out)
