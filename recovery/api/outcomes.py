"""Placeholder: the outcome endpoints are being written."""

from django.http import Http404


def edss(request, patient_id):
    raise Http404


def relapses(request, patient_id):
    raise Http404


def mri(request, patient_id):
    raise Http404


def patient_outcomes(request, patient_id):
    raise Http404


def cohort_outcomes(request):
    raise Http404
