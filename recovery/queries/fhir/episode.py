"""FHIR EpisodeOfCare: the transplant episode, its status from the pathway phase of the patient's today.

One EpisodeOfCare per `TransplantEpisode`. The period starts at mobilisation (else the first event on the
timeline) and stays open: follow-up after aHSCT has no set end. It ends (status `finished`) only when the patient
leaves the centre's care (deactivated: `period.end` is that day in the patient's zone) or is recorded as withdrawn
or deceased. The app does not store the day a patient was withdrawn or died (only the status; the change is in
the audit log, which is not a clinical record), so such an episode is `finished` with its period left open: the
end is unknown, not "still going" (docs/fhir.md).

The phase (`recovery.clinical.phases.phase_on`, with the centre's configuration) is in the `transplant-phase`
extension as a coding of this app's phases, and the Day number in `transplant-day`.
"""

from django.db.models import DateField, Min, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from recovery.clinical.phases import EpisodeDates, Phase, local_date, phase_on
from recovery.clinical.terminology import coding
from recovery.models import Patient, TransplantEpisode
from recovery.models.patients import PatientStatus
from recovery.queries.configuration import active_configs
from recovery.queries.fhir.common import DateRange, ResourceType, fhir_date, instant, patient_reference

PHASE_EXTENSION = "urn:recovery-tracker:fhir:extension:transplant-phase"
DAY_EXTENSION = "urn:recovery-tracker:fhir:extension:transplant-day"
PHASE_SYSTEM = "urn:recovery-tracker:transplant-phase"
EPISODE_TYPE_KEY = "ahsct"  # snomed.csv
_ENDED = {PatientStatus.WITHDRAWN, PatientStatus.DECEASED}


def episode_id(episode: TransplantEpisode) -> str:
    return str(episode.uuid)


def _status(patient: Patient, phase: Phase) -> str:
    if patient.deactivated_at is not None or patient.status in _ENDED:
        return "finished"
    return "planned" if phase == Phase.EVALUATION else "active"


def episode_resource(episode: TransplantEpisode, phase_state, start) -> dict:
    patient = episode.patient
    phase = phase_state.phase
    ahsct = coding("snomed", EPISODE_TYPE_KEY)
    resource: dict = {
        "resourceType": "EpisodeOfCare",
        "id": episode_id(episode),
        "meta": {"lastUpdated": instant(episode.updated_at)},
        "extension": [
            {
                "url": PHASE_EXTENSION,
                "valueCoding": {
                    "system": PHASE_SYSTEM,
                    "code": phase.value,
                    "display": phase.value.replace("_", " ").capitalize(),
                },
            }
        ],
        "status": _status(patient, phase),
        "type": [
            {
                "coding": [ahsct.as_fhir()],
                "text": f"aHSCT for multiple sclerosis ({phase.value.replace('_', ' ')})",
            }
        ],
        "patient": patient_reference(patient),
        "managingOrganization": {"display": patient.centre.name},
    }
    if phase_state.day is not None:
        resource["extension"].append({"url": DAY_EXTENSION, "valueInteger": phase_state.day})
    period: dict = {}
    if start is not None:
        period["start"] = fhir_date(start)
    if patient.deactivated_at is not None:
        period["end"] = fhir_date(local_date(patient.deactivated_at, patient.timezone))
    if period:
        resource["period"] = period
    return resource


def search(patients: QuerySet[Patient], dates: DateRange) -> list[dict]:
    """The episodes whose period overlaps the window: started before its end, and not ended before its start
    (one query for the episodes, one for the centres' configurations)."""
    episodes = (
        TransplantEpisode.objects.filter(patient__in=patients)
        .select_related("patient__centre")
        .annotate(period_start=Coalesce("mobilisation_date", Min("events__planned_date"), output_field=DateField()))
        .order_by("patient_id")
    )
    if dates.end is not None:
        episodes = episodes.filter(DateRange(end=dates.end).q_date("period_start"))
    if dates.start is not None:
        episodes = episodes.filter(
            Q(patient__deactivated_at__isnull=True) | Q(patient__deactivated_at__gte=dates.start),
            period_start__isnull=False,
        )
    rows = list(episodes)
    configs = active_configs({row.patient.centre_id for row in rows}) if rows else {}
    now = timezone.now()
    resources = []
    for episode in rows:
        patient = episode.patient
        state = phase_on(
            EpisodeDates(
                episode.mobilisation_date,
                episode.apheresis_date,
                episode.conditioning_start_date,
                episode.reinfusion_date,
                episode.neutrophil_engraftment_date,
            ),
            local_date(now, patient.timezone),
            configs[patient.centre_id].phase,
        )
        resources.append(episode_resource(episode, state, episode.period_start))
    return resources


EPISODE_OF_CARE = ResourceType(
    "EpisodeOfCare",
    search=search,
    description="The transplant episode: mobilisation to the end of follow-up, with its phase today.",
)
