"""FHIR Condition: the patient's multiple sclerosis, and each recorded relapse as a Condition of its own.

* Multiple sclerosis (one per patient): the code of the MS type (RRMS, SPMS, PPMS; SNOMED CT), plain multiple
  sclerosis without a type, and a clinically isolated syndrome as text only (it is not yet MS, and no checked
  code is in terminology_data/snomed.csv); `onsetDateTime` the MS onset date; `clinicalStatus` active,
  `category` problem-list-item. Its id is `ms-<patient uuid>`, so it is stable.
* Each relapse: "Exacerbation of multiple sclerosis" (SNOMED CT 192929006), `onsetDateTime` its onset date,
  category encounter-diagnosis. The clinician's classification is the `verificationStatus`: a relapse is
  `confirmed`, a pseudo-relapse `refuted`, one not classified yet `provisional` (the app counts it as a relapse
  until a clinician decides). The functional systems affected, the steroid treatment, the "possible
  pseudo-relapse" flag (fever near the onset) and the description are notes.

A relapse is a Condition of its own rather than a date on the MS Condition because each has its own onset,
classification and notes, and a search by `date` must find relapses in a window. The window applies to the onset
dates (an MS Condition without an onset date is found only by a search without `date`).
"""

from django.db.models import QuerySet

from recovery.clinical.terminology import coding
from recovery.models import Patient, Relapse
from recovery.models.outcomes import MS_DOMAINS, RelapseClassification
from recovery.models.patients import MSType
from recovery.queries.fhir.common import ALL_TIME, DateRange, ResourceType, fhir_date, instant, patient_reference

CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
_MS_KEYS = {MSType.RRMS: "rrms", MSType.SPMS: "spms", MSType.PPMS: "ppms", "": "ms"}
_VERIFICATION = {
    RelapseClassification.RELAPSE: "confirmed",
    RelapseClassification.PSEUDO_RELAPSE: "refuted",
    "": "provisional",
}
_DOMAIN_NAMES = {key: str(name) for key, name in MS_DOMAINS}


def _concept(system: str, code: str) -> dict:
    return {"coding": [{"system": system, "code": code}]}


MS_PREFIX = "ms-"


def ms_condition_id(patient: Patient) -> str:
    """`ms-<patient uuid>`: stable, and it names its patient (recovery.queries.fhir.owners)."""
    return f"{MS_PREFIX}{patient.uuid}"


def ms_code(ms_type: str) -> dict:
    if ms_type == MSType.CIS:
        return {"text": "Clinically isolated syndrome"}
    found = coding("snomed", _MS_KEYS.get(ms_type, "ms"))
    return {"coding": [found.as_fhir()], "text": found.display}


def ms_resource(patient: Patient) -> dict:
    resource = {
        "resourceType": "Condition",
        "id": ms_condition_id(patient),
        "clinicalStatus": _concept(CLINICAL, "active"),
        "verificationStatus": _concept(VERIFICATION, "confirmed"),
        "category": [_concept(CATEGORY, "problem-list-item")],
        "code": ms_code(patient.ms_type),
        "subject": patient_reference(patient),
        "recordedDate": instant(patient.created_at),
    }
    if patient.ms_onset_date is not None:
        resource["onsetDateTime"] = fhir_date(patient.ms_onset_date)
    return resource


def _relapse_notes(relapse: Relapse) -> list[dict]:
    notes = []
    if relapse.domains:
        names = ", ".join(_DOMAIN_NAMES.get(domain, domain) for domain in relapse.domains)
        notes.append({"text": f"Functional systems affected: {names}"})
    if relapse.treated_with_steroids:
        notes.append({"text": "Treated with steroids"})
    if relapse.possible_pseudo_relapse:
        notes.append({"text": "Possible pseudo-relapse: a fever or infection was recorded near the onset"})
    if relapse.description:
        notes.append({"text": relapse.description})
    return notes


def relapse_resource(relapse: Relapse) -> dict:
    found = coding("snomed", "relapse")
    resource = {
        "resourceType": "Condition",
        "id": str(relapse.uuid),
        "verificationStatus": _concept(VERIFICATION, _VERIFICATION.get(relapse.classification, "provisional")),
        "category": [_concept(CATEGORY, "encounter-diagnosis")],
        "code": {"coding": [found.as_fhir()], "text": "Relapse of multiple sclerosis"},
        "subject": patient_reference(relapse.patient),
        "onsetDateTime": fhir_date(relapse.onset_date),
        "recordedDate": instant(relapse.created_at),
    }
    if notes := _relapse_notes(relapse):
        resource["note"] = notes
    return resource


def search(patients: QuerySet[Patient], dates: DateRange) -> list[dict]:
    """Two queries: the patients (their MS) and the relapses, each narrowed to the window by its onset date."""
    with_ms = patients if dates == ALL_TIME else patients.filter(dates.q_date("ms_onset_date"))
    resources = [ms_resource(patient) for patient in with_ms.order_by("pk")]
    relapses = (
        Relapse.objects.filter(patient__in=patients)
        .filter(dates.q_date("onset_date"))
        .select_related("patient")
        .order_by("patient_id", "onset_date", "id")
    )
    resources.extend(relapse_resource(relapse) for relapse in relapses)
    return resources


CONDITION = ResourceType(
    "Condition",
    search=search,
    description="Multiple sclerosis (with its type and onset) and each relapse, with the clinician's classification.",
)
