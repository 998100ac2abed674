"""Pages for patients, designed for a phone first; and the calendar feed their calendar app subscribes to."""

from dataclasses import dataclass, replace
from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from recovery import access
from recovery.access import Action
from recovery.clinical.phases import PHASE_ORDER, phase_index, phase_on, recovery_progress
from recovery.clinical.timeline import DisplayStatus, EventKind, EventStatus
from recovery.middleware import client_ip
from recovery.models import Patient, TransplantEpisode
from recovery.outcome_text import plain_language
from recovery.phase_text import day_label, phase_text, progress_label, relative_days, risk_text
from recovery.queries.alerts import patient_alerts
from recovery.queries.audit import access_log, own_csv_rows, plain_lines
from recovery.queries.calendar import FEED_KINDS, feed_events, patient_for_token, render_ics
from recovery.queries.configuration import ActiveConfig, active_config
from recovery.queries.outcomes import outcome_for
from recovery.queries.timeline import current_state, episode_dates, episode_of, events_with_status, patient_today
from recovery.services.audit import AuditContext, record_event
from recovery.services.calendar import create_calendar_token, revoke_calendar_token
from recovery.views.common import csv_download

# What the patient's home lists (display choices, not clinical rules).
UPCOMING_LIMIT = 5  # at most this many upcoming events
UPCOMING_DAYS = 42  # looking this many days ahead
OVERDUE_LIMIT = 3  # at most this many appointments that have passed without being marked done
OVERDUE_DAYS = 28  # looking this many days back
# Appointments the patient attends as an outpatient; a hospital procedure (Day 0 itself) is never "overdue" to them.
OVERDUE_KINDS = FEED_KINDS - {EventKind.PROCEDURE}


@dataclass(frozen=True)
class ListedEvent:
    title: str
    on: date
    when: str  # "today", "tomorrow", "in 12 days"
    day: str  # "Day +30", or "" without a Day 0
    status: DisplayStatus


@dataclass(frozen=True)
class NextPhase:
    title: str
    body: str
    on: date | None  # the expected start, when the dates and configuration fix it
    when: str  # "in 12 days", or how the phase begins when its date is not known


def _fever_threshold(config: ActiveConfig) -> float:
    """The temperature at which a patient at home must call the unit, from the centre's configuration."""
    return config.triage.fever_c


def _listed(views, today: date) -> list[ListedEvent]:
    return [
        ListedEvent(
            title=view.event.title,
            on=view.event.planned_date,
            when=relative_days((view.event.planned_date - today).days),
            day=day_label(view.day),
            status=view.status,
        )
        for view in views
    ]


def _next_phase(state, dates, today: date, config: ActiveConfig, fever) -> NextPhase | None:
    if state.phase_ends is not None:
        following = phase_on(dates, state.phase_ends, config.phase).phase
        text = phase_text(following, fever)
        return NextPhase(
            title=text.title, body=text.body, on=state.phase_ends, when=relative_days((state.phase_ends - today).days)
        )
    position = phase_index(state.phase)
    if position + 1 >= len(PHASE_ORDER):
        return None
    text = phase_text(PHASE_ORDER[position + 1], fever)
    return NextPhase(title=text.title, body=text.body, on=None, when=text.starts_when)


def _recovery_summary(patient: Patient, episode: TransplantEpisode, config: ActiveConfig) -> dict:
    """Where the patient is today, what comes next, and their next few events: a constant number of queries."""
    today = patient_today(patient)
    state = current_state(patient, config, today)
    dates = episode_dates(episode)
    fever = _fever_threshold(config)
    months = config.phase.reconstitution_end_months
    progress = recovery_progress(dates, today, config.phase)
    nearby = episode.events.filter(
        status=EventStatus.PLANNED,
        planned_date__gte=today - timedelta(days=OVERDUE_DAYS),
        planned_date__lte=today + timedelta(days=UPCOMING_DAYS),
    ).order_by("planned_date", "id")
    views = events_with_status(nearby, today, config, episode.reinfusion_date)
    overdue = [v for v in views if v.status == DisplayStatus.OVERDUE and v.event.kind in OVERDUE_KINDS]
    upcoming = [v for v in views if v.event.planned_date >= today]
    return {
        "today": today,
        "state": state,
        "day": day_label(state.day),
        "text": phase_text(state.phase, fever),
        "risk": risk_text(state.infection_risk),
        "progress_percent": round(progress * 100),
        "progress_label": progress_label(progress, months),
        "next_phase": _next_phase(state, dates, today, config, fever),
        "upcoming": _listed(upcoming[:UPCOMING_LIMIT], today),
        "overdue": _listed(overdue[-OVERDUE_LIMIT:], today),
    }


