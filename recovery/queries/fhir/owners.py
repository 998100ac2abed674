"""Whose is this FHIR resource? The patient a resource id belongs to, for a read by id (`Type/id`, issue 17).

Every resource of a patient is read by id the same way: this module finds the owning patient among those the
caller may see, the view checks access and runs that type's own `search` for that one patient, and picks the
resource with the id. So a read by id always answers exactly what the patient's searches and `$everything` hold
(the same builder, the same statuses), and nothing here repeats a builder.

The ids, as the builders make them:

=====================  ===========================================================================
type                   id
=====================  ===========================================================================
EpisodeOfCare          the episode's uuid
Procedure              a hand-added timeline event's uuid; or <episode uuid>-mobilisation | apheresis |
                       conditioning | reinfusion | apheresis-<session pk>
Condition              a relapse's uuid; or ms-<patient uuid>
Observation            lab-<LabResult uuid>, temp-<SymptomReport uuid>, edss-<EDSSAssessment uuid>,
                       mri-<MRIScan uuid>
QuestionnaireResponse  the SymptomReport's uuid
Immunization           the VaccinationDose's uuid
Flag                   the Alert's uuid
MedicationStatement    rx-<patient uuid in base32>-<medication> (medication.py statement_id)
=====================  ===========================================================================

Every id names the row it comes from or its patient, so finding the owner is one indexed query, however many
patients the caller may see. An id in none of these forms belongs to nobody (the view answers 404).
"""

import uuid
from collections.abc import Callable

from django.db.models import QuerySet

from recovery.models import (
    Alert,
    EDSSAssessment,
    LabResult,
    MRIScan,
    Patient,
    Relapse,
    SymptomReport,
    TimelineEvent,
    TransplantEpisode,
    VaccinationDose,
)
from recovery.queries.fhir.condition import MS_PREFIX
from recovery.queries.fhir.medication import statement_of_id
from recovery.queries.fhir.procedure import episode_of_procedure_id

OBSERVATION_MODELS = {"lab": LabResult, "temp": SymptomReport, "edss": EDSSAssessment, "mri": MRIScan}
PATIENT_MODELS = {
    "EpisodeOfCare": TransplantEpisode,
    "QuestionnaireResponse": SymptomReport,
    "Immunization": VaccinationDose,
    "Flag": Alert,
}


def _uuid(text: str) -> uuid.UUID | None:
    """The uuid written canonically (36 characters, lower case, as the builders write it), else None."""
    try:
        value = uuid.UUID(text)
    except (ValueError, AttributeError, TypeError):
        return None
    return value if str(value) == text else None


def _stored(model, public_id: uuid.UUID, patients: QuerySet[Patient], path: str = "patient") -> uuid.UUID | None:
    """The uuid of the patient (among `patients`) of the `model` row with this uuid: one query."""
    return (
        model.objects.filter(uuid=public_id, **{f"{path}__in": patients})
        .values_list(f"{path}__uuid", flat=True)
        .first()
    )


def _observation(resource_id: str, patients: QuerySet[Patient]) -> uuid.UUID | None:
    prefix, _, rest = resource_id.partition("-")
    model, public_id = OBSERVATION_MODELS.get(prefix), _uuid(rest)
    if model is None or public_id is None:
        return None
    return _stored(model, public_id, patients)


def _procedure(resource_id: str, patients: QuerySet[Patient]) -> uuid.UUID | None:
    public_id = _uuid(resource_id)
    if public_id is not None:  # a hand-added timeline event
        return _stored(TimelineEvent, public_id, patients, "episode__patient")
    episode = episode_of_procedure_id(resource_id)  # a step of the episode's own dates
    return None if episode is None else _stored(TransplantEpisode, episode, patients)


def _condition(resource_id: str, patients: QuerySet[Patient]) -> uuid.UUID | None:
    public_id = _uuid(resource_id)
    if public_id is not None:  # a relapse
        return _stored(Relapse, public_id, patients)
    patient_id = _uuid(resource_id.removeprefix(MS_PREFIX)) if resource_id.startswith(MS_PREFIX) else None
    return None if patient_id is None else _patient(patient_id, patients)


def _medication(resource_id: str, patients: QuerySet[Patient]) -> uuid.UUID | None:
    named = statement_of_id(resource_id)
    return None if named is None else _patient(named[0], patients)


def _patient(patient_id: uuid.UUID, patients: QuerySet[Patient]) -> uuid.UUID | None:
    return patients.filter(uuid=patient_id).values_list("uuid", flat=True).first()


def _patient_model(model) -> Callable[[str, QuerySet[Patient]], uuid.UUID | None]:
    def owner(resource_id: str, patients: QuerySet[Patient]) -> uuid.UUID | None:
        public_id = _uuid(resource_id)
        return None if public_id is None else _stored(model, public_id, patients)

    return owner


OWNERS: dict[str, Callable[[str, QuerySet[Patient]], uuid.UUID | None]] = {
    "Observation": _observation,
    "Procedure": _procedure,
    "Condition": _condition,
    "MedicationStatement": _medication,
    **{name: _patient_model(model) for name, model in PATIENT_MODELS.items()},
}


def owner(type_name: str, resource_id: str, patients: QuerySet[Patient]) -> uuid.UUID | None:
    """The uuid of the patient among `patients` (those the caller may see) whose `type_name` resource has this
    id, or None (no such resource, out of sight, a malformed id, or a type without patient resources)."""
    find = OWNERS.get(type_name)
    return None if find is None else find(resource_id, patients)
