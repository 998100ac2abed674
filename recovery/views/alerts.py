"""The clinician's dashboard, the triage queue and one alert's pages, and the per-patient review charts."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from recovery import access
from recovery.access import Action
from recovery.clinical.charts import TO_TODAY
from recovery.models import AlertStatus, ResolutionAction
from recovery.queries.configuration import active_config
from recovery.queries.dashboard import alert_burden, duration_text, high_risk_patients, target_status, triage_queue
from recovery.queries.review import describe_event, report_rows
from recovery.queries.review import patient_review as review_data
from recovery.queries.timeline import current_state, patient_today
from recovery.services.alerts import acknowledge_alert, resolve_alert
from recovery.services.audit import AuditContext, record_event, record_reads
from recovery.views.charts import chart_range
from recovery.views.common import safe_next

QUEUE_PARTIAL = "recovery/_alert_queue.html"


class ResolveForm(forms.Form):
    action = forms.ChoiceField(
        label=gettext_lazy("What was done"),
        choices=ResolutionAction.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": gettext_lazy("Choose what was done."),
            "invalid_choice": gettext_lazy("Choose one of the actions listed."),
        },
    )
    note = forms.CharField(
        label=gettext_lazy("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Required for “Other”. Say what was done and what happens next."),
    )


def _at_a_glance(alert) -> dict:
    """What the alert header shows besides the alert: how it stands against its target, and its age."""
    now = timezone.now()
    return {"target": target_status(alert, now), "raised_ago": duration_text(now - alert.created_at)}


def _queue_context(request: HttpRequest) -> dict:
    queue = triage_queue(access.visible_alerts(request.user))
    return {
        "queue": queue,
        "dashboard_url": reverse("recovery:dashboard"),
        "may_triage": access.may(request.user, Action.TRIAGE_ALERTS),
    }


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.VIEW_DASHBOARD)
    patients = access.visible_patients(request.user)
    context = _queue_context(request)
    high_risk = high_risk_patients(patients)
    burden = alert_burden(patients, access.visible_alerts(request.user))
    shown = {p.pk: p for p in context["queue"].patients}
    shown.update({row.patient.pk: row.patient for row in high_risk})
    record_reads(context=AuditContext.from_request(request), action="dashboard.view", patients=shown.values())
    context.update({"high_risk": high_risk, "burden": burden})
    return render(request, "recovery/dashboard.html", context)


@login_required
def alert_queue(request: HttpRequest) -> HttpResponse:
    """The queue alone: the dashboard's htmx refresh (a fragment), or a page of its own for a plain visit."""
    access.require(request.user, Action.VIEW_DASHBOARD)
    context = _queue_context(request)
    record_reads(context=AuditContext.from_request(request), action="alert.queue", patients=context["queue"].patients)
    if request.headers.get("HX-Request") == "true":
        return render(request, QUEUE_PARTIAL, context)
    return render(request, "recovery/alert_queue.html", context)


@login_required
def alert_detail(request: HttpRequest, alert_id) -> HttpResponse:
    alert = access.get_alert(request.user, alert_id)
    patient = alert.patient
    record_event(
        context=AuditContext.from_request(request),
        action="alert.view",
        patient=patient,
        detail={"alert": str(alert.uuid)},
    )
    return render(
        request,
        "recovery/alert_detail.html",
        {
            "alert": alert,
            "patient": patient,
            "state": current_state(patient, active_config(patient.centre_id)),
            "history": [(event, *describe_event(event)) for event in alert.history.select_related("actor")],
            "reports": report_rows(alert.reports.order_by("recorded_at", "id")),
            **_at_a_glance(alert),
            "resolved": alert.status == AlertStatus.RESOLVED,
            "is_open": alert.status == AlertStatus.OPEN,
        },
    )


@login_required
def alert_acknowledge(request: HttpRequest, alert_id) -> HttpResponse:
    """POST acknowledges; GET shows a small page asking to confirm (so every URL answers a GET)."""
    alert = access.get_alert(request.user, alert_id)
    context = AuditContext.from_request(request)
    if request.method == "POST":
        was_open = alert.status == AlertStatus.OPEN
        alert = acknowledge_alert(context=context, alert=alert)
        name = alert.patient.full_name
        if was_open:
            messages.success(request, _("Alert for %(name)s acknowledged.") % {"name": name})
        elif alert.status == AlertStatus.RESOLVED:
            messages.info(request, _("The alert for %(name)s was already resolved.") % {"name": name})
        else:
            messages.info(request, _("The alert for %(name)s was already acknowledged.") % {"name": name})
        return redirect(safe_next(request, reverse("recovery:dashboard")))
    record_event(context=context, action="alert.view", patient=alert.patient, detail={"alert": str(alert.uuid)})
    return render(
        request,
        "recovery/alert_acknowledge.html",
        {
            "alert": alert,
            "patient": alert.patient,
            "next": safe_next(request, reverse("recovery:dashboard")),
            "is_open": alert.status == AlertStatus.OPEN,
            **_at_a_glance(alert),
        },
    )


@login_required
def alert_resolve(request: HttpRequest, alert_id) -> HttpResponse:
    alert = access.get_alert(request.user, alert_id)
    context = AuditContext.from_request(request)
    form = ResolveForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            resolve_alert(
                context=context, alert=alert, action=form.cleaned_data["action"], note=form.cleaned_data["note"]
            )
        except ValidationError as exc:
            for name, problems in exc.message_dict.items():
                target = name if name in form.fields else None
                for problem in problems:
                    form.add_error(target, problem)
        else:
            label = ResolutionAction(form.cleaned_data["action"]).label
            messages.success(
                request,
                _("Alert for %(name)s resolved: %(action)s.") % {"name": alert.patient.full_name, "action": label},
            )
            return redirect(safe_next(request, reverse("recovery:dashboard")))
    record_event(context=context, action="alert.view", patient=alert.patient, detail={"alert": str(alert.uuid)})
    return render(
        request,
        "recovery/alert_resolve.html",
        {
            "alert": alert,
            "patient": alert.patient,
            "form": form,
            "next": safe_next(request, reverse("recovery:dashboard")),
            "resolved": alert.status == AlertStatus.RESOLVED,
            **_at_a_glance(alert),
        },
    )


@login_required
def patient_review(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT_CHART)
    record_event(context=AuditContext.from_request(request), action="patient.review", patient=patient)
    config = active_config(patient.centre_id)
    state = current_state(patient, config)
    today = patient_today(patient)
    day0 = today - timedelta(days=state.day) if state.day is not None else None
    shown = chart_range(request, day0=day0, today=today, anchor=TO_TODAY, config=config.charts, fragment="charts")
    return render(
        request,
        "recovery/patient_review.html",
        {
            "patient": patient,
            "state": state,
            "fever_c": config.triage.fever_c,
            "may_triage": access.may(request.user, Action.TRIAGE_ALERTS),
            "chart_range": shown,
            **review_data(
                patient,
                config.triage.fever_c,
                day0=day0,
                window=shown.window,
                reminders=config.reminders,
                charts=config.charts,
            ),
        },
    )
