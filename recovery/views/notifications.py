"""Reminders and messages: a patient's delivery log and hold, the patient's own settings, the care team's
task list, and everyone's inbox."""

from dataclasses import dataclass
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods, require_POST

from recovery import access
from recovery.access import Action
from recovery.forms.notifications import ReminderHoldForm, ReminderSettingsForm, TaskDoneForm
from recovery.models import (
    CHECKIN_KINDS,
    Audience,
    CareTaskStatus,
    Channel,
    Notification,
    NotificationKind,
    NotificationStatus,
)
from recovery.queries.configuration import active_config
from recovery.queries.reminders import PATIENT_REMINDER_KINDS, inbox, receives_reminders, reminder_settings
from recovery.services.audit import AuditContext, record_event, record_reads
from recovery.services.reminders.messages import Message
from recovery.services.reminders.messages import render as render_message
from recovery.services.reminders.planning import close_care_task, mark_read, set_reminder_hold, update_reminder_settings
from recovery.views.common import safe_next

LOG_PER_PAGE = 50
TASKS_PER_PAGE = 25
INBOX_PER_PAGE = 20
UPCOMING_REMINDERS = 5

STATUS_BADGES = {
    NotificationStatus.PENDING: "text-bg-secondary",
    NotificationStatus.SENT: "text-bg-success",
    NotificationStatus.FAILED: "text-bg-danger",
    NotificationStatus.CANCELLED: "text-bg-light border",
    NotificationStatus.SUPPRESSED: "text-bg-warning",
}
# Where an inbox message leads: the page on which to act on it.
PATIENT_LINKS = {
    NotificationKind.TEMPERATURE_CHECKIN: "recovery:temperature",
    NotificationKind.RED_FLAG_CHECKIN: "recovery:checkin",
    NotificationKind.CHECKIN: "recovery:checkin",
    NotificationKind.MISSED_CHECKIN: "recovery:checkin",
    NotificationKind.APPOINTMENT_EVE: "recovery:my-recovery",
    NotificationKind.APPOINTMENT_MORNING: "recovery:my-recovery",
}


# --- staff: a patient's delivery log and the hold ----------------------------------------------------------


@dataclass(frozen=True)
class LogRow:
    n: Notification
    badge: str
    recipient: str
    answer: str  # check-ins: "answered", "missed" or "" (not yet known); other kinds: ""


def _recipient(n: Notification) -> str:
    if n.recipient_id:
        return n.recipient.display_name
    if n.audience == Audience.CARE_TEAM:
        return _("Care team")
    return _("Patient (record's address)")


def _log_rows(patient, rows: list[Notification]) -> list[LogRow]:
    """The page's rows, each check-in marked answered or missed; one query for the whole page."""
    unanswered = {n.key.split(":", 1)[1] for n in rows if n.kind in CHECKIN_KINDS and n.answered_at is None}
    missed = set()
    if unanswered:
        # A missed-check-in reminder that came due (not cancelled by an answer) means no answer came in time.
        keys = [f"{NotificationKind.MISSED_CHECKIN}:{moment}" for moment in unanswered]
        missed = {
            key.split(":", 1)[1]
            for key in Notification.objects.filter(patient=patient, kind=NotificationKind.MISSED_CHECKIN, key__in=keys)
            .exclude(status__in=[NotificationStatus.PENDING, NotificationStatus.CANCELLED])
            .values_list("key", flat=True)
        }
    result = []
    for n in rows:
        answer = ""
        if n.kind in CHECKIN_KINDS:
            answer = "answered" if n.answered_at else ("missed" if n.key.split(":", 1)[1] in missed else "")
        result.append(LogRow(n=n, badge=STATUS_BADGES.get(n.status, ""), recipient=_recipient(n), answer=answer))
    return result


