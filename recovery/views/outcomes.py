"""The patient's MS outcome page for staff: NEDA-3 since Day 0, the EDSS course, the records, and the forms to add one.

Who may see it and who may add records is decided by `recovery.access` (VIEW_PATIENT_CHART to read,
RECORD_OUTCOMES to add); the numbers come from `recovery.services.outcomes.outcome_for` and the pure rules of
`recovery.clinical.outcomes`, with every threshold from the centre's configuration.
"""

from dataclasses import dataclass
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.dateformat import format as format_date
from django.utils.formats import localize
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_http_methods

from recovery import access
from recovery.access import Action
from recovery.clinical.charts import ALL, FROM_DAY0, break_gaps
from recovery.clinical.outcomes import (
    MRI_ACTIVITY,
    PROGRESSION,
    RELAPSE,
    Assessment,
    Outcome,
    RelapseRecord,
    required_step,
    usable,
    whole_months,
)
from recovery.clinical.survival import DAYS_PER_MONTH, months_between
from recovery.forms.outcomes import OUTCOME_FORMS
from recovery.models import EDSSAssessment, MRIScan, Patient, Relapse, RelapseClassification
from recovery.models.outcomes import MS_DOMAINS
from recovery.queries.configuration import active_config
from recovery.queries.outcomes import outcome_for
from recovery.queries.timeline import episode_of, patient_today
from recovery.services.audit import AuditContext, record_event
from recovery.services.outcomes import classify_relapse, record_edss, record_mri, record_relapse
from recovery.views.charts import ChartRange, chart_range

DATE_FORMAT = "j M Y"  # 3 Mar 2025; translated when used ("3 mar 2025" in Swedish)
CAUSE_LABELS = {
    RELAPSE: gettext_lazy("relapse"),
    PROGRESSION: gettext_lazy("confirmed disability progression"),
    MRI_ACTIVITY: gettext_lazy("new MRI activity"),
}
DOMAIN_LABELS = dict(MS_DOMAINS)


def _d(value: date) -> str:
    return format_date(value, _(DATE_FORMAT))


def neda_line(outcome: Outcome) -> str:
    """The NEDA-3 status in one line: "NEDA-3 for 18 months since Day 0" or "NEDA-3 lost on 3 Mar 2025: relapse"."""
    if outcome.neda3 is None:
        return _("Day 0 is on %(date)s: NEDA-3 is counted from then.") % {"date": _d(outcome.day0)}
    if outcome.neda3:
        if not outcome.neda3_months:
            return _("NEDA-3 since Day 0 (less than a month)")
        return ngettext(
            "NEDA-3 for %(count)s month since Day 0", "NEDA-3 for %(count)s months since Day 0", outcome.neda3_months
        ) % {"count": outcome.neda3_months}
    # a list of causes ("relapse and new MRI activity"): the join word is translated on its own
    causes = _(" and ").join(str(CAUSE_LABELS.get(cause, cause)) for cause in outcome.neda3_lost_by)
    return _("NEDA-3 lost on %(date)s: %(causes)s") % {"date": _d(outcome.neda3_lost_on), "causes": causes}


def since_day0(on: date, day0: date | None) -> str:
    """Where a record falls relative to Day 0: "Day -30", "Day +12", "Month 18"."""
    if day0 is None:
        return ""
    days = (on - day0).days
    months = whole_months(day0, on) if days >= 0 else 0
    if days < 0 or months < 1:
        return _("Day %(day)s") % {"day": f"{days:+d}"}
    return _("Month %(month)s") % {"month": months}


@dataclass(frozen=True)
class AssessmentRow:
    record: EDSSAssessment
    when: str
    used: bool  # False: within the configured days after a relapse onset, so the rules leave it out


@dataclass(frozen=True)
class RelapseRow:
    record: Relapse
    when: str
    domains: list[str]

    @property
    def awaiting_classification(self) -> bool:
        """Flagged as a possible pseudo-relapse and not classified yet: counted as a relapse meanwhile."""
        return self.record.possible_pseudo_relapse and not self.record.classification


@dataclass(frozen=True)
class ScanRow:
    record: MRIScan
    when: str
    is_reference: bool
    active: bool


