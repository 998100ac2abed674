"""FHIR Patient: who the person is, as far as the patient's own doctor and a registry need it."""

from django.db.models import QuerySet

from recovery.models import Patient
from recovery.queries.fhir.common import DateRange, ResourceType, instant

HOSPITAL_NUMBER_SYSTEM = "urn:recovery-tracker:centre:{centre}:hospital-number"
_GENDER = {"female": "female", "male": "male", "other": "other"}


def patient_resource(patient: Patient) -> dict:
    resource = {
        "resourceType": "Patient",
        "id": str(patient.uuid),
        "meta": {"lastUpdated": instant(patient.updated_at)},
        "identifier": [
            {
                "use": "usual",
                "system": HOSPITAL_NUMBER_SYSTEM.format(centre=patient.centre.uuid),
                "value": patient.hospital_number,
            }
        ],
        "active": patient.deactivated_at is None,
        "name": [{"use": "official", "family": patient.last_name, "given": [patient.first_name]}],
        "gender": _GENDER.get(patient.sex, "unknown"),
        "birthDate": patient.date_of_birth.isoformat(),
        "communication": [
            {"language": {"coding": [{"system": "urn:ietf:bcp:47", "code": patient.preferred_language}]}}
        ],
    }
    telecom = [{"system": "phone", "value": patient.phone, "use": "mobile"}] if patient.phone else []
    if patient.email:
        telecom.append({"system": "email", "value": patient.email})
    if telecom:
        resource["telecom"] = telecom
    if patient.contact_name or patient.contact_phone:
        contact: dict = {}
        if patient.contact_name:
            contact["name"] = {"text": patient.contact_name}
        if patient.contact_phone:
            contact["telecom"] = [{"system": "phone", "value": patient.contact_phone}]
        resource["contact"] = [contact]
    return resource


def search(patients: QuerySet[Patient], dates: DateRange) -> list[dict]:
    """The patients themselves; a Patient has no date of its own, so the window does not narrow it."""
    return [patient_resource(patient) for patient in patients.select_related("centre")]


PATIENT = ResourceType("Patient", search=search, description="The person followed through aHSCT.")