@login_required
def patient_reminders(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT_CHART)
    record_event(context=AuditContext.from_request(request), action="reminders.view", patient=patient)
    status = request.GET.get("status", "")
    status = status if status in NotificationStatus.values else ""
    planned = request.GET.get("show") == "planned"
    now = timezone.now()
    rows = patient.notifications.select_related("recipient")
    if planned:
        rows = rows.filter(due_at__gt=now).order_by("due_at", "id")
    else:
        rows = rows.filter(due_at__lte=now).order_by("-due_at", "-id")
    if status:
        rows = rows.filter(status=status)
    page = Paginator(rows, LOG_PER_PAGE).get_page(request.GET.get("page"))
    prefs = reminder_settings(patient)
    filters = {"show": "planned" if planned else "", "status": status}
    return render(
        request,
        "recovery/notifications/patient_reminders.html",
        {
            "patient": patient,
            "page": page,
            "rows": _log_rows(patient, list(page.object_list)),
            "status": status,
            "statuses": NotificationStatus.choices,
            "planned": planned,
            "prefs": prefs,
            "stopped": receives_reminders(patient, prefs),
            "hold_form": ReminderHoldForm(),
            "may_hold": access.may(request.user, Action.HOLD_REMINDERS),
            "query_string": urlencode({k: v for k, v in filters.items() if v}),
            "show_query": urlencode({"show": "planned"} if planned else {}),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def reminder_hold(request: HttpRequest, patient_id) -> HttpResponse:
    """Put the patient's reminders on hold (with a reason), or lift the hold."""
    patient = access.get_patient(request.user, patient_id, Action.HOLD_REMINDERS)
    prefs = reminder_settings(patient)
    form = ReminderHoldForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        action = request.POST.get("action")
        if action not in ("hold", "release"):
            return HttpResponseBadRequest(_("Unknown action."))
        try:
            set_reminder_hold(
                context=AuditContext.from_request(request),
                patient=patient,
                on_hold=action == "hold",
                reason=form.cleaned_data["hold_reason"],
            )
        except ValidationError as exc:
            for message in exc.message_dict.get("hold_reason", exc.messages):
                form.add_error("hold_reason", message)
        else:
            if action == "hold":
                messages.success(
                    request,
                    _("Reminders for %(name)s are on hold. Pending ones are cancelled.") % {"name": patient.full_name},
                )
            else:
                messages.success(
                    request, _("The hold is lifted: %(name)s gets reminders again.") % {"name": patient.full_name}
                )
            return redirect("recovery:patient-reminders", patient_id=patient.uuid)
    record_event(context=AuditContext.from_request(request), action="reminders.hold_form", patient=patient)
    return render(
        request, "recovery/notifications/reminder_hold.html", {"patient": patient, "prefs": prefs, "form": form}
    )


# --- the patient: their own settings ------------------------------------------------------------------------


def _hhmm(pair: tuple[int, int]) -> str:
    return f"{pair[0]:02d}:{pair[1]:02d}"


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def my_reminders(request: HttpRequest) -> HttpResponse:
    patient = access.own_patient(request.user)
    access.require(request.user, Action.MANAGE_OWN_REMINDERS)
    prefs = reminder_settings(patient)
    config = active_config(patient.centre_id).reminders
    default_quiet = f"{_hhmm(config.quiet_start)}\N{EN DASH}{_hhmm(config.quiet_end)}"
    form = ReminderSettingsForm(
        request.POST if request.method == "POST" else None,
        initial={
            "email_enabled": prefs.email_enabled,
            "sms_enabled": prefs.sms_enabled,
            "quiet_start": prefs.quiet_start,
            "quiet_end": prefs.quiet_end,
        },
        default_quiet=default_quiet,
    )
    if request.method == "POST" and form.is_valid():
        try:
            update_reminder_settings(
                context=AuditContext.from_request(request), patient=patient, changes=form.cleaned_data
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                for message in errors:
                    form.add_error(field if field in form.fields else None, message)
        else:
            messages.success(request, _("Saved. Your reminders follow your new choices from now on."))
            return redirect("recovery:my-reminders")
    if request.method != "POST":
        record_event(context=AuditContext.from_request(request), action="reminders.view_own", patient=patient)
    upcoming = (
        Notification.objects.filter(
            patient=patient,
            audience=Audience.PATIENT,
            channel=Channel.IN_APP,
            status=NotificationStatus.PENDING,
            kind__in=PATIENT_REMINDER_KINDS,
            due_at__gte=timezone.now(),
        )
        .select_related("event")
        .order_by("due_at", "id")[:UPCOMING_REMINDERS]
    )
    return render(
        request,
        "recovery/notifications/my_reminders.html",
        {
            "patient": patient,
            "form": form,
            "prefs": prefs,
            "default_quiet": default_quiet,
            "upcoming": list(upcoming),
            "paused": bool(receives_reminders(patient, prefs)),
        },
    )


# --- the care team's tasks -------------------------------------------------------------------------------------


@login_required
def task_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.WORK_TASKS)
    done = request.GET.get("status") == "done"
    tasks = access.visible_care_tasks(request.user).select_related("patient", "closed_by")
    if done:
        tasks = tasks.filter(status=CareTaskStatus.DONE).order_by("-closed_at", "-id")
    else:
        tasks = tasks.filter(status=CareTaskStatus.OPEN).order_by("-high_risk", "checkin_due_at", "id")
    page = Paginator(tasks, TASKS_PER_PAGE).get_page(request.GET.get("page"))
    record_reads(
        context=AuditContext.from_request(request),
        action="task.list",
        patients=list({task.patient_id: task.patient for task in page.object_list}.values()),
    )
    return render(
        request,
        "recovery/notifications/tasks.html",
        {
            "page": page,
            "done": done,
            "form": TaskDoneForm(),
            "query_string": "status=done" if done else "",
            "here": request.get_full_path(),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def task_done(request: HttpRequest, task_id) -> HttpResponse:
    """Mark a task done, with an optional note (the form is also inline on the task list)."""
    task = access.get_care_task(request.user, task_id)
    form = TaskDoneForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        close_care_task(context=AuditContext.from_request(request), task=task, reason=form.cleaned_data["note"])
        messages.success(request, _("Task for %(name)s marked done.") % {"name": task.patient.full_name})
        return redirect(safe_next(request, reverse("recovery:tasks")))
    record_event(context=AuditContext.from_request(request), action="task.view", patient=task.patient)
    return render(request, "recovery/notifications/task_done.html", {"task": task, "form": form})


# --- everyone's inbox -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InboxItem:
    n: Notification
    message: Message
    link: str


def _link(n: Notification) -> str:
    """Where the message leads, as an absolute address on the site (`SITE_URL`), as in the e-mails."""
    if n.alert_id:
        path = reverse("recovery:alert-detail", args=[n.alert.uuid])
    elif n.kind == NotificationKind.MISSED_CHECKIN_TASK:
        path = reverse("recovery:tasks")
    elif n.audience == Audience.PATIENT:
        path = reverse(PATIENT_LINKS.get(n.kind, "recovery:my-recovery"))
    else:
        path = reverse("recovery:patient-detail", args=[n.patient.uuid])
    return settings.SITE_URL.rstrip("/") + path


@login_required
def inbox_page(request: HttpRequest) -> HttpResponse:
    page = Paginator(inbox(request.user), INBOX_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    record_reads(
        context=AuditContext.from_request(request),
        action="inbox.view",
        patients=list({n.patient_id: n.patient for n in rows}.values()),
    )
    items = [InboxItem(n=n, message=render_message(n), link=_link(n)) for n in rows]
    # A patient sees the unit's number under their messages, as on their other pages.
    own = access.own_patient(request.user) if access.may(request.user, Action.VIEW_OWN_RECOVERY) else None
    return render(request, "recovery/notifications/inbox.html", {"page": page, "items": items, "patient": own})


@login_required
@require_POST
def inbox_mark_read(request: HttpRequest) -> HttpResponse:
    count = mark_read(user=request.user)
    if count:
        text = ngettext("%(count)d message marked read.", "%(count)d messages marked read.", count) % {"count": count}
    else:
        text = _("Nothing unread.")
    messages.success(request, text)
    return redirect("recovery:inbox")
