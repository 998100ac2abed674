"""The transplant episode and the timeline generated from its protocol."""

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from recovery.clinical.episode import DATE_FIELDS, PHASE_DATE_FIELDS, cd34_warning, check_episode_dates
from recovery.clinical.phases import phase_on
from recovery.clinical.timeline import (
    Anchor,
    EventKind,
    EventStatus,
    ExistingEvent,
    TemplateEvent,
    plan_timeline,
)
from recovery.clinical.timeline_rules import LIVE_VACCINE_EVENT, rule_dates
from recovery.models import (
    ApheresisSession,
    Patient,
    ProtocolTemplate,
    TimelineEvent,
    TransplantDateChange,
    TransplantEpisode,
)
from recovery.queries.configuration import ActiveConfig, active_config
from recovery.queries.timeline import episode_of, patient_today
from recovery.services.audit import AuditContext, record_event
from recovery.services.audit import changes as audit_changes
from recovery.services.audit import snapshot as audit_snapshot
from recovery.services.episode_history import (
    EPISODE_FIELDS,
    ChangeImpact,
    ConfirmationRequiredError,
    dates_of,
    fields_from_snapshot,
    snapshot,
    version_of,
)
from recovery.services.outcome_summaries import request_outcome_refresh, request_outcome_refresh_many
from recovery.services.phases import refresh_phases, store_phase
from recovery.services.reminders.planning import plan_reminders
from recovery.services.reminders.replan import request_replan
from recovery.services.vaccination_plans import request_vaccination_refresh, request_vaccination_refresh_many


def _anchors(episode: TransplantEpisode) -> dict[Anchor, date | None]:
    return {
        Anchor.MOBILISATION: episode.mobilisation_date,
        Anchor.CONDITIONING_START: episode.conditioning_start_date,
        Anchor.DAY0: episode.reinfusion_date,
        Anchor.NEUTROPHIL_ENGRAFTMENT: episode.neutrophil_engraftment_date,
        Anchor.DISCHARGE: episode.discharge_date,
    }


def _template(protocol: ProtocolTemplate | None) -> list[TemplateEvent]:
    if protocol is None:
        return []
    return [
        TemplateEvent(
            key=row.key,
            anchor=Anchor(row.anchor),
            offset_days=row.offset_days,
            kind=EventKind(row.kind),
            title=row.title,
        )
        for row in protocol.events.all()
    ]


def _rule_dates(episode: TransplantEpisode, config: ActiveConfig) -> dict[str, date | None]:
    return rule_dates(
        day0=episode.reinfusion_date,
        conditioning_start=episode.conditioning_start_date,
        neutrophil_engraftment=episode.neutrophil_engraftment_date,
        vaccination=config.vaccination,
        prophylaxis=config.prophylaxis,
    )


@transaction.atomic
def regenerate_timeline(*, episode: TransplantEpisode, config: ActiveConfig | None = None) -> dict[str, int]:
    """Bring the generated events in line with the protocol, the anchor dates and the centre's configuration
    (`config`, read when not given): the prophylaxis and vaccination events take the dates of those rules
    (`recovery.clinical.timeline_rules`). Idempotent.

    Events a person completed, cancelled or moved by hand, and events added by hand, are never changed.
    """
    config = config or active_config(episode.patient.centre_id)
    existing_rows = list(TimelineEvent.objects.select_for_update().filter(episode=episode))
    existing = [
        ExistingEvent(
            id=row.pk,
            template_key=row.template_key,
            planned_date=row.planned_date,
            status=EventStatus(row.status),
            manually_changed=row.manually_changed,
        )
        for row in existing_rows
    ]
    plan = plan_timeline(_template(episode.protocol), _anchors(episode), existing, _rule_dates(episode, config))
    TimelineEvent.objects.bulk_create(
        [
            TimelineEvent(
                episode=episode,
                template_key=item.template_key,
                kind=item.kind.value,
                title=item.title,
                planned_date=item.planned_date,
            )
            for item in plan.create
        ]
    )
    by_id = {row.pk: row for row in existing_rows}
    moved = []
    for item in plan.move:
        row = by_id[item.event_id]
        row.planned_date = item.planned_date
        moved.append(row)
    TimelineEvent.objects.bulk_update(moved, ["planned_date", "updated_at"])
    TimelineEvent.objects.filter(pk__in=plan.remove).delete()
    return {"created": len(plan.create), "moved": len(plan.move), "removed": len(plan.remove)}


