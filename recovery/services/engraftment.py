"""Engraftment: confirming its dates, and the delayed-engraftment and graft-failure alerts a daily beat raises."""

from datetime import date, timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from recovery.clinical.engraftment import (
    engraftment_flags,
)
from recovery.clinical.phases import Flag
from recovery.clinical.triage import AlertKind, Severity
from recovery.clinical.words import Message, Number
from recovery.models import (
    OPEN_STATUSES,
    Alert,
    EngraftmentConfirmation,
    EngraftmentKind,
    Patient,
    ResolutionAction,
    TransplantEpisode,
)
from recovery.queries.configuration import active_config, active_configs
from recovery.queries.labs import anc_never_below, engraftment_proposal
from recovery.queries.timeline import patient_today
from recovery.services.alerts import raise_alert, resolve_alert
from recovery.services.audit import AuditContext, record_event
from recovery.services.timeline import save_episode

# Alert kinds and the rules that raise them (stored with each alert).
KIND_DELAYED = AlertKind.DELAYED_ENGRAFTMENT.value


KIND_GRAFT_FAILURE = AlertKind.POSSIBLE_GRAFT_FAILURE.value


RULE_DELAYED = "engraftment.delayed"


RULE_GRAFT_FAILURE = "engraftment.possible_graft_failure"


_FLAG_RULES = {
    Flag.DELAYED_ENGRAFTMENT: (KIND_DELAYED, RULE_DELAYED),
    Flag.POSSIBLE_GRAFT_FAILURE: (KIND_GRAFT_FAILURE, RULE_GRAFT_FAILURE),
}


@transaction.atomic
def confirm_engraftment(
    *, context: AuditContext, patient: Patient, kind: str, on: date | None, note: str = ""
) -> EngraftmentConfirmation:
    """A clinician confirms the engraftment date (the proposal, or another with a note saying why).

    The date is saved on the episode through `save_episode`, which checks it, moves the phase (neutrophil
    engraftment ends aplasia) and replans what depends on it. Raises ValidationError (field `on` or `note`).
    """
    from recovery import access  # access imports the models; a top-level import here would be circular

    if context.actor is None or not access.may(context.actor, access.Action.CONFIRM_ENGRAFTMENT):
        raise PermissionDenied("Only a clinician confirms engraftment.")
    if kind not in EngraftmentKind.values:
        raise ValidationError({"kind": "Choose neutrophil or platelet engraftment."})
    if on is None:
        raise ValidationError({"on": "Give the engraftment date."})
    list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True))
    status = engraftment_proposal(patient)
    if status.day0 is None:
        raise ValidationError({"on": "Record Day 0 (the reinfusion) before engraftment."})
    line = status.neutrophil if kind == EngraftmentKind.NEUTROPHIL else status.platelet
    note = (note or "").strip()
    if on != line.proposed and not note:
        reason = "differs from the date the counts give" if line.proposed else "is not backed by the counts yet"
        raise ValidationError({"note": f"This date {reason}: say why in the note."})
    field_name = f"{kind}_engraftment_date"
    try:
        save_episode(context=context, patient=patient, fields={field_name: on})
    except ValidationError as exc:
        messages = exc.message_dict.get(field_name) if hasattr(exc, "error_dict") else None
        raise ValidationError({"on": messages or exc.messages}) from None
    config = active_config(patient.centre_id)
    confirmation = EngraftmentConfirmation.objects.create(
        patient=patient,
        kind=kind,
        proposed_date=line.proposed,
        confirmed_date=on,
        confirmed_by=context.actor,
        note=note[:500],
        config_version=config.version,
    )
    record_event(
        context=context,
        action="engraftment.confirm",
        patient=patient,
        detail={
            "kind": kind,
            "date": on.isoformat(),
            "proposed": line.proposed.isoformat() if line.proposed else None,
            "config_version": config.version,
        },
    )
    if kind == EngraftmentKind.NEUTROPHIL:
        _close_engraftment_alerts(context, patient, on)
    return confirmation


def _close_engraftment_alerts(context: AuditContext, patient: Patient, on: date) -> None:
    """Engraftment confirmed: the delayed-engraftment and graft-failure alerts have their answer."""
    open_alerts = Alert.objects.filter(
        patient=patient, kind__in=[KIND_DELAYED, KIND_GRAFT_FAILURE], status__in=OPEN_STATUSES
    )
    for alert in open_alerts:
        resolve_alert(
            context=context,
            alert=alert,
            action=ResolutionAction.OTHER,
            note=f"Neutrophil engraftment confirmed on {on.isoformat()}.",
        )


@transaction.atomic
def check_engraftment_alerts(*, today: date | None = None) -> list[Alert]:
    """Raise "delayed_engraftment" (from D+21) and "possible_graft_failure" (from D+30) alerts for patients without
    a neutrophil engraftment date, once per episode: an alert of that kind raised since Day 0 (open or already
    dealt with) is not raised again. None for a patient whose ANC never fell below the threshold after Day 0
    (`neutrophil_never_below`: no aplasia, nothing to engraft from); an implausible ANC or too few counts to
    tell keep the alerts. `today` defaults to each patient's own date. Returns the alerts raised.
    """
    episodes = (
        TransplantEpisode.objects.filter(reinfusion_date__isnull=False, neutrophil_engraftment_date__isnull=True)
        .filter(patient__deactivated_at__isnull=True)  # deactivated patients are out of the centre's care
        .select_related("patient__centre")
        .order_by("pk")
    )
    horizon = (today or timezone.now().date()) - timedelta(days=400)
    episodes = episodes.filter(reinfusion_date__gte=horizon)
    raised = []
    episodes = list(episodes)
    configs = active_configs({episode.patient.centre_id for episode in episodes})  # one query, not one per patient
    for episode in episodes:
        patient = episode.patient
        config = configs[patient.centre_id]
        on = today or patient_today(patient)
        if on < episode.reinfusion_date:
            continue
        flags = engraftment_flags(episode.reinfusion_date, on, None, config.phase)
        if flags and anc_never_below(patient, episode.reinfusion_date, on, config.labs):
            continue
        for flag in flags:
            kind, rule = _FLAG_RULES[flag]
            already = Alert.objects.filter(
                patient=patient,
                kind=kind,
                created_at__date__gte=episode.reinfusion_date - timedelta(days=1),
            ).exists()
            if already:
                continue
            day = (on - episode.reinfusion_date).days
            if flag == Flag.POSSIBLE_GRAFT_FAILURE:
                reason = Message(
                    gettext_noop(
                        "Day +%(day)s: no neutrophil engraftment recorded (ANC >= %(threshold)s on %(days)s "
                        "different days) by Day +%(by_day)s: possible primary graft failure."
                    ),
                    {
                        "day": day,
                        "threshold": Number(f"{config.labs.neutrophil_threshold:g}"),
                        "days": config.labs.engraftment_consecutive_days,
                        "by_day": config.phase.possible_graft_failure_day,
                    },
                )
            else:
                reason = Message(
                    gettext_noop(
                        "Day +%(day)s: no neutrophil engraftment recorded by Day +%(by_day)s: engraftment is delayed."
                    ),
                    {"day": day, "by_day": config.phase.delayed_engraftment_day},
                )
            alert, opened = raise_alert(
                patient=patient,
                kind=kind,
                severity=Severity.SAME_DAY,
                rule=rule,
                message=reason,
                config=config,
                detail={"day": day, "day0": episode.reinfusion_date.isoformat()},
            )
            if opened:
                raised.append(alert)
    return raised
