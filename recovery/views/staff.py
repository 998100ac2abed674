"""Pages for care coordinators and clinicians."""

from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from recovery import access
from recovery.access import Action
from recovery.clinical.phases import PHASE_ORDER
from recovery.event_titles import event_title
from recovery.forms.patients import (
    ApheresisForm,
    EligibilityForm,
    EpisodeForm,
    EventAddForm,
    EventChangeForm,
    PatientForm,
)
from recovery.models import TimelineEvent, TransplantDateChange, TransplantEpisode
from recovery.queries.alerts import open_alerts_of
from recovery.queries.audit import access_log, describe_action, staff_csv_rows
from recovery.queries.eligibility import checklist, shown_criteria
from recovery.queries.timeline import episode_of, patient_today
from recovery.queries.workspace import filter_patients, still_followed, summarise, week_events, workspace
from recovery.services.audit import AuditContext, record_event, record_reads
from recovery.services.eligibility import record_eligibility_review
from recovery.services.episode_history import EPISODE_FIELDS, ConfirmationRequiredError, fields_from_snapshot
from recovery.services.invitations import ALREADY_ACTIVE, invite_patient
from recovery.services.login_email import has_active_login
from recovery.services.patients import NO_CENTRE, create_patient, update_patient
from recovery.services.timeline import (
    add_apheresis_session,
    add_event,
    change_event,
    preview_episode_change,
    restore_episode_dates,
    save_episode,
)
from recovery.views.common import csv_download

PATIENTS_PER_PAGE = 25
AUDIT_EVENTS_PER_PAGE = 50
EVENTS_PER_PAGE = 50
WEEK_DAYS = 7