def regenerate_centre_timelines(*, centre_id: int) -> int:
    """Regenerate the timeline of every episode of the centre, after its configuration changed, so the
    rule-dated events follow the new configuration. Returns the number of events created, moved or removed."""
    config = active_config(centre_id)
    changed = 0
    episodes = TransplantEpisode.objects.filter(patient__centre_id=centre_id).select_related("patient", "protocol")
    for episode in episodes.order_by("pk"):
        changes = sum(regenerate_timeline(episode=episode, config=config).values())
        if changes:
            _replan(episode.patient)
        changed += changes
    # Every reminder of the centre may follow the new version (times, windows): the planning dispatcher hands
    # its patients out first in its next run (`services/reminders/horizon.py`).
    Patient.objects.filter(centre_id=centre_id).update(reminders_planned_until=None)
    # the outcome rules' thresholds may have changed too: every stored outcome of the centre is computed again
    transplanted = episodes.filter(reinfusion_date__isnull=False).values_list("patient_id", flat=True)
    request_outcome_refresh_many(transplanted)
    request_vaccination_refresh_many(transplanted)  # the vaccination schedule may have changed too
    refresh_phases(centre_id=centre_id)  # the phase boundaries may have moved (the lists read the stored phase)
    return changed


@dataclass(frozen=True)
class EpisodeResult:
    episode: TransplantEpisode
    warnings: list[str]
    changes: dict[str, int]
    history: TransplantDateChange | None = None


class _PreviewUndoError(Exception):
    """Raised inside the preview's savepoint to undo it, carrying what it found."""

    def __init__(self, impact: ChangeImpact):
        self.impact = impact


def _impact(patient: Patient, episode: TransplantEpisode, before: dict[str, Any], config: ActiveConfig) -> ChangeImpact:
    """Save the changed `episode`, regenerate its timeline and re-plan the reminders inside a savepoint, count
    what changed and undo it all. The count is exact because it runs the very code that the save runs."""
    today = patient_today(patient)
    version = version_of(before)
    state_before = phase_on(dates_of(before), today, config.phase)
    after = {name: getattr(episode, name) for name in EPISODE_FIELDS}
    try:
        with transaction.atomic():
            episode.save()
            patient.episode = episode
            changes = regenerate_timeline(episode=episode, config=config)
            plan = plan_reminders(patient)
            raise _PreviewUndoError(
                ChangeImpact(
                    phase_before=state_before.phase.value,
                    phase_after=phase_on(dates_of(after), today, config.phase).phase.value,
                    on_or_after_day0=state_before.day is not None and state_before.day >= 0,
                    dates_cleared=[n for n in PHASE_DATE_FIELDS if before[n] is not None and after[n] is None],
                    dates_moved=[
                        n for n in PHASE_DATE_FIELDS if before[n] is not None and after[n] not in (None, before[n])
                    ],
                    events_created=changes["created"],
                    events_moved=changes["moved"],
                    events_removed=changes["removed"],
                    reminders_cancelled=plan.cancelled,
                    reminders_moved=plan.updated,
                    version=version,
                )
            )
    except _PreviewUndoError as preview:
        patient._state.fields_cache.pop("episode", None)  # the planner re-read it inside the undone savepoint
        return preview.impact


