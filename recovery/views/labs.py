"""Lab pages: the staff "Labs & engraftment" page, the immune reconstitution page, the CSV import and its report,
and the patient's "your immune system's recovery" page.

Who may see and do what is decided by `recovery.access` (VIEW_PATIENT_CHART to read, RECORD_LABS to enter
results and transfusions, CONFIRM_ENGRAFTMENT to confirm a date); values are checked and saved by
`recovery.services.labs`; engraftment is computed by `recovery.clinical.engraftment` with the centre's
configuration. Times are shown in the patient's zone.
"""

import math
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.dateformat import format as format_date
from django.utils.formats import get_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from recovery import access
from recovery.access import Action
from recovery.clinical.charts import FIRST_DAYS, FROM_DAY0, ChartConfig, Window, break_gaps
from recovery.clinical.engraftment import ReferenceFlag, cd4_recovered, reference_flag
from recovery.clinical.labs_config import ANC, CD4, CD19, CMV_PCR, EBV_PCR, IGG, PLATELETS, LabConfig
from recovery.clinical.phases import local_date
from recovery.clinical.survival import DAYS_PER_MONTH, months_between
from recovery.forms.labs import ConfirmEngraftmentForm, LabImportForm, LabPanelForm, TransfusionForm
from recovery.models import EngraftmentKind, LabResult, LabTest, Patient, Transfusion, TransfusionProduct
from recovery.phase_text import day_label
from recovery.queries.configuration import active_config
from recovery.queries.labs import EngraftmentLine, engraftment_proposal, patients_on_import_lines, series
from recovery.queries.timeline import current_state, episode_of, patient_today
from recovery.services.audit import AuditContext, record_event, record_reads
from recovery.services.engraftment import confirm_engraftment
from recovery.services.lab_csv import TEMPLATE_CSV
from recovery.services.lab_import import queue_lab_import
from recovery.services.labs import LAB_TESTS, record_lab_panel, record_transfusion
from recovery.views.charts import ChartRange, chart_range

PANELS_PER_PAGE = 15
TRANSFUSIONS_SHOWN = 20
DATE_FORMAT = "j M Y"  # 3 Mar 2025; translated when used ("3 mar 2025" in Swedish)


def _d(on: date) -> str:
    return format_date(on, _(DATE_FORMAT))


def _day_label(on: date, day0: date | None) -> str:
    if day0 is None:
        return ""
    return day_label((on - day0).days)


def _add_errors(form: Form, exc: ValidationError, rename: dict[str, str] | None = None) -> None:
    """The service's errors on the fields they name; anything else above the form."""
    rename = rename or {}
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            name = rename.get(name, name)
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# Charts -----------------------------------------------------------------------------------------------------


def _tick_step(span: float, steps: tuple[int, ...]) -> int:
    """The smallest of `steps` that gives at most a dozen ticks over `span`."""
    return next((step for step in steps if span / step <= 12), steps[-1])


def _chart_labels() -> dict:
    """The words lab_charts.js writes on the canvas (it holds no text of its own)."""
    return {"day0": _("D0"), "not_detected": _("not detected")}


def _daily_points(points, zone: str, day0: date, since: date | None) -> list[dict]:
    """One point per local day (the lowest value, as the engraftment rule reads it): x = Day number."""
    lowest: dict[date, float] = {}
    for at, value in points:
        on = local_date(at, zone)
        if since is None or on >= since:
            lowest[on] = min(float(value), lowest.get(on, float(value)))
    return [{"x": (on - day0).days, "y": value, "date": _d(on)} for on, value in sorted(lowest.items())]


def _month_points(points, zone: str, day0: date, shown: Window | None = None) -> list[dict]:
    out = []
    for at, value in points:
        on = local_date(at, zone)
        if shown is None or shown.contains(on):
            out.append({"x": round(months_between(day0, on), 2), "y": float(value), "date": _d(on)})
    return out


