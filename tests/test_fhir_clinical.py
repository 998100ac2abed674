"""The clinical FHIR R4 resources (issue 17 items 1 and 6): Observation, QuestionnaireResponse, Questionnaire,
Immunization and MedicationStatement, built from the database and validated with the `fhir.resources` R4 models.

The codes come from the data files in recovery/clinical/terminology_data/ (tested row by row in
test_fhir_terminology.py); the mapping is in docs/fhir-clinical-mapping.md.
"""

import json
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources import construct_fhir_element

from recovery.clinical.terminology import codings
from recovery.models import (
    EDSSAssessment,
    LabResult,
    LabTest,
    MRIScan,
    Patient,
    ProphylaxisStop,
    SymptomReport,
    VaccinationDose,
)
from recovery.queries.fhir import RESOURCE_TYPES
from recovery.queries.fhir.common import ALL_TIME, DateRange
from recovery.queries.fhir.questionnaire import QUESTIONNAIRE_URL, questionnaire
from tests.factories import PatientFactory, transplant

CLINICAL = ("Observation", "QuestionnaireResponse", "Immunization", "MedicationStatement")
FHIR_ID = re.compile(r"^[A-Za-z0-9\-.]{1,64}$")
DAY0 = date(2025, 3, 10)
UNITS = {"anc": "x10^9/L", "platelets": "x10^9/L", "haemoglobin": "g/L", "wbc": "x10^9/L"}


def at(day: date, hour: int = 8) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def record(patient: Patient, clinician, day0: date = DAY0) -> None:
    """A transplanted patient with one row of every kind: every lab test, check-ins, EDSS, MRI, doses, a stop."""
    from recovery.queries.configuration import DEFAULT_CONFIG

    transplant(patient, day0, engrafted=day0 + timedelta(days=11))
    labs = DEFAULT_CONFIG.labs
    for number, test in enumerate(LabTest.values):
        LabResult.objects.create(
            patient=patient,
            test=test,
            value=Decimal(str(labs.reference_range(test)[1] or 100)),
            unit=labs.unit(test),
            collected_at=at(day0 + timedelta(days=20 + number)),
        )
    SymptomReport.objects.create(
        patient=patient,
        recorded_at=at(day0 + timedelta(days=5), 20),
        temperature_c=Decimal("38.4"),
        symptoms={"chills": 2, "nausea": 0, "vision": 1},
        notes="Shivering since lunch",
        entered_by=patient.user,
    )
    SymptomReport.objects.create(patient=patient, recorded_at=at(day0 + timedelta(days=40)), symptoms={"fatigue": 1})
    EDSSAssessment.objects.create(patient=patient, assessed_on=day0 + timedelta(days=180), score=Decimal("3.5"))
    MRIScan.objects.create(
        patient=patient, scan_date=day0 + timedelta(days=180), new_t2_lesions=2, gd_enhancing_lesions=1, notes="Small"
    )
    for number, vaccine in enumerate(codings("cvx")):
        VaccinationDose.objects.create(
            patient=patient, vaccine=vaccine, dose=1, given_date=day0 + timedelta(days=100 + number), note="Left arm"
        )
    ProphylaxisStop.objects.create(
        patient=patient, medication="fluconazole", stopped_on=day0 + timedelta(days=12), stopped_by=clinician
    )


def search(name: str, patients, dates: DateRange = ALL_TIME) -> list[dict]:
    return RESOURCE_TYPES[name].search(patients, dates)


def validate(resource: dict) -> None:
    """Valid R4 (the fhir.resources model accepts it) and JSON as the API sends it (no Decimal, no date)."""
    text = json.dumps(resource)
    construct_fhir_element(resource["resourceType"], json.loads(text))
    assert FHIR_ID.match(resource["id"]), resource["id"]


@pytest.fixture
def recorded(patient, clinician):
    record(patient, clinician)
    return Patient.objects.filter(pk=patient.pk)


