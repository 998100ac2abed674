"""Pages for care coordinators and clinicians."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from recovery import access
from recovery.access import Action
from recovery.forms import PatientForm
from recovery.services.audit import AuditContext, record_event, record_reads
from recovery.services.patients import create_patient, update_patient

PATIENTS_PER_PAGE = 25
AUDIT_EVENTS_PER_PAGE = 50


@login_required
def patient_list(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.LIST_PATIENTS)
    q = request.GET.get("q", "").strip()[:100]
    patients = access.visible_patients(request.user).select_related("centre").search(q)
    page = Paginator(patients, PATIENTS_PER_PAGE).get_page(request.GET.get("page"))
    record_reads(context=AuditContext.from_request(request), action="patient.list", patients=page.object_list)
    return render(request, "recovery/patient_list.html", {"page": page, "q": q})


@login_required
def patient_create(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.CREATE_PATIENT)
    centres = list(access.centres_for(request.user))
    form = PatientForm(request.POST or None, centres=centres, submit_label="Enrol patient")
    if not centres:
        messages.error(request, "You are not a member of any centre yet. Ask an administrator to add you to one.")
    elif request.method == "POST" and form.is_valid():
        centre = form.cleaned_data.get("centre") or centres[0]
        try:
            patient = create_patient(
                context=AuditContext.from_request(request), centre=centre, fields=form.patient_fields()
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"{patient.full_name} is enrolled.")
            return redirect("recovery:patient-detail", patient_id=patient.uuid)
    return render(request, "recovery/patient_form.html", {"form": form, "title": "Enrol a patient"})


@login_required
def patient_detail(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT_CHART)
    record_event(context=AuditContext.from_request(request), action="patient.view", patient=patient)
    return render(
        request,
        "recovery/patient_detail.html",
        {"patient": patient, "may_edit": access.may(request.user, Action.EDIT_PATIENT)},
    )


@login_required
def patient_edit(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.get_patient(request.user, patient_id, Action.EDIT_PATIENT)
    form = PatientForm(request.POST or None, instance=patient, submit_label="Save changes")
    if request.method == "POST" and form.is_valid():
        try:
            update_patient(context=AuditContext.from_request(request), patient=patient, changes=form.patient_fields())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Changes saved.")
            return redirect("recovery:patient-detail", patient_id=patient.uuid)
    return render(
        request, "recovery/patient_form.html", {"form": form, "patient": patient, "title": f"Edit {patient.full_name}"}
    )


@login_required
def patient_access_log(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.get_patient(request.user, patient_id, Action.VIEW_AUDIT)
    record_event(context=AuditContext.from_request(request), action="audit.view", patient=patient)
    page = Paginator(patient.audit_events.all(), AUDIT_EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "recovery/patient_access_log.html", {"patient": patient, "page": page})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.VIEW_DASHBOARD)
    patient_count = access.visible_patients(request.user).count()
    return render(request, "recovery/dashboard.html", {"patient_count": patient_count})


def episode_edit(request, patient_id):  # placeholder, being written
    raise Http404


def event_add(request, patient_id):  # placeholder, being written
    raise Http404


def event_change(request, patient_id, event_id):  # placeholder, being written
    raise Http404


def patient_invite(request, patient_id):  # placeholder, being written
    raise Http404


def eligibility_review(request, patient_id):  # placeholder, being written
    raise Http404


def this_week(request):  # placeholder, being written
    raise Http404
