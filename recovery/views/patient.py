"""Pages for patients, designed for a phone first."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render

from recovery import access
from recovery.services.audit import AuditContext, record_event


@login_required
def my_recovery(request: HttpRequest) -> HttpResponse:
    patient = access.own_patient(request.user)
    record_event(context=AuditContext.from_request(request), action="patient.view_own", patient=patient)
    return render(request, "recovery/my_recovery.html", {"patient": patient})


def my_calendar(request, *args, **kwargs):  # placeholder, being written
    raise Http404


def calendar_feed(request, token):  # placeholder, being written
    raise Http404
