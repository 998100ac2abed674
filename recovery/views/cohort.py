"""Placeholder: the cohort dashboard is being written."""

from django.http import Http404


def cohort_dashboard(request):
    raise Http404


def cohort_export(request):
    raise Http404