@login_required
def patient_list(request: HttpRequest) -> HttpResponse:
    """The staff's patients: those still followed by default; with ?finished=1 everyone, those who finished
    follow-up (the historical cohort) included."""
    access.require(request.user, Action.LIST_PATIENTS)
    q = request.GET.get("q", "").strip()[:100]
    phase = request.GET.get("phase", "")
    attention = request.GET.get("attention") == "1"
    finished = request.GET.get("finished") == "1"
    patients = access.visible_patients(request.user).select_related("centre", "episode").search(q)
    scope = still_followed(patients, access.staff_centre_ids(request.user))
    if not finished:
        patients = scope.patients
    patients = filter_patients(patients, phase=phase, needs_attention=attention)
    page = Paginator(patients, PATIENTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = summarise(list(page.object_list), scope.configs)
    record_reads(context=AuditContext.from_request(request), action="patient.list", patients=page.object_list)
    filters = {"q": q, "phase": phase, "attention": "1" if attention else "", "finished": "1" if finished else ""}
    with_finished = {**{k: v for k, v in filters.items() if v}, "finished": "1"}
    return render(
        request,
        "recovery/patient_list.html",
        {
            "page": page,
            "rows": rows,
            "q": q,
            "phase": phase,
            "attention": attention,
            "finished": finished,
            "followed_from": scope.followed_from,
            "with_finished": urlencode(with_finished),
            "phases": PHASE_ORDER,
            "query_string": urlencode({k: v for k, v in filters.items() if v}),
        },
    )


@login_required
def patient_create(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.CREATE_PATIENT)
    centres = list(access.centres_for(request.user))
    initial = {"timezone": centres[0].timezone if centres else settings.DEFAULT_PATIENT_TIMEZONE}
    form = PatientForm(
        request.POST if request.method == "POST" else None,
        centres=centres,
        initial=initial,
        submit_label=_("Enrol patient"),
    )
    if not centres:
        messages.error(request, NO_CENTRE)
    elif request.method == "POST" and form.is_valid():
        try:
            patient = create_patient(
                context=AuditContext.from_request(request),
                centres=centres,
                centre=form.cleaned_data.get("centre"),
                fields=form.patient_fields(),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("%(name)s is enrolled.") % {"name": patient.full_name})
            return redirect("recovery:patient-detail", patient_id=patient.uuid)
    return render(request, "recovery/patient_form.html", {"form": form, "title": _("Enrol a patient")})


@login_required
def patient_detail(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT_CHART)
    record_event(context=AuditContext.from_request(request), action="patient.view", patient=patient)
    user = request.user
    context = {
        **workspace(patient),
        "may_edit": access.may(user, Action.EDIT_PATIENT),
        "may_edit_transplant": access.may(user, Action.EDIT_TRANSPLANT),
        "may_invite": access.may(user, Action.INVITE_PATIENT),
        "may_review": access.may(user, Action.REVIEW_ELIGIBILITY),
        "may_export": access.may(user, Action.EXPORT_PATIENT_DATA),
        "may_registry": access.may(user, Action.REGISTRY_EXPORT),
        "may_deactivate": access.may(user, Action.DEACTIVATE_PATIENT),
        "may_erase": access.may(user, Action.ERASE_PATIENT),
        "may_triage": access.may(user, Action.TRIAGE_ALERTS),
        "open_alerts": open_alerts_of(patient),
    }
    return render(request, "recovery/patient_detail.html", context)


@login_required
def patient_edit(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.get_patient(request.user, patient_id, Action.EDIT_PATIENT)
    form = PatientForm(
        request.POST if request.method == "POST" else None, instance=patient, submit_label=_("Save changes")
    )
    if request.method == "POST" and form.is_valid():
        try:
            update_patient(context=AuditContext.from_request(request), patient=patient, changes=form.patient_fields())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Changes saved."))
            return redirect("recovery:patient-detail", patient_id=patient.uuid)
    record_event(context=AuditContext.from_request(request), action="patient.edit_form", patient=patient)
    return render(
        request,
        "recovery/patient_form.html",
        {"form": form, "patient": patient, "title": _("Edit %(name)s") % {"name": patient.full_name}},
    )


@login_required
def patient_access_log(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.get_patient(request.user, patient_id, Action.VIEW_AUDIT)
    record_event(context=AuditContext.from_request(request), action="audit.view", patient=patient)
    page = Paginator(access_log(patient), AUDIT_EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [(event, describe_action(event.action, for_staff=True)) for event in page.object_list]
    return render(request, "recovery/patient_access_log.html", {"patient": patient, "page": page, "rows": rows})


@login_required
def patient_access_log_export(request: HttpRequest, patient_id) -> HttpResponse:
    """The patient's whole access log as CSV, for staff (e.g. to answer the patient's request in writing)."""
    patient = access.get_patient(request.user, patient_id, Action.VIEW_AUDIT)
    record_event(context=AuditContext.from_request(request), action="audit.export", patient=patient)
    return csv_download(staff_csv_rows(patient), f"access-log-{patient.hospital_number or patient.uuid}.csv")


DATE_HISTORY_SHOWN = 10  # the latest changes of the transplant's dates listed on its page


def _field_label(name: str) -> str:
    if name == "protocol":
        return _("Regimen")
    label = EpisodeForm.Meta.labels.get(name)
    if label is not None:
        return str(label)  # in the reader's language
    label = str(TransplantEpisode._meta.get_field(name).verbose_name)
    return label[:1].upper() + label[1:]  # "Reinfusion date (Day 0)": only the first letter raised


def _history_rows(episode) -> list[dict]:
    """The latest changes of the dates, each with the fields that changed (before and after)."""
    if episode is None:
        return []
    rows = []
    for change in episode.date_changes.all()[:DATE_HISTORY_SHOWN]:
        names = [n for n in EPISODE_FIELDS if change.before.get(n) != change.after.get(n)]
        rows.append(
            {
                "change": change,
                "fields": [(_field_label(n), change.before.get(n), change.after.get(n)) for n in names],
            }
        )
    return rows


def _episode_page(request: HttpRequest, patient, *, form=None, apheresis=None) -> HttpResponse:
    """The transplant dates page, with whichever of its two forms was posted (and its errors)."""
    episode = episode_of(patient)
    form = form or EpisodeForm(instance=episode)
    apheresis = apheresis or ApheresisForm(prefix="apheresis")
    sessions = list(episode.apheresis_sessions.all()) if episode else []
    record_event(context=AuditContext.from_request(request), action="transplant.view", patient=patient)
    return render(
        request,
        "recovery/episode_form.html",
        {
            "form": form,
            "apheresis": apheresis,
            "sessions": sessions,
            "patient": patient,
            "title": _("Transplant dates"),
            "history": _history_rows(episode),
        },
    )


def _episode_saved(request: HttpRequest, patient, result) -> HttpResponse:
    for warning in result.warnings:
        messages.warning(request, warning)
    changes = result.changes
    if result.episode.protocol_id is None:
        # Without a regimen nothing can be planned: say so and lead to the next step, not "0 events added".
        url = reverse("recovery:episode-edit", args=[patient.uuid]) + "#id_protocol"
        text = _(
            'Saved. No regimen is chosen yet, so nothing is planned on the timeline. <a href="%(url)s">Choose the'
            " regimen (protocol)</a> to plan the treatment days, visits, tests and vaccinations."
        )
        messages.warning(request, mark_safe(text % {"url": escape(url)}))  # noqa: S308 (the only value is escaped)
        return redirect("recovery:patient-detail", patient_id=patient.uuid)
    messages.success(
        request,
        _("Saved. Timeline: %(created)s events added, %(moved)s moved, %(removed)s removed.")
        % {"created": changes["created"], "moved": changes["moved"], "removed": changes["removed"]},
    )
    return redirect("recovery:patient-detail", patient_id=patient.uuid)


def _confirm_page(request: HttpRequest, patient, impact, *, title: str, action: str, carried=None) -> HttpResponse:
    """The confirmation step of a destructive change: what it would change, with Confirm and Go back.

    `carried` are the submitted values, sent again with either button so that nothing typed is lost. Shown after
    a Confirm, it is because the dates were saved by someone else meanwhile: the page says so."""
    record_event(context=AuditContext.from_request(request), action="transplant.preview", patient=patient)
    return render(
        request,
        "recovery/episode_confirm.html",
        {
            "patient": patient,
            "title": title,
            "impact": impact,
            "dates_cleared": [_field_label(n) for n in impact.dates_cleared],
            "dates_moved": [_field_label(n) for n in impact.dates_moved],
            "action": action,
            "carried": carried,
            "changed_meanwhile": request.method == "POST" and request.POST.get("confirm") == "yes",
        },
    )


def _carried(post) -> list[tuple[str, str]]:
    skip = {"csrfmiddlewaretoken", "confirm", "go_back", "seen"}
    return [(name, value) for name, values in post.lists() if name not in skip for value in values]


@login_required
def episode_edit(request: HttpRequest, patient_id) -> HttpResponse:
    """The transplant dates: GET shows the page, POST saves the dates (the apheresis form posts elsewhere).

    A destructive change (a phase date cleared or moved on or after Day 0, or timeline events deleted) is shown
    on a confirmation step first; "Go back" returns to the form with what was typed."""
    patient = access.get_patient(request.user, patient_id, Action.EDIT_TRANSPLANT)
    form = EpisodeForm(request.POST if request.method == "POST" else None, instance=episode_of(patient))
    if request.method == "POST" and "go_back" not in request.POST and form.is_valid():
        try:
            result = save_episode(
                context=AuditContext.from_request(request),
                patient=patient,
                fields=form.episode_fields(),
                require_confirmation=request.POST.get("confirm") != "yes",
                confirmed_version=request.POST.get("seen", "") if request.POST.get("confirm") == "yes" else None,
            )
        except ConfirmationRequiredError as exc:
            return _confirm_page(
                request,
                patient,
                exc.impact,
                title=_("Confirm the new transplant dates"),
                action=reverse("recovery:episode-edit", args=[patient.uuid]),
                carried=_carried(request.POST),
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _episode_saved(request, patient, result)
    return _episode_page(request, patient, form=form)


@login_required
def episode_restore(request: HttpRequest, patient_id, change_id) -> HttpResponse:
    """Put the transplant's dates back as they were before one change of its history: GET shows what that would
    change (the confirmation step), POST with confirm restores it."""
    patient = access.get_patient(request.user, patient_id, Action.EDIT_TRANSPLANT)
    change = get_object_or_404(TransplantDateChange, uuid=change_id, episode__patient=patient)
    back = reverse("recovery:episode-edit", args=[patient.uuid])
    try:
        if request.method == "POST" and request.POST.get("confirm") == "yes":
            result = restore_episode_dates(
                context=AuditContext.from_request(request),
                patient=patient,
                change=change,
                confirmed_version=request.POST.get("seen", ""),  # asks again if the dates changed meanwhile
            )
            when = date_format(timezone.localtime(change.changed_at), _("j M Y H:i"))
            messages.success(request, _("The dates as they were before %(when)s are back.") % {"when": when})
            return _episode_saved(request, patient, result)
        impact = preview_episode_change(patient=patient, fields=fields_from_snapshot(change.before))
    except ConfirmationRequiredError as exc:
        impact = exc.impact
    except ValidationError as exc:
        messages.error(request, _("These dates cannot be restored: %(reasons)s") % {"reasons": " ".join(exc.messages)})
        return redirect(back)
    return _confirm_page(request, patient, impact, title=_("Restore these transplant dates"), action=request.path)


@login_required
def apheresis_add(request: HttpRequest, patient_id) -> HttpResponse:
    """POST adds an apheresis session; GET goes to the transplant dates page, where its form is."""
    patient = access.get_patient(request.user, patient_id, Action.EDIT_TRANSPLANT)
    if request.method != "POST":
        return redirect("recovery:episode-edit", patient_id=patient.uuid)
    apheresis = ApheresisForm(request.POST, prefix="apheresis")
    if apheresis.is_valid():
        try:
            result = add_apheresis_session(
                context=AuditContext.from_request(request), patient=patient, **apheresis.cleaned_data
            )
        except ValidationError as exc:
            apheresis.add_error(None, exc)
        else:
            return _episode_saved(request, patient, result)
    return _episode_page(request, patient, apheresis=apheresis)


@login_required
def event_add(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.get_patient(request.user, patient_id, Action.EDIT_TRANSPLANT)
    episode = episode_of(patient)
    form = EventAddForm(request.POST if request.method == "POST" else None)
    if episode is None:
        messages.info(request, _("Enter the transplant dates first: events hang on the transplant."))
        return redirect("recovery:episode-edit", patient_id=patient.uuid)
    if request.method == "POST" and form.is_valid():
        try:
            add_event(context=AuditContext.from_request(request), episode=episode, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Event added to the timeline."))
            return redirect("recovery:patient-detail", patient_id=patient.uuid)
    record_event(context=AuditContext.from_request(request), action="timeline.add_form", patient=patient)
    return render(request, "recovery/event_form.html", {"form": form, "patient": patient, "title": _("Add an event")})


@login_required
def event_change(request: HttpRequest, patient_id, event_id) -> HttpResponse:
    patient = access.get_patient(request.user, patient_id, Action.EDIT_TRANSPLANT)
    event = get_object_or_404(TimelineEvent.objects.select_related("episode"), uuid=event_id, episode__patient=patient)
    form = EventChangeForm(
        request.POST if request.method == "POST" else None, initial={"action": "complete", "on": event.planned_date}
    )
    if request.method == "POST" and form.is_valid():
        try:
            change_event(
                context=AuditContext.from_request(request),
                event=event,
                action=form.cleaned_data["action"],
                on=form.cleaned_data["on"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("“%(title)s” updated.") % {"title": event_title(event.title)})
            back = request.POST.get("next", "")
            if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
                back = reverse("recovery:patient-detail", args=[patient.uuid])
            return redirect(back)
    record_event(
        context=AuditContext.from_request(request),
        action="timeline.change_form",
        patient=patient,
        detail={"event": str(event.uuid)},
    )
    return render(
        request,
        "recovery/event_form.html",
        {
            "form": form,
            "patient": patient,
            "event": event,
            "title": _("Change “%(title)s”") % {"title": event_title(event.title)},
        },
    )


@login_required
def patient_invite(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.get_patient(request.user, patient_id, Action.INVITE_PATIENT)
    if request.method == "POST":
        try:
            user = invite_patient(
                context=AuditContext.from_request(request), patient=patient, base_url=request.build_absolute_uri("/")
            )
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("Invitation sent to %(email)s (username %(username)s).")
                % {"email": patient.email, "username": user.username},
            )
            return redirect("recovery:patient-detail", patient_id=patient.uuid)
    record_event(context=AuditContext.from_request(request), action="patient.invite_form", patient=patient)
    values = {"patient": patient, "active_login": has_active_login(patient), "already_active": ALREADY_ACTIVE}
    return render(request, "recovery/patient_invite.html", values)


@login_required
def eligibility_review(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.get_patient(request.user, patient_id, Action.REVIEW_ELIGIBILITY)
    today = patient_today(patient)
    form = EligibilityForm(
        request.POST if request.method == "POST" else None, initial={"decided_on": today, "edss": patient.baseline_edss}
    )
    if request.method == "POST" and form.is_valid():
        try:
            record_eligibility_review(
                context=AuditContext.from_request(request),
                patient=patient,
                decided_by=request.user,
                **form.cleaned_data,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Eligibility decision recorded."))
            return redirect("recovery:eligibility", patient_id=patient.uuid)
    answers = form.cleaned_data if form.is_bound and form.is_valid() else {}
    criteria = checklist(
        patient,
        on=today,
        relapsing_with_breakthrough=answers.get("relapsing_with_breakthrough"),
        edss=answers.get("edss"),
    )
    reviews = list(patient.eligibility_reviews.select_related("decided_by")[:20])
    for review in reviews:
        review.shown_criteria = shown_criteria(review.criteria)
    record_event(context=AuditContext.from_request(request), action="eligibility.view", patient=patient)
    return render(
        request,
        "recovery/eligibility.html",
        {"patient": patient, "form": form, "criteria": shown_criteria(criteria), "reviews": reviews},
    )


@login_required
def this_week(request: HttpRequest) -> HttpResponse:
    """What is due across the user's patients: overdue events, then the next seven days."""
    access.require(request.user, Action.LIST_PATIENTS)
    today = timezone.localdate()
    horizon = today + timedelta(days=WEEK_DAYS)
    events = week_events(access.visible_patients(request.user), access.staff_centre_ids(request.user), today, horizon)
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    record_reads(
        context=AuditContext.from_request(request),
        action="timeline.week",
        patients={e.episode.patient for e in page.object_list},
    )
    return render(
        request,
        "recovery/this_week.html",
        {
            "page": page,
            "today": today,
            "horizon": horizon,
            "may_edit": access.may(request.user, Action.EDIT_TRANSPLANT),
        },
    )
