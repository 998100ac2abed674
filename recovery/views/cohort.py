"""The cohort dashboard (Kaplan-Meier curves, safety summary, published anchors) and its CSV export."""

import csv
import json
import math
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Centre
from recovery import access
from recovery.access import Action
from recovery.models import ProtocolTemplate
from recovery.queries.analytics import CohortFigures
from recovery.queries.cohort import (
    AGE_GROUPS,
    AT_RISK_MONTHS,
    CSV_COLUMNS,
    CohortFilters,
    Endpoint,
    cohort_export_rows,
    csv_records,
)
from recovery.services.analytics import cohort_snapshot
from recovery.services.audit import AuditContext, record_event, record_reads

YEAR_BOUNDS = {"min_value": 1900, "max_value": 2100}
# The charts' x axis: a tick a year, or every 2, 5 or 10 years for a long follow-up, at most MAX_TICKS of them.
TICK_MONTHS = (12, 24, 60, 120)
MAX_TICKS = 12
# what the json_script filter escapes in a <script> block
_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


class CohortFilterForm(forms.Form):
    """The dashboard's and the export's filters, read from the query string; every field may be left empty."""

    centre = forms.ModelChoiceField(
        queryset=Centre.objects.none(),
        label=gettext_lazy("Centre"),
        to_field_name="uuid",
        required=False,
        empty_label=gettext_lazy("All my centres"),
    )
    regimen = forms.ChoiceField(label=gettext_lazy("Regimen"), required=False)
    age_group = forms.ChoiceField(
        label=gettext_lazy("Age at Day 0"),
        required=False,
        choices=[("", gettext_lazy("Any age")), *[(g.code, g.label) for g in AGE_GROUPS]],
    )
    year_from = forms.IntegerField(label=gettext_lazy("Day 0 from (year)"), required=False, **YEAR_BOUNDS)
    year_to = forms.IntegerField(label=gettext_lazy("Day 0 to (year)"), required=False, **YEAR_BOUNDS)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["centre"].queryset = access.centres_for(user).order_by("name")
        regimens = ProtocolTemplate.objects.order_by("name").values_list("code", "name")
        self.fields["regimen"].choices = [("", _("Any regimen")), *regimens]
        for field in self.fields.values():
            css = "form-select" if isinstance(field.widget, forms.Select) else "form-control"
            field.widget.attrs["class"] = css

    def clean(self):
        data = super().clean()
        year_from, year_to = data.get("year_from"), data.get("year_to")
        if year_from is not None and year_to is not None and year_from > year_to:
            self.add_error("year_to", _("The last year comes before the first: swap them."))
        return data

    def filters(self) -> CohortFilters:
        data = self.cleaned_data
        return CohortFilters(
            centre=data.get("centre"),
            regimen=data.get("regimen") or None,
            age_group=data.get("age_group") or None,
            year_from=data.get("year_from"),
            year_to=data.get("year_to"),
        )

    def query_string(self) -> str:
        """The filters as sent, as a query string (for the export link)."""
        return urlencode({name: self.data[name] for name in self.fields if self.data.get(name)})


def _json(value) -> str:
    """As the `json_script` filter writes a value (escaped for a <script> block)."""
    return json.dumps(value, cls=DjangoJSONEncoder).translate(_SCRIPT_ESCAPES)


def _chart(endpoint: Endpoint, points_json: str) -> str:
    """One curve for static/js/cohort.js, as JSON text: the steps (stored ready, `CohortFigures.chart_points_json`:
    numbers only, nothing to escape), the interval band and the published anchors."""
    head = _json({"key": endpoint.key, "label": endpoint.label})[:-1]
    benchmarks = _json(
        [
            {"x": b.months, "y": b.value, "study": b.study, "source": b.source, "population": b.population}
            for b in endpoint.benchmarks
        ]
    )
    return f'{head}, "points": {points_json}, "benchmarks": {benchmarks}}}'


def _charts(analysis: CohortFigures) -> str:
    """The "cohort-charts" JSON block: {"x_max", "x_step", "curves"}, the same text `json_script` would write."""
    longest = max((e.curve.last_follow_up for e in analysis.endpoints), default=0.0)
    x_max = max(AT_RISK_MONTHS[-1], longest)
    step = next((months for months in TICK_MONTHS if x_max / months <= MAX_TICKS), TICK_MONTHS[-1])
    x_max = math.ceil(x_max / step) * step
    curves = ", ".join(_chart(e, analysis.chart_points_json[e.key]) for e in analysis.endpoints)
    text = f'{{"x_max": {_json(x_max)}, "x_step": {_json(step)}, "curves": [{curves}]}}'
    # safe: every part went through _json (escaped as json_script does) but the stored points, which are numbers
    return format_html('<script id="cohort-charts" type="application/json">{}</script>', mark_safe(text))  # noqa: S308


@login_required
def cohort_dashboard(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.VIEW_COHORT)
    form = CohortFilterForm(request.GET, user=request.user)
    analysis = snapshot = None
    if form.is_valid():
        filters = form.filters()
        # stored figures (recovery/services/analytics.py): this view never computes them twice in a row
        snapshot = cohort_snapshot(user=request.user, filters=filters)
        analysis = snapshot.figures
        # aggregate figures, no patient named: one row naming the query (the CSV, which lists each patient by
        # hospital number, is audited per patient below)
        record_event(
            context=AuditContext.from_request(request),
            action="cohort.view",
            detail={"filters": filters.as_detail(), "patients": analysis.n if analysis else None},
        )
    filtered = any(request.GET.get(name) for name in form.fields)
    return render(
        request,
        "recovery/cohort.html",
        {
            "form": form,
            "analysis": analysis,
            "snapshot": snapshot,
            "computed_today": snapshot is not None
            and snapshot.computed_at is not None
            and timezone.localdate(snapshot.computed_at) == timezone.localdate(),
            "charts": _charts(analysis) if analysis and analysis.n else None,
            "filtered": filtered,
            "export_query": form.query_string(),
            "at_risk_months": AT_RISK_MONTHS,
            "registry_centres": list(access.centres_for(request.user).order_by("name"))
            if access.may(request.user, Action.REGISTRY_EXPORT)
            else [],
        },
    )


@login_required
def cohort_export(request: HttpRequest) -> HttpResponse:
    """The analysis data set as CSV, one row per patient, with the dashboard's filters."""
    access.require(request.user, Action.VIEW_COHORT)
    form = CohortFilterForm(request.GET, user=request.user)
    if not form.is_valid():
        problems = "; ".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items())
        return HttpResponseBadRequest(
            _("Check the filters: %(problems)s") % {"problems": problems}, content_type="text/plain; charset=utf-8"
        )
    as_of, rows = cohort_export_rows(request.user, form.filters())
    record_reads(context=AuditContext.from_request(request), action="cohort.export", patients=[r.patient for r in rows])
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="cohort-outcomes-{as_of.isoformat()}.csv"'
    writer = csv.writer(response)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_records(rows))
    return response
