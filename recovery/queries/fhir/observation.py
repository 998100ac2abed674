"""FHIR Observation: lab results, body temperature, EDSS and MRI lesion counts (issue 17).

The mapping, field by field, is in docs/fhir-clinical-mapping.md.

Four kinds of rows become Observations, each with its own id prefix so that ids never collide: `lab-<uuid>` a
`LabResult` (LOINC, UCUM), `temp-<uuid>` the temperature of a check-in (`SymptomReport`, the FHIR body temperature
vital-signs profile), `edss-<uuid>` an `EDSSAssessment` (SNOMED CT, no LOINC code exists) and `mri-<uuid>` an
`MRIScan` (its lesion counts as components, under a local code system). Each kind is one query, narrowed by the
date window on its own date, whatever the number of rows; the centres' lab configuration (for reference ranges)
is one more.
"""

from decimal import Decimal

from django.db.models import QuerySet

from recovery.clinical.terminology import SYSTEMS, codings
from recovery.clinical.units import ucum_code
from recovery.models import EDSSAssessment, LabResult, LabTest, MRIScan, Patient, SymptomReport
from recovery.queries.configuration import active_configs
from recovery.queries.fhir.common import DateRange, ResourceType, fhir_date, instant, patient_reference

CATEGORY_SYSTEM = "http://terminology.hl7.org/CodeSystem/observation-category"
INTERPRETATION_SYSTEM = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
BODY_TEMPERATURE_PROFILE = "http://hl7.org/fhir/StructureDefinition/bodytemp"
VITAL_SIGNS_PROFILE = "http://hl7.org/fhir/StructureDefinition/vitalsigns"
# This app's own codes for the MRI lesion counts (no LOINC or SNOMED CT code counts MS lesions).
MRI_SYSTEM = "urn:recovery-tracker:code-system:mri-activity"
MRI_CODES: dict[str, str] = {
    "ms-mri-activity": "MS lesion activity on brain MRI",
    "new-or-enlarging-t2": "New or enlarging T2 lesions",
    "gadolinium-enhancing": "Gadolinium-enhancing lesions",
    "rebaseline": "Re-baseline scan (new lesions are counted against it from now on)",
}

_INTERPRETATION = {"L": "Low", "N": "Normal", "H": "High"}


def _category(code: str, display: str) -> list[dict]:
    return [{"coding": [{"system": CATEGORY_SYSTEM, "code": code, "display": display}]}]


def _number(value: Decimal | float) -> int | float:
    """A JSON number for a FHIR decimal: 250 rather than 250.0000, 0.5 rather than a string."""
    number = Decimal(value).normalize()
    return int(number) if number == number.to_integral_value() else float(number)


def quantity(value: Decimal | float, unit: str, ucum: str | None = None) -> dict:
    result: dict = {"value": _number(value), "unit": unit}
    if ucum:
        result.update(system=SYSTEMS["ucum"], code=ucum)
    return result


def interpretation(value: float, low: float, high: float) -> str | None:
    """L, N or H against the reference range; None where the range is a single value (a viral load: "not
    detected") or empty, which says nothing about a measured value."""
    if low >= high:
        return None
    return "L" if value < low else "H" if value > high else "N"


def lab_observation(result: LabResult, patient: Patient, labs=None) -> dict:
    loinc = codings("loinc").get(result.test)
    code: dict = {"text": str(LabTest(result.test).label) if result.test in LabTest.values else result.test}
    if loinc is not None:
        code["coding"] = [loinc.as_fhir()]
    ucum = ucum_code(result.unit)  # a unit the app does not know (an old row) is sent as text only
    resource = {
        "resourceType": "Observation",
        "id": f"lab-{result.uuid}",
        "status": "final",
        "category": _category("laboratory", "Laboratory"),
        "code": code,
        "subject": patient_reference(patient),
        "effectiveDateTime": instant(result.collected_at),
        "issued": instant(result.created_at),
        "valueQuantity": quantity(result.value, result.unit, ucum),
    }
    if labs is not None:
        try:
            low, high = labs.reference_range(result.test)
            canonical = labs.unit(result.test)
        except ValueError:
            return resource
        if result.unit != canonical:  # a range in another unit than the value's would mislead: none
            return resource
        flag = interpretation(float(result.value), low, high)
        if flag is not None:
            resource["referenceRange"] = [
                {"low": quantity(low, result.unit, ucum), "high": quantity(high, result.unit, ucum)}
            ]
            resource["interpretation"] = [
                {"coding": [{"system": INTERPRETATION_SYSTEM, "code": flag, "display": _INTERPRETATION[flag]}]}
            ]
    return resource


