"""Placeholder: the clinician's dashboard and alert pages are being written."""

from django.contrib.auth.decorators import login_required
from django.http import Http404

from recovery.views.staff import dashboard as _dashboard

dashboard = _dashboard


@login_required
def alert_queue(request):
    raise Http404


@login_required
def alert_detail(request, alert_id):
    raise Http404


@login_required
def alert_acknowledge(request, alert_id):
    raise Http404


@login_required
def alert_resolve(request, alert_id):
    raise Http404


@login_required
def patient_review(request, patient_id):
    raise Http404
