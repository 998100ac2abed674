"""Placeholder: the patient's MS outcome page is being written."""

from django.http import Http404


def patient_outcomes(request, patient_id):
    raise Http404
