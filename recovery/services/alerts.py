"""Alerts, from raised to resolved: the one place that opens, updates, escalates, acknowledges and resolves them.

Check-ins (`services/symptoms.py`) and lab results (`services/labs.py`) raise alerts through `raise_alert`;
the pages and the API acknowledge and resolve them through `acknowledge_alert` and `resolve_alert`. A patient
has at most one open alert of a kind (a database constraint): a new finding of that kind adds to it, raising
its severity (and reopening it when it had been acknowledged) when the finding is worse. Every step is a row of
the alert's history, and each new or raised alert plans its escalation.
"""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone

from accounts.models import User
from recovery.clinical.alerts import response_due
from recovery.clinical.triage import Severity, severity_rank
from recovery.clinical.words import Joined, Message, render_value, to_json
from recovery.models import (
    OPEN_STATUSES,
    Alert,
    AlertEvent,
    AlertStatus,
    Patient,
    ResolutionAction,
    SymptomReport,
)
from recovery.queries.configuration import ActiveConfig, active_configs
from recovery.services.audit import AuditContext, record_event
from recovery.services.reminders.planning import plan_alert_escalation


def _code(message: Message | Joined | str) -> str:
    """The msgid that heads a reason (the first of several joined findings); "" for plain text."""
    while isinstance(message, Joined):
        message = message.items[0]
    return message.msgid if isinstance(message, Message) else ""


def _history(alert: Alert, action: str, actor: User | None, /, **detail) -> None:
    AlertEvent.objects.create(alert=alert, at=timezone.now(), actor=actor, action=action, detail=detail)


@transaction.atomic  # it locks the open alert: PostgreSQL refuses select_for_update() outside a transaction
def raise_alert(
    *,
    patient: Patient,
    kind: str,
    severity: Severity,
    rule: str,
    message: Message | Joined | str,
    config: ActiveConfig,
    actor: User | None = None,
    detail: dict | None = None,
    report: SymptomReport | None = None,
    update_message: Message | str | None = None,
    neutropenic_fever: bool = False,
    pseudo_relapse: bool = False,
) -> tuple[Alert, bool]:
    """Open an alert of `kind`, or add to the open one. Returns the alert and whether it was opened now.

    `message` is the reason as a msgid and values (clinical/words.py): stored as such (`reason_code`,
    `reason_values`, translated when shown) and in English (`reason`); plain text is stored as it is.
    `update_message` is what is added to an open alert's reason (default `message`); `detail` goes into the
    history row; `report` is linked to the alert.
    """
    severity = Severity(severity)
    reason = render_value(to_json(message))
    detail = dict(detail or {})
    now = timezone.now()
    alert = Alert.objects.select_for_update().filter(patient=patient, kind=kind, status__in=OPEN_STATUSES).first()
    if alert is None:
        try:
            with transaction.atomic():
                alert = Alert.objects.create(
                    patient=patient,
                    kind=kind,
                    severity=severity.value,
                    severity_rank=severity_rank(severity),
                    reason=reason,
                    reason_code=_code(message),
                    reason_values=[to_json(message)],
                    rule=rule,
                    config_version=config.version,
                    neutropenic_fever=neutropenic_fever,
                    pseudo_relapse=pseudo_relapse,
                    created_at=now,
                    respond_by=response_due(now, severity.value, patient.centre.timezone, config.alerts),
                )
        except IntegrityError:
            # Another process opened this kind of alert a moment ago: add to that one.
            return raise_alert(
                patient=patient,
                kind=kind,
                severity=severity,
                rule=rule,
                message=message,
                config=config,
                actor=actor,
                detail=detail,
                report=report,
                update_message=update_message,
                neutropenic_fever=neutropenic_fever,
                pseudo_relapse=pseudo_relapse,
            )
        if report is not None:
            alert.reports.add(report)
        _history(alert, "raised", actor, severity=alert.severity, rule=rule, **detail)
        plan_alert_escalation(alert, since=now)
        return alert, True
    update = to_json(update_message or message)
    alert.reason = f"{alert.reason}\n{render_value(update)}"
    if alert.reason_code:  # an old alert without a code keeps its English only
        alert.reason_values = [*alert.reason_values, update]
    alert.neutropenic_fever |= neutropenic_fever
    alert.pseudo_relapse |= pseudo_relapse
    worse = severity_rank(severity) > alert.severity_rank
    if worse:
        detail.update(severity_from=alert.severity, severity_to=severity.value)
        alert.severity = severity.value
        alert.severity_rank = severity_rank(severity)
        alert.rule = rule
        alert.config_version = config.version
        alert.respond_by = response_due(now, severity.value, patient.centre.timezone, config.alerts)
        if alert.status == AlertStatus.ACKNOWLEDGED:
            alert.status = AlertStatus.OPEN  # worse than when it was acknowledged: look again
            detail["reopened"] = True
    alert.save()
    if report is not None:
        alert.reports.add(report)
    _history(alert, "updated", actor, **detail)
    if worse:
        plan_alert_escalation(alert, since=now)
    return alert, False


