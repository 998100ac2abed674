"""FHIR R4 resources read from the database (issue 17), one module per resource type, registered here.

The API under /fhir/R4/, `Patient/{id}/$everything` and the bulk `$export` all read through `RESOURCE_TYPES`.
"""

from recovery.queries.fhir.common import ResourceType
from recovery.queries.fhir.condition import CONDITION
from recovery.queries.fhir.episode import EPISODE_OF_CARE
from recovery.queries.fhir.flag import FLAG
from recovery.queries.fhir.immunization import IMMUNIZATION
from recovery.queries.fhir.medication import MEDICATION_STATEMENT
from recovery.queries.fhir.observation import OBSERVATION
from recovery.queries.fhir.patient import PATIENT
from recovery.queries.fhir.procedure import PROCEDURE
from recovery.queries.fhir.questionnaire import QUESTIONNAIRE, QUESTIONNAIRE_RESPONSE

RESOURCE_TYPES: dict[str, ResourceType] = {
    kind.name: kind
    for kind in (
        PATIENT,
        EPISODE_OF_CARE,
        PROCEDURE,
        CONDITION,
        OBSERVATION,
        QUESTIONNAIRE_RESPONSE,
        QUESTIONNAIRE,
        IMMUNIZATION,
        MEDICATION_STATEMENT,
        FLAG,
    )
}