def test_every_clinical_resource_of_a_transplanted_patient_is_valid_r4(recorded, patient):
    """Every resource built for a patient with every kind of record validates; ids are unique per type."""
    for name in CLINICAL:
        resources = search(name, recorded)
        assert resources, name
        for resource in resources:
            assert resource["resourceType"] == name
            validate(resource)
        assert len({r["id"] for r in resources}) == len(resources), name
    observations = search("Observation", recorded)
    prefixes = {r["id"].split("-")[0] for r in observations}
    assert prefixes == {"lab", "temp", "edss", "mri"}
    assert len([r for r in observations if r["id"].startswith("lab-")]) == len(LabTest.values)


def test_the_questionnaire_is_valid_and_has_every_symptom_the_check_in_asks():
    from recovery.clinical.symptom_questions import picker_order

    [definition] = RESOURCE_TYPES["Questionnaire"].definitions()
    validate(definition)
    assert definition["id"] == "symptom-checkin"
    assert definition["url"] == QUESTIONNAIRE_URL
    group = next(item for item in definition["item"] if item["linkId"] == "symptoms")
    assert [item["linkId"] for item in group["item"]] == list(picker_order())
    assert [o["valueCoding"]["code"] for o in group["item"][0]["answerOption"]] == ["0", "1", "2", "3", "4"]


def test_the_codes_sent_are_those_of_the_data_files(recorded):
    """Every coding of a standard system comes from its data file, with the file's display."""
    by_system = {}
    for name in ("loinc", "cvx", "atc", "snomed_outcomes"):
        for coding in codings(name).values():
            by_system[(coding.system, coding.code)] = coding.display
    sent = []

    def walk(node):
        if isinstance(node, dict):
            if "system" in node and "code" in node and node["system"].startswith("http"):
                sent.append(node)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for name in CLINICAL:
        walk(search(name, recorded))
    standard = [c for c in sent if "display" in c and "terminology.hl7.org" not in c["system"]]
    assert {c["system"] for c in standard} == {
        "http://loinc.org",
        "http://hl7.org/fhir/sid/cvx",
        "http://www.whocc.no/atc",
        "http://snomed.info/sct",
    }
    for coding in standard:
        assert by_system[(coding["system"], coding["code"])] == coding["display"], coding


def test_a_lab_result_is_loinc_coded_with_its_ucum_unit_and_collection_time(recorded, patient):
    result = LabResult.objects.get(patient=patient, test="cd4")
    [resource] = [r for r in search("Observation", recorded) if r["id"] == f"lab-{result.uuid}"]
    assert resource["code"]["coding"] == [
        {"system": "http://loinc.org", "code": "24467-3", "display": "CD3+CD4+ (T4 helper) cells [#/volume] in Blood"}
    ]
    assert resource["valueQuantity"] == {
        "value": 1.5,
        "unit": "x10^9/L",
        "system": "http://unitsofmeasure.org",
        "code": "10*9/L",
    }
    assert resource["effectiveDateTime"] == result.collected_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    assert resource["category"][0]["coding"][0]["code"] == "laboratory"
    assert resource["status"] == "final"
    assert resource["subject"] == {"reference": f"Patient/{patient.uuid}"}


@pytest.mark.parametrize(
    ("test", "value", "flag"),
    [
        ("anc", "0.4", "L"),
        ("anc", "2.0", "N"),  # the limits belong to the range
        ("anc", "7.5", "N"),
        ("anc", "9.1", "H"),
        ("cd4", "0.19", "L"),
        ("igg", "17", "H"),
        ("ebv_pcr", "600000", None),  # "not detected" is a single value: no range, no flag
        ("cmv_pcr", "0", None),
    ],
)
def test_a_lab_result_is_flagged_against_the_centres_reference_range(patient, test, value, flag):
    from recovery.queries.configuration import DEFAULT_CONFIG

    LabResult.objects.create(
        patient=patient, test=test, value=Decimal(value), unit=DEFAULT_CONFIG.labs.unit(test), collected_at=at(DAY0)
    )
    [resource] = search("Observation", Patient.objects.filter(pk=patient.pk))
    validate(resource)
    if flag is None:
        assert "interpretation" not in resource
        assert "referenceRange" not in resource
    else:
        assert resource["interpretation"][0]["coding"][0]["code"] == flag
        low, high = DEFAULT_CONFIG.labs.reference_range(test)
        assert resource["referenceRange"][0]["low"]["value"] == low
        assert resource["referenceRange"][0]["high"]["value"] == high