def _count_charts(patient: Patient, status, config: LabConfig, shown: ChartRange) -> list[dict]:
    """ANC and platelets since conditioning (x = Day number), with thresholds, transfusions and engraftment,
    over the window `shown` (only its results are read and sent)."""
    active = active_config(patient.centre_id)
    episode = episode_of(patient)
    day0 = status.day0
    since = episode.conditioning_start_date if episode and episode.conditioning_start_date else None
    window = shown.window
    if window is not None and since is not None:
        since = max(since, window.start)
    elif window is not None:
        since = window.start
    data = series(patient, [ANC, PLATELETS], window.utc_bounds(patient.timezone) if window else None)
    transfusions = [
        local_date(at, patient.timezone)
        for at in Transfusion.objects.filter(patient=patient, product=TransfusionProduct.PLATELETS).values_list(
            "given_at", flat=True
        )
    ]
    transfusions = [on for on in transfusions if window is None or window.contains(on)]
    anc = _daily_points(data[ANC], patient.timezone, day0, since)
    platelets = _daily_points(data[PLATELETS], patient.timezone, day0, since)
    # The x axis reaches the possible-graft-failure day even before it comes (where engraftment is awaited).
    horizon = max(status.day or 0, active.phase.possible_graft_failure_day) + 1
    if window is None:
        x_max = max([horizon, *(p["x"] for p in anc + platelets)])
    else:
        x_max = min((window.end - day0).days, horizon) if shown.key == FIRST_DAYS else (window.end - day0).days
        x_max = max(x_max, (window.start - day0).days + 1)
    x_min = min(((since - day0).days if since else -7), -1) if window is None else (window.start - day0).days
    step = _tick_step(x_max - x_min, (5, 10, 30, 60, 90, 180, 365))
    # Counts are daily in aplasia and engraftment needs consecutive days, so the line joins consecutive days
    # only (ChartConfig.count_gap_days): a day without a count is a break, never a line that looks like data.
    gap = active.charts.count_gap_days

    def marks(line: EngraftmentLine) -> list[dict]:
        out = [{"x": 0, "label": _("Day 0")}]
        if line.recorded:
            out.append({"x": (line.recorded - day0).days, "label": _("Engrafted"), "color": "#198754"})
        elif line.proposed:
            out.append({"x": (line.proposed - day0).days, "label": _("Proposed"), "color": "#fd7e14"})
        return out

    def engraftment_label(threshold: float) -> str:
        return _("Engraftment %(threshold)s") % {"threshold": f"{threshold:g}"}

    common = {"x_label": _("Day from Day 0"), "x_min": x_min, "x_max": x_max, "x_step": step, "labels": _chart_labels()}
    return [
        {
            "id": "anc-chart",
            "title": _("Neutrophils (ANC)"),
            "unit": config.unit(ANC),
            **common,
            "series": [{"label": _("ANC"), "points": break_gaps(anc, gap)}],
            "thresholds": [{"y": config.neutrophil_threshold, "label": engraftment_label(config.neutrophil_threshold)}],
            "markers": marks(status.neutrophil),
            "empty": not anc,
        },
        {
            "id": "platelet-chart",
            "title": _("Platelets"),
            "unit": config.unit(PLATELETS),
            **common,
            "series": [{"label": _("Platelets"), "points": break_gaps(platelets, gap)}],
            "thresholds": [{"y": config.platelet_threshold, "label": engraftment_label(config.platelet_threshold)}],
            "markers": marks(status.platelet),
            "events": [
                {"x": (on - day0).days, "label": _("Platelet transfusion"), "date": _d(on)}
                for on in transfusions
                if since is None or on >= since
            ],
            "empty": not platelets,
        },
    ]


IMMUNE_TESTS = (CD4, CD19, IGG, EBV_PCR, CMV_PCR)


