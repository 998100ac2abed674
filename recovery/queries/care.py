"""The patient's vaccinations and medicines in plain words, for their own pages and the home page's summary.
Reads only."""

from dataclasses import dataclass
from datetime import date

from django.db.models import Value
from django.utils.translation import gettext, gettext_lazy

from recovery.clinical.vaccination import DoseStatus, PlannedDose, vaccine_name
from recovery.models import ProphylaxisStop
from recovery.queries.configuration import active_config
from recovery.queries.prophylaxis import Display, prophylaxis_for
from recovery.queries.timeline import patient_today
from recovery.queries.vaccinations import plan_for

MY_COMING_UP = 6  # the patient's page lists this many doses ahead


DOSE_BADGES = {
    DoseStatus.GIVEN: ("text-bg-success", gettext_lazy("Given")),
    DoseStatus.DUE: ("text-bg-primary", gettext_lazy("Due")),
    DoseStatus.OVERDUE: ("text-bg-danger", gettext_lazy("Overdue")),
    DoseStatus.UPCOMING: ("text-bg-light border", gettext_lazy("Upcoming")),
}


@dataclass(frozen=True)
class DoseRow:
    dose: PlannedDose
    name: str
    live: bool
    badge: str
    label: str


def dose_rows(plan: list[PlannedDose], live_vaccines) -> list[DoseRow]:
    return [
        DoseRow(d, gettext(vaccine_name(d.vaccine)), d.vaccine in live_vaccines, *DOSE_BADGES[DoseStatus(d.status)])
        for d in plan
    ]


def doses_and_stops(patient) -> tuple[list[tuple[str, int, date]], list[ProphylaxisStop]]:
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
    given, stopped = doses_and_stops(patient)
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
        "due_now": dose_rows(open_doses, config.live_vaccines),
        "coming_up": dose_rows(
            [d for d in plan if d.status == DoseStatus.UPCOMING][:MY_COMING_UP], config.live_vaccines
        ),
        "given": dose_rows([d for d in plan if d.status == DoseStatus.GIVEN], config.live_vaccines),
        "medicines": medicines,
        "ask_team": ask_team,
        "starting_soon": [c for c in courses if c.display == Display.NOT_STARTED and c.plan.start],
    }