def test_a_unit_the_app_does_not_know_is_sent_as_text_without_a_ucum_code_or_a_range(patient):
    """A count stored in cells/uL (before the canonical units) keeps its value and unit, but gets no UCUM code, no
    reference range in x10^9/L and no flag: a receiving system must not read 250 as 250 x10^9/L."""
    LabResult.objects.create(patient=patient, test="cd4", value=Decimal("250"), unit="cells/µL", collected_at=at(DAY0))
    [resource] = search("Observation", Patient.objects.filter(pk=patient.pk))
    validate(resource)
    assert resource["valueQuantity"] == {"value": 250, "unit": "cells/µL"}
    assert "referenceRange" not in resource
    assert "interpretation" not in resource


def test_a_temperature_is_a_body_temperature_vital_sign(recorded, patient):
    """The vital-signs profile's essentials: category vital-signs, LOINC 8310-5, a UCUM Cel quantity, a time."""
    report = SymptomReport.objects.get(patient=patient, temperature_c__isnull=False)
    [resource] = [r for r in search("Observation", recorded) if r["id"].startswith("temp-")]
    assert resource["id"] == f"temp-{report.uuid}"
    assert resource["meta"]["profile"] == ["http://hl7.org/fhir/StructureDefinition/bodytemp"]
    assert resource["category"][0]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
        "code": "vital-signs",
        "display": "Vital Signs",
    }
    assert resource["code"]["coding"][0]["code"] == "8310-5"
    assert resource["valueQuantity"] == {
        "value": 38.4,
        "unit": "Cel",
        "system": "http://unitsofmeasure.org",
        "code": "Cel",
    }
    assert resource["effectiveDateTime"] == "2025-03-15T20:00:00Z"


def test_edss_is_a_snomed_coded_score(recorded):
    [resource] = [r for r in search("Observation", recorded) if r["id"].startswith("edss-")]
    assert resource["code"]["coding"][0]["code"] == "273554001"
    assert resource["valueQuantity"]["value"] == 3.5
    assert resource["valueQuantity"]["code"] == "{score}"
    assert resource["effectiveDateTime"] == (DAY0 + timedelta(days=180)).isoformat()
    assert resource["category"][0]["coding"][0]["code"] == "exam"


@pytest.mark.parametrize(
    ("new_t2", "gd", "rebaseline", "expected"),
    [
        (0, 0, False, {"new-or-enlarging-t2": 0, "gadolinium-enhancing": 0, "rebaseline": False}),
        (3, 0, False, {"new-or-enlarging-t2": 3, "gadolinium-enhancing": 0, "rebaseline": False}),
        (0, 2, False, {"new-or-enlarging-t2": 0, "gadolinium-enhancing": 2, "rebaseline": False}),
        (1, 1, True, {"new-or-enlarging-t2": 1, "gadolinium-enhancing": 1, "rebaseline": True}),
    ],
)
def test_an_mri_scan_sends_its_counts_as_components(patient, new_t2, gd, rebaseline, expected):
    """Each count is its own component (an integer), the re-baseline flag a boolean; nothing is summed into one
    "activity" value, since whether a scan counts as activity depends on the reference scan (outcomes.py)."""
    MRIScan.objects.create(
        patient=patient, scan_date=DAY0, new_t2_lesions=new_t2, gd_enhancing_lesions=gd, is_rebaseline=rebaseline
    )
    [resource] = search("Observation", Patient.objects.filter(pk=patient.pk))
    validate(resource)
    found = {
        c["code"]["coding"][0]["code"]: c.get("valueInteger", c.get("valueBoolean")) for c in resource["component"]
    }
    assert found == expected
    assert "valueQuantity" not in resource
    assert resource["category"][0]["coding"][0]["code"] == "imaging"