def _immune_charts(
    patient: Patient, day0: date, config: LabConfig, data: dict, shown: ChartRange, charts_config: ChartConfig
) -> list[dict]:
    """Charts of the tests in `data` (test -> points, as `series` gives them), x = months from Day 0, over the
    window `shown` (only its points are sent)."""
    tests = [test for test in IMMUNE_TESTS if test in data]
    charts = []
    specs = {
        CD4: (
            _("CD4+ T cells"),
            [
                {
                    "y": config.cd4_recovery_threshold,
                    "label": _("%(threshold)s: prophylaxis may stop")
                    % {"threshold": f"{config.cd4_recovery_threshold:g}"},
                }
            ],
            False,
        ),
        CD19: (
            _("CD19+ B cells"),
            [{"y": config.reference_range(CD19)[0], "label": _("Lower limit of normal")}],
            False,
        ),
        IGG: (_("IgG"), [{"y": config.reference_range(IGG)[0], "label": _("Lower limit of normal")}], False),
        EBV_PCR: (
            _("EBV DNA (PCR)"),
            [
                {
                    "y": config.ebv_alert_copies,
                    "label": _("Alert above %(copies)s")
                    % {"copies": number_format(config.ebv_alert_copies, 0, force_grouping=True)},
                }
            ],
            True,
        ),
        CMV_PCR: (_("CMV DNA (PCR)"), [], True),
    }
    window = shown.window
    points_by_test = {test: _month_points(data[test], patient.timezone, day0, window) for test in tests}
    all_x = [p["x"] for points in points_by_test.values() for p in points]
    if window is None:
        x_min = min([-1, *all_x])
        x_max = math.ceil(max([6, *all_x]) / 3) * 3
    else:
        x_min = round(months_between(day0, window.start), 2)
        x_max = max(round(months_between(day0, window.end), 2), x_min + 1)
    step = _tick_step(x_max - x_min, (1, 3, 6, 12, 24, 60))
    # Immune panels are months apart by design (3, 6, 12, ...): a line joins two results up to the longest
    # scheduled interval and a little more (ChartConfig.immune_gap_days); beyond it the line breaks.
    gap = charts_config.immune_gap_days / DAYS_PER_MONTH
    for test in tests:
        title, thresholds, log = specs[test]
        points = points_by_test[test]
        if log:  # a log axis has no 0: "not detected" is drawn on the axis's floor and said in the tooltip
            points = [{**p, "y": max(p["y"], 1.0), "nd": p["y"] == 0} for p in points]
        charts.append(
            {
                "id": f"{test}-chart",
                "title": title,
                "unit": config.unit(test),
                "x_label": _("Months from Day 0"),
                "x_min": x_min if window is not None else min([-1, *(p["x"] for p in points)]),
                "x_max": x_max,
                "x_step": step,
                "log": log,
                "series": [{"label": title, "points": break_gaps(points, gap)}],
                "thresholds": thresholds,
                "markers": [{"x": 0, "label": _("Day 0")}],
                "labels": _chart_labels(),
                "empty": not points,
            }
        )
    return charts


# Staff: labs and engraftment --------------------------------------------------------------------------------


def _panel_table(patient: Patient, config: LabConfig, page_number) -> tuple:
    """A page of panels (one row per collection time, newest first) and the tests shown as columns."""
    times = (
        LabResult.objects.filter(patient=patient)
        .order_by("-collected_at")
        .values_list("collected_at", flat=True)
        .distinct()
    )
    page = Paginator(times, PANELS_PER_PAGE).get_page(page_number)
    rows: dict[datetime, dict[str, LabResult]] = defaultdict(dict)
    for result in LabResult.objects.filter(patient=patient, collected_at__in=list(page.object_list)):
        rows[result.collected_at][result.test] = result
    tests = [test for test in LAB_TESTS if any(test in cells for cells in rows.values())]
    zone = ZoneInfo(patient.timezone)
    table = []
    for at in page.object_list:
        cells = []
        for test in tests:
            result = rows[at].get(test)
            if result is None:
                cells.append(None)
                continue
            flag = reference_flag(test, float(result.value), config)
            cells.append({"value": _plain(result.value), "flag": "" if flag == ReferenceFlag.NORMAL else flag})
        table.append({"at": timezone.localtime(at, zone), "cells": cells})
    columns = [{"test": t, "label": LabTest(t).label, "unit": config.unit(t)} for t in tests]
    return page, columns, table


