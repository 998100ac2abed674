"""FHIR Flag: the patient's open alerts (status open or acknowledged), for whoever reads the record next.

`code` is the alert's reason as text with the app's alert kind as a coding; `period.start` when it was raised;
the severity is the standard flag-priority extension (urgent: high, same day: medium, routine: low); an
acknowledged alert carries the `alert-acknowledged` extension with the moment. A resolved alert is no Flag.
The window applies to the moment the alert was raised.
"""

from django.db.models import QuerySet

from recovery.models import Alert, Patient
from recovery.models.symptoms import OPEN_STATUSES, AlertSeverity, AlertStatus
from recovery.queries.fhir.common import DateRange, ResourceType, instant, patient_reference

PRIORITY_EXTENSION = "http://hl7.org/fhir/StructureDefinition/flag-priority"
PRIORITY_SYSTEM = "http://hl7.org/fhir/flagpriority-code"
ACKNOWLEDGED_EXTENSION = "urn:recovery-tracker:fhir:extension:alert-acknowledged"
ALERT_KIND_SYSTEM = "urn:recovery-tracker:alert-kind"
FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"
_PRIORITY = {
    AlertSeverity.URGENT: ("PH", "High priority"),
    AlertSeverity.SAME_DAY: ("PM", "Medium priority"),
    AlertSeverity.ROUTINE: ("PL", "Low priority"),
}


def flag_resource(alert: Alert) -> dict:
    code, display = _PRIORITY.get(alert.severity, ("PN", "No alarm"))
    extensions = [
        {
            "url": PRIORITY_EXTENSION,
            "valueCodeableConcept": {
                "coding": [{"system": PRIORITY_SYSTEM, "code": code, "display": display}],
                "text": alert.get_severity_display(),
            },
        }
    ]
    if alert.status == AlertStatus.ACKNOWLEDGED and alert.acknowledged_at is not None:
        extensions.append({"url": ACKNOWLEDGED_EXTENSION, "valueDateTime": instant(alert.acknowledged_at)})
    return {
        "resourceType": "Flag",
        "id": str(alert.uuid),
        "meta": {"lastUpdated": instant(alert.updated_at)},
        "extension": extensions,
        "status": "active",
        "category": [{"coding": [{"system": FLAG_CATEGORY, "code": "clinical", "display": "Clinical"}]}],
        "code": {"coding": [{"system": ALERT_KIND_SYSTEM, "code": alert.kind}], "text": alert.reason},
        "subject": patient_reference(alert.patient),
        "period": {"start": instant(alert.created_at)},
    }


def search(patients: QuerySet[Patient], dates: DateRange) -> list[dict]:
    """One query: the open and acknowledged alerts raised in the window."""
    alerts = (
        Alert.objects.filter(patient__in=patients, status__in=OPEN_STATUSES)
        .filter(dates.q("created_at"))
        .select_related("patient")
        .order_by("patient_id", "created_at", "id")
    )
    return [flag_resource(alert) for alert in alerts]


FLAG = ResourceType("Flag", search=search, description="Open alerts (open or acknowledged), with their priority.")