def test_a_check_in_is_a_questionnaire_response_with_coded_grades(recorded, patient):
    report = SymptomReport.objects.get(patient=patient, temperature_c__isnull=False)
    [resource] = [r for r in search("QuestionnaireResponse", recorded) if r["id"] == str(report.uuid)]
    assert resource["questionnaire"].startswith(QUESTIONNAIRE_URL)
    items = {item["linkId"]: item for item in resource["item"]}
    assert items["temperature"]["answer"][0]["valueQuantity"]["value"] == 38.4
    grades = {i["linkId"]: i["answer"][0]["valueCoding"]["code"] for i in items["symptoms"]["item"]}
    assert grades == {"chills": "2", "nausea": "0", "vision": "1"}
    assert [i["linkId"] for i in items["symptoms"]["item"]] == ["chills", "nausea", "vision"]  # the question order
    assert items["notes"]["answer"][0]["valueString"] == "Shivering since lunch"
    assert items["urgent"]["answer"][0]["valueBoolean"] is False
    assert resource["source"] == {"reference": f"Patient/{patient.uuid}"}  # the patient answered themself
    linked = {item["linkId"] for item in questionnaire()["item"]}
    assert set(items) <= linked


def test_a_symptom_the_check_in_no_longer_asks_is_kept_last(patient):
    SymptomReport.objects.create(patient=patient, recorded_at=at(DAY0), symptoms={"old_code": 3, "chills": 1})
    [resource] = search("QuestionnaireResponse", Patient.objects.filter(pk=patient.pk))
    validate(resource)
    symptoms = next(item for item in resource["item"] if item["linkId"] == "symptoms")["item"]
    assert [(i["linkId"], i["answer"][0]["valueCoding"]["code"]) for i in symptoms] == [
        ("chills", "1"),
        ("old_code", "3"),
    ]
    assert "source" not in resource  # entered by nobody known: the source is not claimed


def test_a_dose_given_is_a_cvx_coded_immunization(recorded, patient):
    dose = VaccinationDose.objects.get(patient=patient, vaccine="zoster_recombinant")
    [resource] = [r for r in search("Immunization", recorded) if r["id"] == str(dose.uuid)]
    assert resource["vaccineCode"]["coding"] == [
        {"system": "http://hl7.org/fhir/sid/cvx", "code": "187", "display": "zoster recombinant"}
    ]
    assert resource["status"] == "completed"
    assert resource["occurrenceDateTime"] == dose.given_date.isoformat()
    assert resource["protocolApplied"][0]["doseNumberPositiveInt"] == 1
    assert resource["patient"] == {"reference": f"Patient/{patient.uuid}"}
    assert resource["note"] == [{"text": "Left arm"}]


def test_a_vaccine_without_a_cvx_code_is_sent_by_name_only(patient):
    VaccinationDose.objects.create(patient=patient, vaccine="tbe", dose=2, given_date=DAY0)
    [resource] = search("Immunization", Patient.objects.filter(pk=patient.pk))
    validate(resource)
    assert resource["vaccineCode"] == {"text": "tbe"}


def _statements(patients) -> dict[str, dict]:
    return {r["medicationCodeableConcept"]["coding"][0]["code"]: r for r in search("MedicationStatement", patients)}