def _engraftment_rows(status, day0, forms: dict[str, ConfirmEngraftmentForm], config: LabConfig) -> list[dict]:
    rows = []
    rules = (
        (status.neutrophil, _("ANC ≥ %(threshold)s") % {"threshold": _short_number(config.neutrophil_threshold)}),
        (status.platelet, _("platelets ≥ %(threshold)s") % {"threshold": _short_number(config.platelet_threshold)}),
    )
    for line, threshold in rules:
        rows.append(
            {
                "line": line,
                "state": line.state,
                "title": _("Neutrophils") if line.kind == EngraftmentKind.NEUTROPHIL else _("Platelets"),
                "recorded_day": _day_label(line.recorded, day0) if line.recorded else "",
                "proposed_day": _day_label(line.proposed, day0) if line.proposed else "",
                "rule": threshold,
                "differs": bool(line.recorded and line.proposed and line.recorded != line.proposed),
                "form": forms[line.kind],
            }
        )
    return rows


def _short_number(value: float) -> str:
    """0.5, 20 (no trailing zeros), with the active language's decimal mark (0,5 in Swedish)."""
    return number_format(Decimal(f"{value:g}"))


def _given(transfusion: Transfusion) -> str:
    """ "Platelet transfusion", "Red cell transfusion", "Immunoglobulin (IVIG)": what was given, in words."""
    if transfusion.product == TransfusionProduct.IMMUNOGLOBULIN:
        return str(transfusion.get_product_display())
    if transfusion.product == TransfusionProduct.PLATELETS:
        return _("Platelet transfusion")
    if transfusion.product == TransfusionProduct.RED_CELLS:
        return _("Red cell transfusion")
    return _("%(product)s transfusion") % {"product": transfusion.get_product_display()}


def _labs_page(
    request: HttpRequest,
    patient: Patient,
    *,
    panel=None,
    transfusion=None,
    confirm: ConfirmEngraftmentForm | None = None,
) -> HttpResponse:
    """The labs page, with whichever of its forms was posted (and its errors); the others empty."""
    config = active_config(patient.centre_id)
    panel = panel or LabPanelForm(patient_timezone=patient.timezone, config=config.labs)
    transfusion = transfusion or TransfusionForm(patient_timezone=patient.timezone)
    confirm_forms = {kind: ConfirmEngraftmentForm(kind=kind) for kind in EngraftmentKind.values}
    if confirm is not None:
        confirm_forms[confirm.kind] = confirm
    context = AuditContext.from_request(request)
    record_event(context=context, action="labs.view", patient=patient)
    status = engraftment_proposal(patient)
    for kind, form in confirm_forms.items():
        line = status.neutrophil if kind == EngraftmentKind.NEUTROPHIL else status.platelet
        if not form.is_bound and line.proposed:
            form.initial["on"] = line.proposed
    for name in panel.errors:
        if name in panel.fields:
            widget = panel.fields[name].widget
            widget.attrs["class"] = f"{widget.attrs.get('class', 'form-control')} is-invalid"
    if not panel.is_bound:
        now = timezone.localtime(timezone.now(), ZoneInfo(patient.timezone)).replace(second=0, microsecond=0)
        panel.initial["collected_at"] = now.replace(tzinfo=None)
    page, columns, table = _panel_table(patient, config.labs, request.GET.get("page"))
    shown = None
    if status.day0:  # the counts matter most in the first 100 days (engraftment): that is the default window
        shown = chart_range(
            request,
            day0=status.day0,
            today=status.today,
            anchor=FROM_DAY0,
            config=config.charts,
            default=FIRST_DAYS,
            fragment="charts",
        )
    transfusions = list(Transfusion.objects.filter(patient=patient).order_by("-given_at")[:TRANSFUSIONS_SHOWN])
    zone = ZoneInfo(patient.timezone)
    return render(
        request,
        "recovery/labs/patient_labs.html",
        {
            "patient": patient,
            "state": current_state(patient, config),
            "status": status,
            "engraftment_rows": _engraftment_rows(status, status.day0, confirm_forms, config.labs),
            "config": config.labs,
            "charts": _count_charts(patient, status, config.labs, shown) if shown else [],
            "chart_range": shown,
            "panel": panel,
            "transfusion_form": transfusion,
            "confirm_forms": confirm_forms,
            "page": page,
            "columns": columns,
            "table": table,
            "transfusions": [
                {
                    "row": t,
                    "at": timezone.localtime(t.given_at, zone),
                    "day": _day_label(local_date(t.given_at, patient.timezone), status.day0),
                }
                for t in transfusions
            ],
            "transfusion_count": Transfusion.objects.filter(patient=patient).count(),
            "may_record": access.may(request.user, Action.RECORD_LABS),
            "may_confirm": access.may(request.user, Action.CONFIRM_ENGRAFTMENT),
        },
    )