def _chart(outcome: Outcome, rows: list[AssessmentRow], relapses: list[Relapse], shown: ChartRange, gap_days: int):
    """What the EDSS step chart draws: x in months from Day 0, y the EDSS score, over the window `shown` (only its
    assessments and relapses are sent; the baseline and threshold lines are the outcome's, from all of them)."""
    day0 = outcome.day0
    window = shown.window

    def months(on: date) -> float:
        return round(months_between(day0, on), 2)

    def score_on(on: date) -> float:
        before = [row.record.score for row in rows if row.record.assessed_on <= on]
        if before:
            return float(before[-1])
        return float(outcome.baseline_edss) if outcome.baseline_edss is not None else 0.0

    def inside(on: date) -> bool:
        return window is None or window.contains(on)

    baseline = outcome.baseline_edss
    threshold = outcome.progression.threshold
    shown_rows = [row for row in rows if inside(row.record.assessed_on)]
    shown_relapses = [r for r in relapses if inside(r.onset_date)]
    xs = [months(row.record.assessed_on) for row in shown_rows] + [months(r.onset_date) for r in shown_relapses]
    points = [
        {
            "x": months(row.record.assessed_on),
            "y": float(row.record.score),
            "date": _d(row.record.assessed_on),
            "used": row.used,
        }
        for row in shown_rows
    ]
    step = str(threshold - outcome.progression.reference) if threshold is not None else None
    reference = _("roving reference") if outcome.progression.reference_on else _("baseline")
    return {
        # The step line holds a score until the next assessment; an assessment older than the expected interval
        # (ChartConfig.edss_gap_days) is not carried on: the line breaks instead of claiming a score nobody took.
        "points": break_gaps(points, gap_days / DAYS_PER_MONTH),
        "relapses": [
            {
                "x": months(r.onset_date),
                "y": score_on(r.onset_date),
                "date": _d(r.onset_date),
                "pseudo": r.possible_pseudo_relapse,
                "classification": r.classification or None,
            }
            for r in shown_relapses
        ],
        "baseline": float(baseline) if baseline is not None else None,
        "threshold": float(threshold) if threshold is not None else None,
        "step": step,
        "reference_label": reference,
        "x_min": min([0.0, *xs]) if window is None else months(window.start),
        "x_max": max([months(outcome.as_of), *xs]) if window is None else max(months(window.end), 1.0),
        "fixed_x": window is not None,  # the window's own bounds, not rounded out to whole half-years
        "labels": {
            "edss": _("EDSS"),
            "edss_value": _("EDSS %(score)s"),
            "not_used": _("not used: close after a relapse"),
            "baseline": _("Baseline (%(score)s)") % {"score": f"{baseline:.1f}"} if baseline is not None else "",
            "threshold": _("Progression threshold (%(threshold)s = %(reference)s + %(step)s)")
            % {"threshold": f"{threshold:.1f}", "reference": reference, "step": step}
            if threshold is not None
            else "",
            "relapse": _("Relapse"),
            "pseudo": _("Relapse (possible pseudo-relapse)"),
            "day0": _("Day 0"),
            "day0_tick": _("D0"),
            "x_axis": _("Months from Day 0"),
        },
    }


def _page_context(patient: Patient, user, request: HttpRequest) -> dict:
    config = active_config(patient.centre_id)
    episode = episode_of(patient)
    day0 = episode.reinfusion_date if episode is not None else None
    outcome = outcome_for(patient) if day0 is not None else None

    assessments = list(EDSSAssessment.objects.filter(patient=patient).select_related("assessed_by"))
    relapses = list(Relapse.objects.filter(patient=patient).select_related("classified_by"))
    scans = list(MRIScan.objects.filter(patient=patient))

    kept = usable(
        [Assessment(on=a.assessed_on, score=a.score) for a in assessments],
        [RelapseRecord(onset=r.onset_date, pseudo=r.is_pseudo_relapse) for r in relapses],
        config.outcomes,
    )
    used_dates = {a.on for a in kept}
    assessment_rows = [
        AssessmentRow(record=a, when=since_day0(a.assessed_on, day0), used=a.assessed_on in used_dates)
        for a in assessments
    ]
    relapse_rows = [
        RelapseRow(
            record=r,
            when=since_day0(r.onset_date, day0),
            domains=[DOMAIN_LABELS.get(code, code) for code in r.domains or []],
        )
        for r in relapses
    ]
    reference = outcome.mri_reference_date if outcome is not None else None
    scan_rows = [
        ScanRow(
            record=s,
            when=since_day0(s.scan_date, day0),
            is_reference=s.scan_date == reference,
            active=s.new_t2_lesions > 0 or s.gd_enhancing_lesions > 0,
        )
        for s in scans
    ]

    context = {
        "patient": patient,
        "episode": episode,
        "day0": day0,
        "outcome": outcome,
        "config": config.outcomes,
        "assessment_rows": assessment_rows,
        "relapse_rows": relapse_rows,
        "scan_rows": scan_rows,
        "may_record": access.may(user, Action.RECORD_OUTCOMES),
        "classifications": RelapseClassification.choices,
        "may_edit_transplant": access.may(user, Action.EDIT_TRANSPLANT),
    }
    if outcome is not None:
        reference = outcome.progression.reference
        context.update(
            {
                "neda_line": neda_line(outcome),
                "step": required_step(reference, config.outcomes) if reference is not None else None,
                "threshold": outcome.progression.threshold,
                "progression_months": _when(day0, outcome.progression_date),
                "improvement_months": _when(day0, outcome.improvement_date),
            }
        )
        if outcome.neda3 is not None and assessments:
            # EDSS is read over years: everything by default
            shown = chart_range(
                request,
                day0=day0,
                today=patient_today(patient),
                anchor=FROM_DAY0,
                config=config.charts,
                default=ALL,
                fragment="course-heading",
            )
            context["chart"] = _chart(outcome, assessment_rows, relapses, shown, config.charts.edss_gap_days)
            context["chart_range"] = shown
    return context


