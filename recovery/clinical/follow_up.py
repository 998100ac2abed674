"""The end of follow-up: the last local date for which reminders are planned after a transplant.

Pure rules: Day 0 and the centre's configuration in, a date out. Every schedule the planner plans from Day 0
(`recovery/services/reminders/planning.py` and `care.py`) ends, and the latest end is the end of follow-up:

* check-ins: through D+`ReminderConfig.recovery_end_day` (D+180), or the end of the high-infection-risk
  window when that is later (engraftment late);
* the revaccination calendar: the last scheduled dose when each dose follows on time (MMR and varicella
  dose 2, month 25 by default);
* prophylaxis: the latest planned stop of a course (its stop anchor + `stop_months`: month 12 by default);
* surveillance labs: the last draw (month `SurveillanceConfig.until_month`, 120 by default) and its
  missed-lab task for the coordinator (`missed_grace_days` later).

So by default follow-up ends ten years and thirty days after Day 0, and a centre that changes the
surveillance years (or any other schedule) moves it with them: the limit is the configuration, never a
literal. After it nothing is planned from Day 0 any more: the few things that could run on are a yearly
vaccine given after the schedule ended (influenza is planned one year after each dose), a CD4-gated
course whose CD4 never recovered, and the twice-daily temperature reminders of a patient whose engraftment
was never recorded; after follow-up all of them stop. Planned appointments are not part of follow-up: they
are reminded of whenever they are ahead.
"""

from datetime import date, timedelta

from recovery.clinical.config import ReminderConfig
from recovery.clinical.labs_config import Anchor, ProphylaxisConfig, VaccinationConfig
from recovery.clinical.phases import add_months
from recovery.clinical.surveillance import SurveillanceConfig
from recovery.clinical.vaccination import vaccination_plan


def follow_up_end(
    day0: date,
    reminders: ReminderConfig,
    surveillance: SurveillanceConfig,
    vaccination: VaccinationConfig,
    prophylaxis: ProphylaxisConfig,
    engraftment: date | None = None,
) -> date:
    """The last local date reminders are planned for after `day0` (see the module docstring).

    `engraftment` (neutrophil engraftment, when recorded) can only move the end later, through the
    high-risk window's end; it is not needed for the usual end, which is the surveillance labs'.
    """
    ends = [day0 + timedelta(days=reminders.recovery_end_day)]
    if engraftment is not None:
        ends.append(max(engraftment, day0) + timedelta(days=reminders.high_risk_days_after_engraftment))
    doses = vaccination_plan(day0, (), day0, vaccination)
    if doses:
        ends.append(max(dose.due_date for dose in doses))
    # a course stops from its anchor + `stop_months`; anchors before Day 0 (conditioning) count as Day 0
    anchors = {Anchor.NEUTROPHIL_ENGRAFTMENT: engraftment}
    for template in prophylaxis.template_list():
        anchor = anchors.get(template.stop, day0) if template.stop != Anchor.DAY0 else day0
        if template.enabled and anchor is not None:
            ends.append(add_months(max(anchor, day0), template.stop_months))
    months = range(surveillance.first_month, surveillance.until_month + 1, surveillance.interval_months)
    last_month = max(months, default=0)
    ends.append(add_months(day0, last_month) + timedelta(days=surveillance.missed_grace_days))
    return max(ends)


def earliest_day0_in_follow_up(
    today: date,
    reminders: ReminderConfig,
    surveillance: SurveillanceConfig,
    vaccination: VaccinationConfig,
    prophylaxis: ProphylaxisConfig,
) -> date:
    """The earliest Day 0 whose follow-up has not ended by `today` (engraftment not counted): a patient with an
    earlier Day 0 is past follow-up. `follow_up_end` never decreases with Day 0, so this is a binary search."""

    def ended(day0: date) -> bool:
        return follow_up_end(day0, reminders, surveillance, vaccination, prophylaxis) < today

    low, high = today - timedelta(days=366 * 200), today  # `ended(high)` is False: follow-up ends after Day 0
    while (high - low).days > 1:
        middle = low + timedelta(days=(high - low).days // 2)
        if ended(middle):
            low = middle
        else:
            high = middle
    return high