@login_required
def my_recovery(request: HttpRequest) -> HttpResponse:
    patient = access.own_patient(request.user)
    record_event(context=AuditContext.from_request(request), action="patient.view_own", patient=patient)
    episode = episode_of(patient)
    config = active_config(patient.centre_id)
    # The urgent and same-day alerts from the patient's reports stay at the top until the team has dealt with them.
    context = {"patient": patient, "episode": episode, "open_alerts": patient_alerts(patient, config)}
    if episode is not None:
        context.update(_recovery_summary(patient, episode, config))
        outcome = outcome_for(patient)
        # Only once there is something to say: a check-up recorded after Day 0.
        if (
            outcome is not None
            and outcome.neda3 is not None
            and outcome.follow_up_end
            and outcome.follow_up_end > outcome.day0
        ):
            context["outcome_text"] = plain_language(outcome)
    return render(request, "recovery/my_recovery.html", context)


@never_cache
@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def my_calendar(request: HttpRequest) -> HttpResponse:
    """The patient's calendar subscription: its address and how to add it, or a button to create one."""
    access.require(request.user, Action.MANAGE_OWN_CALENDAR)
    patient = access.own_patient(request.user)
    if request.method == "POST":
        action = request.POST.get("action")
        context = AuditContext.from_request(request)
        if action == "create":
            replaced = bool(patient.calendar_token)
            create_calendar_token(patient)
            record_event(context=context, action="calendar.create", patient=patient, detail={"replaced": replaced})
            messages.success(
                request,
                _("Your new calendar address is ready. The old address has stopped working.")
                if replaced
                else _("Your new calendar address is ready."),
            )
        elif action == "revoke":
            if patient.calendar_token:
                revoke_calendar_token(patient)
                record_event(context=context, action="calendar.revoke", patient=patient)
            messages.success(
                request, _("Your calendar address has stopped working. Your calendar app will no longer update.")
            )
        else:
            return HttpResponseBadRequest(_("Unknown action."))
        return redirect("recovery:my-calendar")
    feed_url = webcal_url = None
    if patient.calendar_token:
        feed_url = request.build_absolute_uri(reverse("recovery:calendar-feed", args=[patient.calendar_token]))
        webcal_url = "webcal://" + feed_url.split("://", 1)[1]
    record_event(context=AuditContext.from_request(request), action="calendar.view_own", patient=patient)
    return render(
        request, "recovery/my_calendar.html", {"patient": patient, "feed_url": feed_url, "webcal_url": webcal_url}
    )


@require_safe
def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The patient's appointments as iCalendar. No login: the long random token in the URL is the credential.

    An unknown, revoked or malformed token is the same 404, so the answer never tells whether a token existed.
    """
    patient = patient_for_token(token)
    if patient is None:
        raise Http404(_("No such calendar."))
    today = patient_today(patient)
    body = render_ics(patient, feed_events(patient, today), today)
    context = replace(
        AuditContext.system("calendar-feed"),
        request_id=getattr(request, "request_id", ""),
        ip=client_ip(request),
    )
    record_event(context=context, action="calendar.feed", patient=patient)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="recovery.ics"'
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


ACCESS_LOG_PER_PAGE = 50


@login_required
@require_http_methods(["GET", "HEAD"])
def my_access_log(request: HttpRequest) -> HttpResponse:
    """Who has seen my data (GDPR Art. 15): every read and change of the patient's record, in plain words."""
    patient = access.own_patient(request.user)
    record_event(context=AuditContext.from_request(request), action="audit.view_own", patient=patient)
    page = Paginator(access_log(patient), ACCESS_LOG_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "recovery/my_access_log.html",
        {"patient": patient, "page": page, "lines": plain_lines(patient, page.object_list)},
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def my_access_log_export(request: HttpRequest) -> HttpResponse:
    patient = access.own_patient(request.user)
    record_event(context=AuditContext.from_request(request), action="audit.export_own", patient=patient)
    return csv_download(own_csv_rows(patient), "who-has-seen-my-data.csv")