@transaction.atomic
def acknowledge_alert(*, context: AuditContext, alert: Alert) -> Alert:
    """Open -> acknowledged. Acknowledging again changes nothing."""
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status != AlertStatus.OPEN:
        return alert
    alert.status = AlertStatus.ACKNOWLEDGED
    alert.acknowledged_at = timezone.now()
    alert.acknowledged_by = context.actor
    alert.save()
    _history(alert, "acknowledged", context.actor)
    record_event(context=context, action="alert.acknowledge", patient=alert.patient, detail={"alert": str(alert.uuid)})
    return alert


@transaction.atomic
def resolve_alert(*, context: AuditContext, alert: Alert, action: str, note: str = "") -> Alert:
    """Close an alert with what was done. Resolving an open alert acknowledges it at the same time."""
    if action not in ResolutionAction.values:
        raise ValidationError({"action": "Choose what was done: " + ", ".join(ResolutionAction.values) + "."})
    if action == ResolutionAction.OTHER and not (note or "").strip():
        raise ValidationError({"note": "Say what was done."})
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.status == AlertStatus.RESOLVED:
        raise ValidationError({"non_field_errors": "This alert is already resolved."})
    now = timezone.now()
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = now, context.actor
    alert.status = AlertStatus.RESOLVED
    alert.resolved_at, alert.resolved_by = now, context.actor
    alert.resolution, alert.resolution_note = action, (note or "").strip()
    alert.save()
    _history(alert, "resolved", context.actor, action=action)
    record_event(context=context, action="alert.resolve", patient=alert.patient, detail={"alert": str(alert.uuid)})
    return alert


def _raised_at(alert: Alert) -> datetime:
    """When the alert got its current severity: raised, or the last update that raised its severity."""
    moments = [event.at for event in alert.history.all() if event.detail.get("severity_to") == alert.severity]
    return max(moments, default=alert.created_at)


@transaction.atomic
def recompute_response_targets(*, context: AuditContext, batch_size: int = 500) -> int:
    """Set `respond_by` again, with `response_due` and the centre's active configuration, for every alert not yet
    acknowledged (status open): after a change to the working hours or the targets (the same-day target became
    the end of the working day, AlertConfig). Counted from when the alert got its current severity. Acknowledged
    and resolved alerts keep theirs (their target was met or missed as it stood). Returns how many changed."""
    alerts = list(
        Alert.objects.select_for_update(of=("self",))
        .filter(status=AlertStatus.OPEN)
        .select_related("patient__centre")
        .order_by("pk")
    )
    configs = active_configs({alert.patient.centre_id for alert in alerts})
    changed = []
    for start in range(0, len(alerts), batch_size):
        batch = alerts[start : start + batch_size]
        prefetch_related_objects(batch, "history")
        for alert in batch:
            config = configs[alert.patient.centre_id]
            due = response_due(_raised_at(alert), alert.severity, alert.patient.centre.timezone, config.alerts)
            if due != alert.respond_by:
                alert.respond_by = due
                changed.append(alert)
    Alert.objects.bulk_update(changed, ["respond_by"], batch_size=batch_size)
    record_event(
        context=context,
        action="alert.respond_by_recomputed",
        detail={"open": len(alerts), "changed": len(changed), "alerts": [str(alert.uuid) for alert in changed]},
    )
    return len(changed)
