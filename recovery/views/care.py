"""Vaccination and prophylaxis pages: a patient's revaccination plan and prophylaxis courses for staff, the
centre's doses due for the coordinators, and the patient's own plan in plain words.

Who may see and do what is decided by `recovery.access`; the plans come from
`recovery.services.vaccinations` and `recovery.services.prophylaxis`, which apply the centre's configuration.
"""

from dataclasses import dataclass
from datetime import date

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Value
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_safe

from recovery import access
from recovery.access import Action
from recovery.clinical.vaccination import DoseStatus, PlannedDose, live_vaccine_earliest, vaccine_name
from recovery.forms_care import ProphylaxisStopForm, VaccinationForm
from recovery.models import ProphylaxisStop
from recovery.queries.configuration import active_config
from recovery.queries.prophylaxis import Display, prophylaxis_for
from recovery.queries.timeline import episode_of, patient_today
from recovery.queries.vaccinations import doses_due, immunoglobulin_dates, plan_for, vaccine_choices
from recovery.services.audit import AuditContext, record_event, record_reads
from recovery.services.prophylaxis import record_prophylaxis_stop
from recovery.services.vaccinations import record_vaccination

DUE_PER_PAGE = 25
MY_COMING_UP = 6  # the patient's page lists this many doses ahead

DOSE_BADGES = {
    DoseStatus.GIVEN: ("text-bg-success", "Given"),
    DoseStatus.DUE: ("text-bg-primary", "Due"),
    DoseStatus.OVERDUE: ("text-bg-danger", "Overdue"),
    DoseStatus.UPCOMING: ("text-bg-light border", "Upcoming"),
}
COURSE_BADGES = {
    Display.NOT_STARTED: ("text-bg-light border", "Not started"),
    Display.ACTIVE: ("text-bg-primary", "Taking"),
    Display.AWAITING_CD4: ("text-bg-warning", "Stop date reached, CD4 not recovered"),
    Display.STOP_ALLOWED: ("text-bg-info", "May stop now"),
    Display.STOPPED: ("text-bg-success", "Stopped"),
}


@dataclass(frozen=True)
class DoseRow:
    dose: PlannedDose
    name: str
    live: bool
    badge: str
    label: str


def _dose_rows(plan: list[PlannedDose], live_vaccines) -> list[DoseRow]:
    return [
        DoseRow(d, vaccine_name(d.vaccine), d.vaccine in live_vaccines, *DOSE_BADGES[DoseStatus(d.status)])
        for d in plan
    ]


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, exc)


# --- staff: one patient's vaccinations -------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def patient_vaccinations(request: HttpRequest, patient_id) -> HttpResponse:
    """The revaccination plan with each dose's status, and the form to record a dose given."""
    posted = request.method == "POST"
    action = Action.RECORD_VACCINATIONS if posted else Action.VIEW_PATIENT_CHART
    patient = access.get_patient(request.user, patient_id, action)
    config = active_config(patient.centre_id).vaccination
    initial = {"vaccine": request.GET.get("vaccine", ""), "dose": request.GET.get("dose", "")}
    form = VaccinationForm(request.POST if posted else None, initial=initial, vaccines=vaccine_choices(config))
    context = AuditContext.from_request(request)
    if posted and form.is_valid():
        try:
            dose = record_vaccination(context=context, patient=patient, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"{vaccine_name(dose.vaccine)} dose {dose.dose} recorded as given.")
            return redirect("recovery:patient-vaccinations", patient_id=patient.uuid)
    record_event(context=context, action="vaccinations.view", patient=patient)
    episode = episode_of(patient)
    day0 = episode.reinfusion_date if episode else None
    today = patient_today(patient)
    plan = plan_for(patient, today=today)
    rows = _dose_rows(plan, config.live_vaccines)
    return render(
        request,
        "recovery/care/patient_vaccinations.html",
        {
            "patient": patient,
            "day0": day0,
            "today": today,
            "rows": rows,
            "open_count": sum(1 for r in rows if r.dose.status in (DoseStatus.DUE, DoseStatus.OVERDUE)),
            "given_count": sum(1 for r in rows if r.dose.status == DoseStatus.GIVEN),
            "live_from": live_vaccine_earliest(day0, config) if day0 else None,
            "live_months": config.live_not_before_months,
            "immunoglobulin_months": config.live_after_immunoglobulin_months,
            "last_immunoglobulin": max(immunoglobulin_dates(patient), default=None) if day0 else None,
            "form": form,
            "may_record": access.may(request.user, Action.RECORD_VACCINATIONS),
        },
    )


