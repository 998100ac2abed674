"""Placeholder: the transplant and timeline endpoints are being written."""

from django.http import Http404


def transplant(request, patient_id):
    raise Http404


def timeline(request, patient_id):
    raise Http404
