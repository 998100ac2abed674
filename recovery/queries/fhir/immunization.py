"""FHIR Immunization: the vaccine doses given after the transplant (issue 17).

Only doses recorded as given (`VaccinationDose`) are Immunizations; the plan of doses still due is computed
(`recovery.clinical.vaccination`) and is not sent (an ImmunizationRecommendation would be its place). The vaccine
is coded in CVX (terminology_data/cvx.csv); the dose number of the app's revaccination schedule goes in
`protocolApplied`. The id of an Immunization is the dose's uuid.
"""

from django.db.models import QuerySet

from recovery.clinical.terminology import codings
from recovery.clinical.vaccination import vaccine_name
from recovery.models import Patient, VaccinationDose
from recovery.queries.fhir.common import DateRange, ResourceType, fhir_date, instant, patient_reference

SERIES = "Revaccination after aHSCT"


def immunization(dose: VaccinationDose, patient: Patient) -> dict:
    code: dict = {"text": vaccine_name(dose.vaccine)}
    cvx = codings("cvx").get(dose.vaccine)
    if cvx is not None:
        code["coding"] = [cvx.as_fhir()]
    resource = {
        "resourceType": "Immunization",
        "id": str(dose.uuid),
        "status": "completed",
        "vaccineCode": code,
        "patient": patient_reference(patient),
        "occurrenceDateTime": fhir_date(dose.given_date),
        "recorded": instant(dose.created_at),
        "protocolApplied": [{"series": SERIES, "doseNumberPositiveInt": dose.dose}],
    }
    if dose.note:
        resource["note"] = [{"text": dose.note}]
    return resource


def search(patients: QuerySet[Patient], dates: DateRange) -> list[dict]:
    """The doses of `patients` given in the window: one query."""
    doses = (
        VaccinationDose.objects.filter(patient__in=patients)
        .filter(dates.q_date("given_date"))
        .select_related("patient")
        .order_by("patient_id", "given_date", "vaccine", "dose", "id")
    )
    return [immunization(dose, dose.patient) for dose in doses]


IMMUNIZATION = ResourceType(
    "Immunization", search=search, description="Vaccine doses given after the transplant (CVX codes)."
)