# --- staff: one patient's prophylaxis ---------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def patient_prophylaxis(request: HttpRequest, patient_id) -> HttpResponse:
    """Each course's start, planned stop and CD4 rule; the clinician's form to record a stop."""
    posted = request.method == "POST"
    action = Action.STOP_PROPHYLAXIS if posted else Action.VIEW_PATIENT_CHART
    patient = access.get_patient(request.user, patient_id, action)
    summary = prophylaxis_for(patient)
    courses = summary.courses if summary else []
    medications = [(c.medication, c.name) for c in courses if c.stop is None]
    initial = {"medication": request.GET.get("medication", ""), "stopped_on": summary.today if summary else None}
    form = ProphylaxisStopForm(request.POST if posted else None, initial=initial, medications=medications)
    context = AuditContext.from_request(request)
    if posted and form.is_valid():
        try:
            stop = record_prophylaxis_stop(context=context, patient=patient, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Stop recorded: {stop.medication} on {stop.stopped_on:%-d %b %Y}.")
            return redirect("recovery:patient-prophylaxis", patient_id=patient.uuid)
    record_event(context=context, action="prophylaxis.view", patient=patient)
    return render(
        request,
        "recovery/care/patient_prophylaxis.html",
        {
            "patient": patient,
            "summary": summary,
            "courses": [(c, *COURSE_BADGES[c.display]) for c in courses],
            "form": form,
            "may_stop": access.may(request.user, Action.STOP_PROPHYLAXIS) and bool(medications),
        },
    )


# --- coordinators: the centre's doses due ------------------------------------------------------------------------


@login_required
@require_safe
def vaccinations_due(request: HttpRequest) -> HttpResponse:
    """Patients with a vaccine dose due or overdue today, most overdue first (paginated)."""
    access.require(request.user, Action.VIEW_VACCINATIONS_DUE)
    overdue_only = request.GET.get("show") == "overdue"
    rows = doses_due(access.visible_patients(request.user), overdue_only=overdue_only)
    page = Paginator(rows, DUE_PER_PAGE).get_page(request.GET.get("page"))
    record_reads(
        context=AuditContext.from_request(request), action="vaccinations.due", patients=[r.patient for r in page]
    )
    listed = [
        (row, [(d, vaccine_name(d.vaccine), *DOSE_BADGES[DoseStatus(d.status)]) for d in row.doses]) for row in page
    ]
    return render(
        request,
        "recovery/care/vaccinations_due.html",
        {"page": page, "listed": listed, "overdue_only": overdue_only, "total": len(rows)},
    )


# --- the patient: their own plan -------------------------------------------------------------------------------


def _doses_and_stops(patient) -> tuple[list[tuple[str, int, date]], list[ProphylaxisStop]]:
    """The patient's doses given and prophylaxis stops in one query (the home page counts its queries)."""
    # Each side without its model's default ordering: SQLite refuses ORDER BY inside a compound statement.
    doses = (
        patient.vaccinations.order_by()
        .annotate(what=Value("dose"))
        .values_list("what", "vaccine", "dose", "given_date")
    )
    stops = (
        patient.prophylaxis_stops.order_by()
        .annotate(what=Value("stop"), number=Value(0))
        .values_list("what", "medication", "number", "stopped_on")
    )
    rows = list(doses.union(stops, all=True))
    given = [(code, number, on) for what, code, number, on in rows if what == "dose"]
    stopped = [
        ProphylaxisStop(patient=patient, medication=code, stopped_on=on) for what, code, _, on in rows if what == "stop"
    ]
    return given, stopped


def my_care_context(patient, today: date | None = None) -> dict:
    """The patient's vaccinations and medicines in plain words (shared with the home page's summary).

    Two queries: the configuration, and the doses and stops together. CD4 does not change what the patient
    is told (keep taking it until the team says stop), so it is not read.
    """
    today = today or patient_today(patient)
    active = active_config(patient.centre_id)
    given, stopped = _doses_and_stops(patient)
    plan = plan_for(patient, today=today, config=active, doses=given)
    summary = prophylaxis_for(patient, today=today, config=active, stops=stopped, with_cd4=False)
    config = active.vaccination
    courses = summary.courses if summary else []
    # Without CD4, a CD4-gated course past its date shows as awaiting CD4: still taken until the team says stop.
    medicines = [c for c in courses if c.display in (Display.ACTIVE, Display.AWAITING_CD4)]
    # A short course past its end (e.g. fluconazole at engraftment) that nobody recorded as stopped.
    ask_team = [c for c in courses if c.display == Display.STOP_ALLOWED]
    open_doses = [d for d in plan if d.status in (DoseStatus.DUE, DoseStatus.OVERDUE)]
    return {
        "today": today,
        "has_plan": bool(plan),
        "due_now": _dose_rows(open_doses, config.live_vaccines),
        "coming_up": _dose_rows(
            [d for d in plan if d.status == DoseStatus.UPCOMING][:MY_COMING_UP], config.live_vaccines
        ),
        "given": _dose_rows([d for d in plan if d.status == DoseStatus.GIVEN], config.live_vaccines),
        "medicines": medicines,
        "ask_team": ask_team,
        "starting_soon": [c for c in courses if c.display == Display.NOT_STARTED and c.plan.start],
    }


@login_required
@require_safe
def my_vaccinations(request: HttpRequest) -> HttpResponse:
    patient = access.own_patient(request.user)
    record_event(context=AuditContext.from_request(request), action="vaccinations.view_own", patient=patient)
    return render(request, "recovery/care/my_vaccinations.html", {"patient": patient, **my_care_context(patient)})