def temperature_observation(report: SymptomReport, patient: Patient) -> dict:
    loinc = codings("loinc")["body_temperature"]
    return {
        "resourceType": "Observation",
        "id": f"temp-{report.uuid}",
        "meta": {"profile": [BODY_TEMPERATURE_PROFILE]},
        "status": "final",
        "category": _category("vital-signs", "Vital Signs"),
        "code": {"coding": [loinc.as_fhir()], "text": "Body temperature"},
        "subject": patient_reference(patient),
        "effectiveDateTime": instant(report.recorded_at),
        "issued": instant(report.created_at),
        "valueQuantity": quantity(report.temperature_c, "Cel", loinc.unit),
        "derivedFrom": [{"reference": f"QuestionnaireResponse/{report.uuid}"}],
    }


def edss_observation(assessment: EDSSAssessment, patient: Patient) -> dict:
    edss = codings("snomed_outcomes")["edss"]
    return {
        "resourceType": "Observation",
        "id": f"edss-{assessment.uuid}",
        "status": "final",
        "category": _category("exam", "Exam"),
        "code": {"coding": [edss.as_fhir()], "text": "EDSS (Kurtzke Expanded Disability Status Scale)"},
        "subject": patient_reference(patient),
        "effectiveDateTime": fhir_date(assessment.assessed_on),
        "valueQuantity": quantity(assessment.score, "score", edss.unit),
    }


def _mri_coding(code: str) -> dict:
    return {"coding": [{"system": MRI_SYSTEM, "code": code, "display": MRI_CODES[code]}], "text": MRI_CODES[code]}


def mri_components(scan: MRIScan) -> list[dict]:
    """The counts as components: new or enlarging T2 lesions, gadolinium-enhancing lesions, re-baseline or not."""
    return [
        {"code": _mri_coding("new-or-enlarging-t2"), "valueInteger": scan.new_t2_lesions},
        {"code": _mri_coding("gadolinium-enhancing"), "valueInteger": scan.gd_enhancing_lesions},
        {"code": _mri_coding("rebaseline"), "valueBoolean": scan.is_rebaseline},
    ]


def mri_observation(scan: MRIScan, patient: Patient) -> dict:
    resource = {
        "resourceType": "Observation",
        "id": f"mri-{scan.uuid}",
        "status": "final",
        "category": _category("imaging", "Imaging"),
        "code": _mri_coding("ms-mri-activity"),
        "subject": patient_reference(patient),
        "effectiveDateTime": fhir_date(scan.scan_date),
        "component": mri_components(scan),
    }
    if scan.notes:
        resource["note"] = [{"text": scan.notes}]
    return resource


def search(patients: QuerySet[Patient], dates: DateRange) -> list[dict]:
    """Labs, temperatures, EDSS and MRI of `patients` in the window: five queries, whatever the rows."""
    labs = list(
        LabResult.objects.filter(patient__in=patients)
        .filter(dates.q("collected_at"))
        .select_related("patient")
        .order_by("patient_id", "collected_at", "test", "id")
    )
    configs = active_configs({result.patient.centre_id for result in labs})
    resources = [lab_observation(r, r.patient, configs[r.patient.centre_id].labs) for r in labs]
    temperatures = (
        SymptomReport.objects.filter(patient__in=patients, temperature_c__isnull=False)
        .filter(dates.q("recorded_at"))
        .select_related("patient")
        .order_by("patient_id", "recorded_at", "id")
    )
    resources += [temperature_observation(report, report.patient) for report in temperatures]
    assessments = (
        EDSSAssessment.objects.filter(patient__in=patients)
        .filter(dates.q_date("assessed_on"))
        .select_related("patient")
        .order_by("patient_id", "assessed_on", "id")
    )
    resources += [edss_observation(assessment, assessment.patient) for assessment in assessments]
    scans = (
        MRIScan.objects.filter(patient__in=patients)
        .filter(dates.q_date("scan_date"))
        .select_related("patient")
        .order_by("patient_id", "scan_date", "id")
    )
    resources += [mri_observation(scan, scan.patient) for scan in scans]
    return resources


OBSERVATION = ResourceType(
    "Observation",
    search=search,
    description="Lab results (LOINC, UCUM), body temperature (vital signs), EDSS and MRI lesion counts.",
)