@login_required
@require_http_methods(["GET", "HEAD"])
def patient_labs(request: HttpRequest, patient_id) -> HttpResponse:
    """The patient's results, engraftment and transfusions; its three forms post to the three views below."""
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT_CHART)
    return _labs_page(request, patient)


@login_required
def lab_panel_add(request: HttpRequest, patient_id) -> HttpResponse:
    """POST records the day's results (the labs page's first form); GET goes to the labs page."""
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT_CHART)
    access.require(request.user, Action.RECORD_LABS)
    if request.method != "POST":
        return redirect("recovery:patient-labs", patient_id=patient.uuid)
    config = active_config(patient.centre_id)
    panel = LabPanelForm(request.POST, patient_timezone=patient.timezone, config=config.labs)
    if panel.is_valid():
        try:
            outcome = record_lab_panel(
                context=AuditContext.from_request(request),
                patient=patient,
                collected_at=panel.cleaned_data["collected_at"],
                values=panel.values(),
                platelet_transfusion_at=panel.cleaned_data.get("platelet_transfusion_at"),
            )
        except ValidationError as exc:
            _add_errors(panel, exc)
        else:
            saved = len(outcome.created)
            # one sentence per fact, each translated whole
            sentences = [ngettext("%(count)s result saved.", "%(count)s results saved.", saved) % {"count": saved}]
            if outcome.duplicates:
                duplicates = len(outcome.duplicates)
                sentences.append(
                    ngettext(
                        "%(count)s already recorded with the same value.",
                        "%(count)s already recorded with the same value.",
                        duplicates,
                    )
                    % {"count": duplicates}
                )
            if outcome.transfusion:
                sentences.append(_("Platelet transfusion recorded."))
            messages.success(request, " ".join(sentences))
            return redirect("recovery:patient-labs", patient_id=patient.uuid)
    return _labs_page(request, patient, panel=panel)


@login_required
def transfusion_add(request: HttpRequest, patient_id) -> HttpResponse:
    """POST records a transfusion or an immunoglobulin dose; GET goes to the labs page."""
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT_CHART)
    access.require(request.user, Action.RECORD_LABS)
    if request.method != "POST":
        return redirect("recovery:patient-labs", patient_id=patient.uuid)
    transfusion = TransfusionForm(request.POST, patient_timezone=patient.timezone)
    if transfusion.is_valid():
        try:
            row, created = record_transfusion(
                context=AuditContext.from_request(request), patient=patient, **transfusion.cleaned_data
            )
        except ValidationError as exc:
            _add_errors(transfusion, exc)
        else:
            text = _("%(given)s recorded.") if created else _("%(given)s was already recorded.")
            messages.success(request, text % {"given": _given(row)})
            return redirect("recovery:patient-labs", patient_id=patient.uuid)
    return _labs_page(request, patient, transfusion=transfusion)


