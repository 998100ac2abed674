"""/api/v1/patients/{id}/transplant/ and /timeline/, and the `?phase=` filter of the patient list (api.md).

Phase, Day number and event statuses are computed for today in the patient's own time zone.
"""

from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from recovery import access
from recovery.access import Action
from recovery.api.serializers import TimelineSerializer, TransplantConfirmSerializer, TransplantSerializer
from recovery.clinical.episode import DATE_FIELDS, cd34_warning
from recovery.clinical.phases import PHASE_ORDER, Phase, PhaseState, phase_on
from recovery.models import Patient, TransplantEpisode
from recovery.queries.configuration import ActiveConfig, active_config
from recovery.queries.labs import engraftment_proposal
from recovery.queries.timeline import episode_dates, events_with_status, patient_today
from recovery.services.audit import AuditContext, record_event
from recovery.services.episode_history import ConfirmationRequiredError
from recovery.services.timeline import save_episode

EMPTY_PUT = (
    "Send the transplant's fields: a PUT replaces them all, and an empty one would clear every date. "
    "To clear them, send each as null; to change some, use PATCH."
)

# The request fields of TransplantSerializer that are stored on the episode as they are.
_STORED_FIELDS = (*DATE_FIELDS, "cd34_dose")


def _state(patient: Patient, episode: TransplantEpisode | None, config: ActiveConfig) -> PhaseState:
    """`current_state` for an episode already in hand (no query for `patient.episode`)."""
    return phase_on(episode_dates(episode), patient_today(patient), config.phase)


def _transplant_data(
    patient: Patient, episode: TransplantEpisode | None, config: ActiveConfig, warnings: list[str]
) -> dict:
    state = _state(patient, episode, config)
    proposal = engraftment_proposal(patient) if episode and episode.reinfusion_date else None
    data = {name: getattr(episode, name) if episode else None for name in _STORED_FIELDS}
    return {
        **data,
        "regimen": episode.regimen if episode else None,
        "phase": state.phase.value,
        "day": state.day,
        "infection_risk": state.infection_risk.value,
        # No engraftment warning for a patient whose ANC never fell below the threshold (no aplasia).
        "flags": [flag.value for flag in state.flags if not (proposal and proposal.neutrophil.never_below)],
        # Computed from the counts (recovery.services.labs); null until the rule is met.
        "proposed_neutrophil_engraftment_date": proposal.neutrophil.proposed if proposal else None,
        "proposed_platelet_engraftment_date": proposal.platelet.proposed if proposal else None,
        "neutrophil_engraftment_state": proposal.neutrophil.state if proposal else None,
        "platelet_engraftment_state": proposal.platelet.state if proposal else None,
        "config_version": config.version,
        "warnings": warnings,
    }


def _episode(patient: Patient) -> TransplantEpisode | None:
    return TransplantEpisode.objects.select_related("protocol").filter(patient=patient).first()


@extend_schema(methods=["GET"], responses=TransplantSerializer)
@extend_schema(
    methods=["PUT"],
    request=TransplantSerializer,
    responses={200: TransplantSerializer, 409: TransplantConfirmSerializer},
)
@extend_schema(
    methods=["PATCH"],
    request=TransplantSerializer,
    responses={200: TransplantSerializer, 409: TransplantConfirmSerializer},
)
@api_view(["GET", "PUT", "PATCH"])
def transplant(request: Request, patient_id) -> Response:
    """The transplant episode: read by all who see the patient; PUT (replace) and PATCH by coordinators.

    Saving checks the dates, regenerates the timeline and answers with the new phase and any warnings. A
    destructive change (a phase date cleared or moved on or after Day 0, or timeline events deleted) is answered
    409 with what it would change, and nothing is saved, unless the request says `"confirm": true`.
    """
    context = AuditContext.from_request(request)
    if request.method == "GET":
        patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT)
        episode = _episode(patient)
        config = active_config(patient.centre_id)
        warning = cd34_warning(episode.cd34_dose, config.transplant) if episode else None
        record_event(context=context, action="transplant.view", patient=patient)
        data = _transplant_data(patient, episode, config, [warning] if warning else [])
        return Response(TransplantSerializer(data).data)

    patient = access.get_patient(request.user, patient_id, Action.EDIT_TRANSPLANT)
    partial = request.method == "PATCH"
    with transaction.atomic():
        episode = _episode(patient)
        serializer = TransplantSerializer(
            data=request.data, partial=partial, current_protocol=episode.protocol if episode else None
        )
        serializer.is_valid(raise_exception=True)
        validated = dict(serializer.validated_data)
        confirmed = validated.pop("confirm", False)
        if not partial and not validated:
            # An empty PUT would clear every date and the timeline: almost certainly a client's mistake.
            raise serializers.ValidationError({"non_field_errors": [EMPTY_PUT]})
        names = [name for name in ("regimen", *_STORED_FIELDS) if name in validated or not partial]
        fields = {("protocol" if name == "regimen" else name): validated.get(name) for name in names}
        try:
            result = save_episode(context=context, patient=patient, fields=fields, require_confirmation=not confirmed)
        except ConfirmationRequiredError as exc:
            impact = exc.impact
            body = {
                "detail": (
                    f"Nothing was saved: this change would remove {impact.events_removed} timeline events and "
                    f"cancel {impact.reminders_cancelled} pending reminders (phase today {impact.phase_before} -> "
                    f'{impact.phase_after}). Send it again with "confirm": true to go ahead.'
                ),
                "confirm_required": True,
                **impact.as_dict(),
            }
            return Response(TransplantConfirmSerializer(body).data, status=status.HTTP_409_CONFLICT)
    config = active_config(patient.centre_id)
    return Response(TransplantSerializer(_transplant_data(patient, result.episode, config, result.warnings)).data)


@extend_schema(responses=TimelineSerializer)
@api_view(["GET"])
def timeline(request: Request, patient_id) -> Response:
    """Today's phase and Day number, and every timeline event with the status the patient sees today."""
    context = AuditContext.from_request(request)
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT)
    episode = TransplantEpisode.objects.filter(patient=patient).first()
    config = active_config(patient.centre_id)
    today = patient_today(patient)
    state = phase_on(episode_dates(episode), today, config.phase)
    events = []
    if episode is not None:
        rows = episode.events.order_by("planned_date", "id")
        events = events_with_status(rows, today, config, episode.reinfusion_date)
    record_event(context=context, action="timeline.view", patient=patient)
    return Response(TimelineSerializer({"phase": state.phase.value, "day": state.day, "events": events}).data)


# The patient list's ?phase= (filtered by queries.workspace.filter_patients) ---------------------------


def parse_phase(value: str) -> Phase:
    """The phase named by `?phase=`; a 400 naming the valid phases otherwise."""
    try:
        return Phase(value)
    except ValueError:
        valid = ", ".join(PHASE_ORDER)
        raise serializers.ValidationError({"phase": [f"Unknown phase “{value}”; valid phases are {valid}."]}) from None