def _when(day0: date, on: date | None) -> str:
    """The date relative to Day 0 ("Month 15"); empty without a date."""
    return since_day0(on, day0) if on is not None else ""


def _add_errors(form: Form, exc: ValidationError) -> None:
    """The service's errors on the fields they name; anything else above the form."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


def _save(request: HttpRequest, patient: Patient, form: Form) -> None:
    """Record what the form holds through its service; raises ValidationError as the service does."""
    context = AuditContext.from_request(request)
    data = form.cleaned_data
    if form.kind == "edss":
        assessment = record_edss(context=context, patient=patient, **data)
        messages.success(
            request,
            _("EDSS %(score)s on %(date)s added.")
            % {"score": localize(assessment.score), "date": _d(assessment.assessed_on)},
        )
    elif form.kind == "relapse":
        relapse = record_relapse(context=context, patient=patient, **data)
        messages.success(request, _("Relapse with onset on %(date)s added.") % {"date": _d(relapse.onset_date)})
        if relapse.possible_pseudo_relapse:
            messages.warning(
                request,
                _(
                    "A fever was reported near the onset: the relapse is marked as a possible pseudo-relapse. "
                    "It counts as a relapse until a clinician classifies it below."
                ),
            )
    elif form.kind == "classify":
        relapse = access.get_relapse(request.user, patient.uuid, data["relapse"], Action.RECORD_OUTCOMES)
        relapse = classify_relapse(context=context, relapse=relapse, classification=data["classification"])
        values = {"date": _d(relapse.onset_date), "label": relapse.get_classification_display().lower()}
        if relapse.is_pseudo_relapse:
            text = _(
                "The relapse of %(date)s is classified as a %(label)s: it does not end NEDA-3 or the relapse-free time."
            )
        else:
            text = _("The relapse of %(date)s is classified as a %(label)s: it counts as a relapse.")
        messages.success(request, text % values)
    else:
        scan = record_mri(context=context, patient=patient, **data)
        messages.success(request, _("MRI scan of %(date)s added.") % {"date": _d(scan.scan_date)})


def _outcomes_page(request: HttpRequest, patient: Patient, posted: Form | None = None) -> HttpResponse:
    """The outcomes page, with the form that was posted (and its errors) open; each form posts to its own URL."""
    forms = {kind: form_class() for kind, form_class in OUTCOME_FORMS.items()}
    if posted is not None:
        forms[posted.kind] = posted
    actions = {kind: reverse("recovery:outcome-add", args=[patient.uuid, kind]) for kind in forms}
    for kind, form in forms.items():
        if hasattr(form, "helper"):  # the crispy forms; the classification form is laid out in the template
            form.helper.form_action = actions[kind]
    open_form = posted.kind if posted is not None else None
    record_event(context=AuditContext.from_request(request), action="outcomes.view", patient=patient)
    context = _page_context(patient, request.user, request)
    context.update(
        {
            "edss_form": forms["edss"],
            "relapse_form": forms["relapse"],
            "mri_form": forms["mri"],
            "classify_form": forms["classify"],
            "classify_url": actions["classify"],
            "open_form": open_form,
        }
    )
    return render(request, "recovery/patient_outcomes.html", context)


@login_required
@require_http_methods(["GET", "HEAD"])
def patient_outcomes(request: HttpRequest, patient_id) -> HttpResponse:
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT_CHART)
    return _outcomes_page(request, patient)


@login_required
def outcome_add(request: HttpRequest, patient_id, kind: str) -> HttpResponse:
    """POST records an EDSS score, a relapse, an MRI scan or a relapse's classification (`kind`), one form per
    URL; GET goes to the outcomes page, where the forms are."""
    patient = access.get_patient(request.user, patient_id, Action.VIEW_PATIENT_CHART)
    access.require(request.user, Action.RECORD_OUTCOMES)
    if kind not in OUTCOME_FORMS:
        raise Http404(_("No such record."))
    if request.method != "POST":
        return redirect("recovery:patient-outcomes", patient_id=patient.uuid)
    form = OUTCOME_FORMS[kind](request.POST)
    if form.is_valid():
        try:
            _save(request, patient, form)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            return redirect("recovery:patient-outcomes", patient_id=patient.uuid)
    return _outcomes_page(request, patient, posted=form)