@login_required
def engraftment_confirm(request: HttpRequest, patient_id, kind: str) -> HttpResponse:
    """POST confirms neutrophil or platelet engraftment on a date; GET goes to the labs page."""
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT_CHART)
    access.require(request.user, Action.CONFIRM_ENGRAFTMENT)
    if kind not in EngraftmentKind.values:
        raise Http404(_("No such engraftment."))
    if request.method != "POST":
        return redirect("recovery:patient-labs", patient_id=patient.uuid)
    form = ConfirmEngraftmentForm(request.POST, kind=kind)
    if form.is_valid():
        try:
            confirmation = confirm_engraftment(
                context=AuditContext.from_request(request),
                patient=patient,
                kind=kind,
                on=form.cleaned_data["on"],
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(
                request,
                _("%(kind)s confirmed on %(date)s.")
                % {"kind": confirmation.get_kind_display(), "date": _d(confirmation.confirmed_date)},
            )
            return redirect("recovery:patient-labs", patient_id=patient.uuid)
    return _labs_page(request, patient, confirm=form)


# Staff: immune reconstitution -------------------------------------------------------------------------------


def _latest(points, zone: str):
    if not points:
        return None
    at, value = points[-1]
    return {"on": local_date(at, zone), "value": _plain(value)}


def _cd4_recovered(patient: Patient, day0: date, points, config: LabConfig) -> bool:
    """The clinical rule (an implausible count, e.g. one in cells/uL, never counts as recovery)."""
    days = [(local_date(at, patient.timezone), float(value)) for at, value in points]
    return cd4_recovered(days, day0, patient_today(patient), config)


@login_required
@require_http_methods(["GET", "HEAD"])
def patient_immune(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT_CHART)
    record_event(context=AuditContext.from_request(request), action="immune.view", patient=patient)
    active = active_config(patient.centre_id)
    config = active.labs
    episode = episode_of(patient)
    day0 = episode.reinfusion_date if episode else None
    latest = {}
    charts = []
    shown = None
    if day0 is not None:
        data = series(patient, IMMUNE_TESTS)  # all of them: the latest results and the CD4 rule read them
        latest = {test: _latest(points, patient.timezone) for test, points in data.items()}
        shown = chart_range(
            request, day0=day0, today=patient_today(patient), anchor=FROM_DAY0, config=active.charts, fragment="charts"
        )
        charts = _immune_charts(patient, day0, config, data, shown, active.charts)
    cd4 = latest.get(CD4)
    ebv = latest.get(EBV_PCR)
    return render(
        request,
        "recovery/labs/patient_immune.html",
        {
            "patient": patient,
            "day0": day0,
            "config": config,
            "charts": charts,
            "chart_range": shown,
            "latest": latest,
            "cd4_recovered": cd4 is not None and _cd4_recovered(patient, day0, data[CD4], config),
            "ebv_high": ebv is not None and float(ebv["value"]) > config.ebv_alert_copies,
            "summary": [
                {"test": t, "label": LabTest(t).label, "unit": config.unit(t), "latest": latest.get(t)}
                for t in (CD4, CD19, IGG, EBV_PCR, CMV_PCR)
            ],
        },
    )


# Staff: CSV import ------------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def lab_import(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.RECORD_LABS)
    centres = access.centres_for(request.user).order_by("name")
    form = LabImportForm(request.POST or None, request.FILES or None, centres=centres)
    if request.method == "POST" and form.is_valid():
        centre = form.cleaned_data["centre"]
        upload = form.cleaned_data["file"]
        try:
            result = queue_lab_import(
                context=AuditContext.from_request(request),
                centre=centre,
                filename=upload.name or "upload.csv",
                data=upload.read(),
            )
        except ValidationError as exc:
            form.add_error("file", exc)
        else:
            return redirect("recovery:lab-import-report", import_id=result.uuid)
    return render(request, "recovery/labs/import.html", {"form": form})


@login_required
@require_http_methods(["GET", "HEAD"])
def lab_import_template(request: HttpRequest) -> HttpResponse:
    access.require(request.user, Action.RECORD_LABS)
    response = HttpResponse(TEMPLATE_CSV, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="lab-results-template.csv"'
    return response


@login_required
@require_http_methods(["GET", "HEAD"])
def lab_import_report(request: HttpRequest, import_id) -> HttpResponse:
    """The report of an import; while it runs, its progress, which the page polls (htmx) until it is finished.

    The progress fragment shows counts only (no patient's data): the page itself is audited, not each poll."""
    result = access.get_lab_import(request.user, import_id)
    if request.headers.get("HX-Request") == "true":
        response = render(request, "recovery/labs/_import_progress.html", {"result": result})
        if result.finished:
            response["HX-Refresh"] = "true"  # the whole page again, now with the report
        return response
    record_event(
        context=AuditContext.from_request(request), action="labs.import_view", detail={"import": str(result.uuid)}
    )
    show = request.GET.get("show", "")
    lines = [line for line in result.report if not show or line.get("outcome") == show]
    page = Paginator(lines, 200).get_page(request.GET.get("page"))
    context = AuditContext.from_request(request)
    shown = patients_on_import_lines(result, page.object_list)
    if shown:
        record_reads(context=context, action="labs.import_report", patients=shown)
    else:  # no known patient on this page (rejected lines): still who opened which import
        record_event(context=context, action="labs.import_report", detail={"import": str(result.uuid)})
    return render(request, "recovery/labs/import_report.html", {"result": result, "page": page, "show": show})


# Patient: my immune recovery --------------------------------------------------------------------------------


def _plain_number(value) -> str:
    """ "0.35" (two decimals at most, trailing zeros dropped), with the active language's decimal mark (0,35)."""
    if value is None:
        return ""
    return f"{float(value):.2f}".rstrip("0").rstrip(".").replace(".", get_format("DECIMAL_SEPARATOR"))


@login_required
@require_http_methods(["GET", "HEAD"])
def my_immune(request: HttpRequest) -> HttpResponse:
    patient = access.own_patient(request.user)
    record_event(context=AuditContext.from_request(request), action="immune.view_own", patient=patient)
    active = active_config(patient.centre_id)
    config = active.labs
    status = engraftment_proposal(patient)
    context = {"patient": patient, "status": status, "config": config}
    if status.day0 is not None:
        cd4_points = series(patient, [CD4])[CD4]
        after = [(at, v) for at, v in cd4_points if local_date(at, patient.timezone) > status.day0]
        latest = _latest(after, patient.timezone)
        shown = chart_range(
            request, day0=status.day0, today=status.today, anchor=FROM_DAY0, config=active.charts, fragment="charts"
        )
        context.update(
            {
                "cd4": latest,
                "cd4_text": _plain_number(latest["value"]) if latest else "",
                "cd4_threshold": _plain_number(config.cd4_recovery_threshold),
                "cd4_recovered": latest is not None and _cd4_recovered(patient, status.day0, cd4_points, config),
                "charts": _immune_charts(patient, status.day0, config, {CD4: cd4_points}, shown, active.charts)
                if after
                else [],
                "chart_range": shown,
                "counts_day": _day_label(status.neutrophil.recorded, status.day0) if status.neutrophil.recorded else "",
            }
        )
    return render(request, "recovery/labs/my_immune.html", context)


def _plain(value: Decimal) -> Decimal:
    """The value without trailing zeros and never in exponent notation (500000, not 5E+5)."""
    return Decimal(format(value.normalize(), "f"))
