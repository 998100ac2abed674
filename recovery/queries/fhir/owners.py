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
Procedure              a hand-added timeline event's uuid; or uuid5(episode uuid, mobilisation |
                       apheresis | conditioning | reinfusion | apheresis:<session pk>)
Condition              a relapse's uuid; or uuid5(patient uuid, "multiple-sclerosis")
Observation            lab-<LabResult uuid>, temp-<SymptomReport uuid>, edss-<EDSSAssessment uuid>,
                       mri-<MRIScan uuid>
QuestionnaireResponse  the SymptomReport's uuid
Immunization           the VaccinationDose's uuid
Flag                   the Alert's uuid
MedicationStatement    rx-uuid5(app namespace, "<patient uuid>:<medication>")
=====================  ===========================================================================

A stored uuid is one indexed lookup. A derived id (uuid5) cannot be turned back, so it is recomputed for each
patient in sight (one or two queries of ids, no per-row query): a centre's few thousand episodes are hashed in
milliseconds. An id that is not a uuid in the right form belongs to nobody (the view answers 404).
"""

import uuid
from collections.abc import Callable
from uuid import uuid5

from django.db.models import QuerySet

from recovery.models import (
    Alert,
    ApheresisSession,
    EDSSAssessment,
    LabResult,
    MRIScan,
    Patient,
    ProphylaxisStop,
    Relapse,
    SymptomReport,
    TimelineEvent,
    TransplantEpisode,
    VaccinationDose,
)
from recovery.queries.configuration import active_configs
from recovery.queries.fhir.condition import ms_condition_id
from recovery.queries.fhir.medication import statement_id
from recovery.queries.prophylaxis import MEDICATIONS

EPISODE_PROCEDURES = ("mobilisation", "apheresis", "conditioning", "reinfusion")  # procedure.py's `what`
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
    if public_id is None:
        return None
    found = _stored(TimelineEvent, public_id, patients, "episode__patient")
    if found is not None:
        return found
    episodes = TransplantEpisode.objects.filter(patient__in=patients).values_list("uuid", "patient__uuid")
    for episode_uuid, patient_uuid in episodes:
        if any(uuid5(episode_uuid, what) == public_id for what in EPISODE_PROCEDURES):
            return patient_uuid
    sessions = ApheresisSession.objects.filter(episode__patient__in=patients).values_list(
        "pk", "episode__uuid", "episode__patient__uuid"
    )
    for pk, episode_uuid, patient_uuid in sessions:
        if uuid5(episode_uuid, f"apheresis:{pk}") == public_id:
            return patient_uuid
    return None


def _condition(resource_id: str, patients: QuerySet[Patient]) -> uuid.UUID | None:
    public_id = _uuid(resource_id)
    if public_id is None:
        return None
    found = _stored(Relapse, public_id, patients)
    if found is not None:
        return found
    for patient_uuid in patients.values_list("uuid", flat=True):
        if ms_condition_id(Patient(uuid=patient_uuid)) == resource_id:
            return patient_uuid
    return None


def _medication(resource_id: str, patients: QuerySet[Patient]) -> uuid.UUID | None:
    """A course's id names the patient and the medication: every medication the app may send (its own list,
    the centres' templates, the stops recorded) is tried for each patient with a Day 0 (three queries)."""
    if not resource_id.startswith("rx-") or _uuid(resource_id.removeprefix("rx-")) is None:
        return None
    rows = list(patients.filter(episode__reinfusion_date__isnull=False).values_list("uuid", "centre_id").order_by("pk"))
    if not rows:
        return None
    codes = set(MEDICATIONS)
    for config in active_configs({centre for _, centre in rows}).values():
        codes.update(template.medication for template in config.prophylaxis.templates)
    codes.update(ProphylaxisStop.objects.filter(patient__in=patients).values_list("medication", flat=True).distinct())
    for patient_uuid, _ in rows:
        patient = Patient(uuid=patient_uuid)
        if any(statement_id(patient, code) == resource_id for code in codes):
            return patient_uuid
    return None


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