def test_prophylaxis_courses_are_medication_statements_by_their_state(recorded):
    """Fluconazole stopped (completed, ended the day it was stopped); aciclovir past its planned stop without a
    CD4 count (still active: the period open, the planned stop and the CD4 condition in the note); ATC coded."""
    found = _statements(recorded)
    assert set(found) == {"J05AB01", "J01EE01", "J02AC01", "J01MA12"}
    fluconazole = found["J02AC01"]
    assert fluconazole["status"] == "completed"
    assert fluconazole["effectivePeriod"] == {"start": "2025-03-05", "end": "2025-03-22"}
    aciclovir = found["J05AB01"]
    assert aciclovir["status"] == "active"
    assert aciclovir["effectivePeriod"] == {"start": "2025-03-05"}
    assert aciclovir["note"] == [{"text": "Earliest planned stop, once CD4 has recovered: 2026-03-10."}]
    assert found["J01EE01"]["effectivePeriod"]["start"] == "2025-03-21"  # from neutrophil engraftment
    assert found["J01MA12"]["status"] == "active"  # levofloxacin: stop allowed at engraftment, not recorded


def test_a_course_not_started_yet_is_intended_and_an_id_survives_the_stop(patient, clinician):
    from django.utils import timezone

    day0 = timezone.now().date() + timedelta(days=20)
    transplant(patient, day0)
    patients = Patient.objects.filter(pk=patient.pk)
    before = _statements(patients)
    assert {r["status"] for r in before.values()} == {"intended"}
    from recovery.clinical.phases import add_months

    # co-trimoxazole starts at engraftment (no date yet) and may stop from month 3: a period with an end only
    assert before["J01EE01"]["effectivePeriod"] == {"end": add_months(day0, 3).isoformat()}
    ProphylaxisStop.objects.create(patient=patient, medication="aciclovir", stopped_on=day0, stopped_by=clinician)
    after = _statements(patients)
    assert after["J05AB01"]["status"] == "completed"
    assert after["J05AB01"]["id"] == before["J05AB01"]["id"]


@pytest.mark.parametrize(
    ("name", "start", "end", "expected"),
    [
        ("Observation", date(2025, 3, 30), date(2025, 4, 2), {"lab"}),  # 3 of the daily lab results
        ("Observation", date(2025, 9, 6), date(2025, 9, 7), {"edss", "mri"}),
        ("QuestionnaireResponse", date(2025, 4, 1), date(2025, 5, 1), None),
        ("Immunization", date(2025, 6, 18), date(2025, 6, 20), None),
        ("MedicationStatement", date(2024, 1, 1), date(2025, 3, 1), None),  # before any course: nothing
        ("MedicationStatement", date(2025, 3, 23), date(2025, 3, 24), None),  # fluconazole stopped 22 March
    ],
)
def test_the_date_window_narrows_each_type(recorded, name, start, end, expected):
    everything = search(name, recorded)
    window = search(name, recorded, DateRange(at(start, 0), at(end, 0)))
    assert len(window) < len(everything)
    if expected is not None:
        assert {r["id"].split("-")[0] for r in window} == expected
    if name == "Observation" and expected == {"lab"}:
        assert len(window) == 3
    if name == "QuestionnaireResponse":
        assert len(window) == 1
    if name == "Immunization":
        assert len(window) == 2
    if name == "MedicationStatement" and start.year == 2025:
        assert "J02AC01" not in {r["medicationCodeableConcept"]["coding"][0]["code"] for r in window}
        assert len(window) == 3


def test_the_query_count_does_not_grow_with_patients_or_rows(patient, clinician, centre):
    """One patient with one row of each kind, then four patients with many: the same number of queries."""
    record(patient, clinician)
    one = Patient.objects.filter(pk=patient.pk)
    counts = {}
    for name in CLINICAL:
        with CaptureQueriesContext(connection) as queries:
            assert search(name, one)
        counts[name] = len(queries)
    others = [PatientFactory(centre=centre) for _ in range(3)]
    for number, other in enumerate(others):
        record(other, clinician, DAY0 + timedelta(days=number))
    many = Patient.objects.filter(pk__in=[patient.pk, *(o.pk for o in others)])
    for name in CLINICAL:
        with CaptureQueriesContext(connection) as queries:
            resources = search(name, many)
        assert len(resources) >= 4, name
        assert len(queries) == counts[name], (name, [q["sql"] for q in queries])
