"""Placeholder: the symptom-reports and alerts endpoints are being written."""

from django.http import Http404


def symptom_reports(request, patient_id):
    raise Http404


def alert_list(request):
    raise Http404


def alert_acknowledge(request, alert_id):
    raise Http404


def alert_resolve(request, alert_id):
    raise Http404