def _prepare(patient: Patient, fields: dict[str, Any], config: ActiveConfig):
    """Lock the patient, read the episode and apply `fields` to it in memory, checked; nothing saved yet."""
    unknown = set(fields) - set(EPISODE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    # One writer per patient at a time (the page and the API alike), so that two saves of different dates do
    # not undo each other; the episode is read after the lock, not from a cache.
    Patient.objects.select_for_update().filter(pk=patient.pk).first()
    # by id: a new episode is cached on the patient only once it is saved (a refused one must not linger there)
    episode = TransplantEpisode.objects.filter(patient=patient).first() or TransplantEpisode(patient_id=patient.pk)
    before = {name: getattr(episode, name) for name in EPISODE_FIELDS}
    for name, value in fields.items():
        setattr(episode, name, value)
    errors = check_episode_dates(
        {name: getattr(episode, name) for name in DATE_FIELDS}, patient_today(patient), config.transplant
    )
    if errors:
        raise ValidationError(errors)
    episode.full_clean(exclude=["patient"])
    return episode, before


@transaction.atomic
def preview_episode_change(*, patient: Patient, fields: dict[str, Any]) -> ChangeImpact:
    """What saving `fields` would change (phase, timeline events, pending reminders), without changing anything.
    Raises ValidationError for dates that would be refused."""
    config = active_config(patient.centre_id)
    episode, before = _prepare(patient, fields, config)
    return _impact(patient, episode, before, config)


@transaction.atomic
def save_episode(
    *,
    context: AuditContext,
    patient: Patient,
    fields: dict[str, Any],
    require_confirmation: bool = False,
    confirmed_version: str | None = None,
    restored_from: TransplantDateChange | None = None,
) -> EpisodeResult:
    """Create or update the patient's transplant episode, check its dates, and regenerate the timeline.

    With `require_confirmation` (the transplant page and the API, unless the person confirmed), a destructive
    change (`ChangeImpact.needs_confirmation`) raises ConfirmationRequiredError and saves nothing. Every change is kept
    in the episode's history (`TransplantDateChange`) with the values before and after, and audited with them.
    `confirmed_version` is the `ChangeImpact.version` the person confirmed: when the dates changed since (by
    someone else), what they confirmed is out of date and the change is checked again as if unconfirmed.
    """
    config = active_config(patient.centre_id)
    episode, before = _prepare(patient, fields, config)
    if confirmed_version is not None and confirmed_version != version_of(before):
        require_confirmation = True
    created = episode.pk is None
    changed = sorted(name for name in EPISODE_FIELDS if before[name] != getattr(episode, name))
    if require_confirmation and changed and not created:
        impact = _impact(patient, episode, before, config)
        if impact.needs_confirmation:
            raise ConfirmationRequiredError(impact)
    episode.save()
    patient.episode = episode  # what the rest of this write (and the re-planning) reads as the patient's episode
    store_phase(patient)  # the lists filter on the stored phase (services/phases.py)
    changes = regenerate_timeline(episode=episode, config=config)
    history = None
    if created or changed:
        after = {name: getattr(episode, name) for name in EPISODE_FIELDS}
        if restored_from is not None:
            kind = TransplantDateChange.Kind.RESTORE
        else:
            kind = TransplantDateChange.Kind.CREATE if created else TransplantDateChange.Kind.UPDATE
        actor = context.actor
        history = TransplantDateChange.objects.create(
            episode=episode,
            kind=kind,
            before=snapshot(before),
            after=snapshot(after),
            changed_by=actor,
            changed_by_username=actor.get_username() if actor else context.extra.get("process", "system"),
            restored_from=restored_from,
            timeline=changes,
        )
        action = {"create": "transplant.create", "update": "transplant.update", "restore": "transplant.restore"}
        record_event(
            context=context,
            action=action[kind],
            patient=patient,
            detail={
                "changes": audit_changes(before, after, changed),
                "timeline": changes,
                "history": str(history.uuid),
                **({"restored_from": str(restored_from.uuid)} if restored_from else {}),
            },
        )
        _replan(patient)
        request_outcome_refresh(patient)  # Day 0 and the febrile-neutropenia window follow the dates
        request_vaccination_refresh(patient)  # the revaccination plan counts from Day 0
    warning = cd34_warning(episode.cd34_dose, config.transplant)
    return EpisodeResult(episode=episode, warnings=[warning] if warning else [], changes=changes, history=history)


def restore_episode_dates(
    *,
    context: AuditContext,
    patient: Patient,
    change: TransplantDateChange,
    require_confirmation: bool = False,
    confirmed_version: str | None = None,
) -> EpisodeResult:
    """Put back the transplant's fields as they were before `change` (a row of the episode's history)."""
    if change.episode.patient_id != patient.pk:
        raise ValueError("That change belongs to another patient.")
    return save_episode(
        context=context,
        patient=patient,
        fields=fields_from_snapshot(change.before),
        require_confirmation=require_confirmation,
        confirmed_version=confirmed_version,
        restored_from=change,
    )


EVENT_AUDITED_FIELDS = ("planned_date", "actual_date", "status", "note")


class EventAction:
    COMPLETE = "complete"
    CANCEL = "cancel"
    MOVE = "move"
    REOPEN = "reopen"
    ALL = (COMPLETE, CANCEL, MOVE, REOPEN)


@transaction.atomic
def change_event(
    *, context: AuditContext, event: TimelineEvent, action: str, on: date | None = None, note: str = ""
) -> TimelineEvent:
    """Complete, cancel, move or reopen an event by hand. The change survives regeneration."""
    if action not in EventAction.ALL:
        raise ValidationError({"action": "Choose complete, cancel, move or reopen."})
    before = audit_snapshot(event, EVENT_AUDITED_FIELDS)
    if action == EventAction.MOVE:
        if on is None:
            raise ValidationError({"on": "Give the new date."})
        _check_not_before_the_block(event, on)
        event.planned_date = on
        event.status = EventStatus.PLANNED
    elif action == EventAction.COMPLETE:
        event.status = EventStatus.DONE
        event.actual_date = on or patient_today(event.episode.patient)
    elif action == EventAction.CANCEL:
        event.status = EventStatus.CANCELLED
    else:
        event.status = EventStatus.PLANNED
        event.actual_date = None
    if note:
        event.note = note[:500]
    event.manually_changed = True
    event.save()
    record_event(
        context=context,
        action=f"timeline.{action}",
        patient=event.episode.patient,
        detail={
            "event": str(event.uuid),
            "title": event.title,
            "date": (on or event.planned_date).isoformat(),
            "changes": audit_changes(before, event, EVENT_AUDITED_FIELDS),
        },
    )
    _replan(event.episode.patient)
    return event


def _check_not_before_the_block(event: TimelineEvent, on: date) -> None:
    """The live-vaccine event cannot be moved before the day the hard block first allows a live vaccine."""
    if event.template_key != LIVE_VACCINE_EVENT:
        return
    config = active_config(event.episode.patient.centre_id)
    earliest = _rule_dates(event.episode, config)[LIVE_VACCINE_EVENT]
    if earliest is not None and on < earliest:
        raise ValidationError(
            {
                "on": f"Live vaccines cannot be given before {earliest.day} {earliest:%b %Y} (month "
                f"{config.vaccination.live_not_before_months} after Day 0), so this event cannot move earlier."
            }
        )


@transaction.atomic
def add_event(
    *, context: AuditContext, episode: TransplantEpisode, kind: str, title: str, planned_date: date, note: str = ""
) -> TimelineEvent:
    event = TimelineEvent(
        episode=episode, kind=kind, title=title, planned_date=planned_date, note=note, manually_changed=True
    )
    event.full_clean(exclude=["episode"])
    event.save()
    record_event(
        context=context,
        action="timeline.add",
        patient=episode.patient,
        detail={"event": str(event.uuid), "title": title, "date": planned_date.isoformat()},
    )
    _replan(episode.patient)
    return event


def _replan(patient: Patient) -> None:
    """Reminders follow the timeline: plan them again, after commit, now that a date or an event changed."""
    request_replan(patient)


MAX_CD34_PER_SESSION = Decimal("100")  # x 10^6/kg: far above any real collection; a typing error


@transaction.atomic
def add_apheresis_session(
    *, context: AuditContext, patient: Patient, collected_on: date, cd34_per_kg: Decimal
) -> EpisodeResult:
    """Record one collection; the episode's first apheresis date and total CD34+ dose follow the sessions."""
    episode = episode_of(patient)
    if episode is None:
        raise ValidationError({"collected_on": "Enter the transplant dates first: the collection belongs to them."})
    if cd34_per_kg is None or not Decimal("0") < cd34_per_kg <= MAX_CD34_PER_SESSION:
        message = f"Enter the yield in millions of CD34+ cells per kg, above 0 and at most {MAX_CD34_PER_SESSION}."
        raise ValidationError({"cd34_per_kg": message})
    if collected_on > patient_today(patient):
        raise ValidationError({"collected_on": "This date is in the future: record a collection once it has happened."})
    ApheresisSession.objects.create(episode=episode, collected_on=collected_on, cd34_per_kg=cd34_per_kg)
    sessions = list(episode.apheresis_sessions.values_list("collected_on", "cd34_per_kg"))
    first = min(on for on, _ in sessions)
    total = sum((dose for _, dose in sessions), Decimal("0"))
    try:
        result = save_episode(context=context, patient=patient, fields={"apheresis_date": first, "cd34_dose": total})
    except ValidationError as exc:
        errors = exc.message_dict
        raise ValidationError({"collected_on": errors.get("apheresis_date") or exc.messages}) from None
    record_event(
        context=context,
        action="apheresis.create",
        patient=patient,
        detail={"collected_on": collected_on.isoformat(), "cd34_per_kg": str(cd34_per_kg)},
    )
    return result
