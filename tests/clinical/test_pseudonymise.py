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


# Every slot where the app's FHIR modules (recovery/queries/fhir/) put words that staff or the patient typed, or
# that the app wrote about them, in the shape each module gives it: none may survive, each resource stays valid.
TYPED = "Anna Berg"  # a name, as someone typed it
SUBJECT = {"reference": f"Patient/{PATIENT_ID}"}
APP_SHAPED = {
    # procedure.py event_procedure: a hand-added timeline event's title and note
    "procedure event": {
        "resourceType": "Procedure",
        "id": "p1",
        "status": "completed",
        "code": {"text": f"Phone call with {TYPED}"},
        "subject": SUBJECT,
        "performedDateTime": "2026-09-25",
        "note": [{"text": f"{TYPED} drove her"}],
    },
    # procedure.py: the conditioning regimen as typed (usedCode), a category by its words
    "procedure regimen": {
        "resourceType": "Procedure",
        "id": "p2",
        "status": "completed",
        "category": {"text": "aHSCT"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "367336001"}], "text": "Chemotherapy"},
        "subject": SUBJECT,
        "usedCode": [{"text": f"Cy/ATG as agreed with {TYPED}"}],
    },
    # flag.py: the alert's reason beside its coded kind; the severity's words beside its coding
    "flag": {
        "resourceType": "Flag",
        "id": "f1",
        "extension": [
            {
                "url": "http://hl7.org/fhir/StructureDefinition/flag-priority",
                "valueCodeableConcept": {
                    "coding": [{"system": "http://terminology.hl7.org/CodeSystem/flag-priority-code", "code": "PH"}],
                    "text": f"Urgent ({TYPED})",
                },
            }
        ],
        "status": "active",
        "code": {"coding": [{"system": "urn:recovery-tracker:alert-kind", "code": "fever"}], "text": TYPED},
        "subject": SUBJECT,
    },
    # condition.py: a relapse's description as a note
    "condition": {
        "resourceType": "Condition",
        "id": "c1",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "58802006"}], "text": "Relapse"},
        "subject": SUBJECT,
        "note": [{"text": f"Fell at {TYPED}'s"}],
    },
    # medication.py: a stop's note, the reason's words, a medication known by its name only
    "medication": {
        "resourceType": "MedicationStatement",
        "id": "m1",
        "status": "completed",
        "medicationCodeableConcept": {"text": f"Valaciclovir ({TYPED}'s supply)"},
        "subject": SUBJECT,
        "reasonCode": [{"text": f"Prophylaxis, asked by {TYPED}"}],
        "dosage": [{"text": f"500 mg twice a day, {TYPED} knows"}],  # not emitted yet: a Dosage is no concept
        "note": [{"text": f"Stopped by {TYPED}"}],
    },
    # immunization.py: a vaccine by its name, a dose's note
    "immunization": {
        "resourceType": "Immunization",
        "id": "i1",
        "status": "completed",
        "vaccineCode": {"text": f"Vaccine from {TYPED}"},
        "patient": SUBJECT,
        "occurrenceDateTime": "2026-11-01",
        "note": [{"text": f"{TYPED} gave it"}],
    },
    # observation.py: a lab test known by its words only, an MRI's notes
    "observation": {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": f"Test ordered by {TYPED}"},
        "subject": SUBJECT,
        "effectiveDateTime": "2026-10-03T08:00:00+02:00",
        "valueQuantity": {"value": 1.2, "unit": "10*9/L"},
        "note": [{"text": f"Compared by {TYPED}"}],
    },
    # episode.py: the centre's name as a reference's display, words beside the coded type
    "episode": {
        "resourceType": "EpisodeOfCare",
        "id": "e1",
        "status": "active",
        "type": [{"coding": [{"system": "http://snomed.info/sct", "code": "1269349006"}], "text": TYPED}],
        "patient": SUBJECT,
        "managingOrganization": {"display": f"{TYPED}'s clinic"},
    },
    # questionnaire.py: the check-in's notes as a free-text answer
    "questionnaire response": {
        "resourceType": "QuestionnaireResponse",
        "id": "q1",
        "status": "completed",
        "subject": SUBJECT,
        "item": [{"linkId": "notes", "text": "Anything else?", "answer": [{"valueString": f"{TYPED} visited"}]}],
    },
}


@pytest.mark.parametrize("resource", list(APP_SHAPED.values()), ids=list(APP_SHAPED))
def test_no_word_typed_in_any_slot_the_app_fills_survives(resource):
    out = pseudonymise(resource, KEY)
    text = json.dumps(out)
    assert "Anna" not in text
    assert "Berg" not in text
    construct_fhir_element(out["resourceType"], out)


def test_a_concept_keeps_its_codes_and_one_known_only_by_its_words_is_masked():
    flag = pseudonymise(APP_SHAPED["flag"], KEY)
    assert flag["code"] == {"coding": [{"system": "urn:recovery-tracker:alert-kind", "code": "fever"}]}
    assert flag["extension"][0]["valueCodeableConcept"]["coding"][0]["code"] == "PH"
    event = pseudonymise(APP_SHAPED["procedure event"], KEY)
    assert event["code"] == DATA_ABSENT_MASKED
    assert event["performedDateTime"] == "2026-09-25"  # exact clinical dates stay (docs/fhir-bulk-export.md)
    immunization = pseudonymise(APP_SHAPED["immunization"], KEY)
    assert immunization["vaccineCode"] == DATA_ABSENT_MASKED
    regimen = pseudonymise(APP_SHAPED["procedure regimen"], KEY)
    assert regimen["usedCode"] == [DATA_ABSENT_MASKED]
    # a question's wording beside its linkId is the app's, and stays
    response = pseudonymise(APP_SHAPED["questionnaire response"], KEY)
    assert response["item"] == [{"linkId": "notes", "text": "Anything else?"}]
