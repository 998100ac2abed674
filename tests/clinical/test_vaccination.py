"""Revaccination plan and live-vaccine block (recovery/clinical/vaccination.py).

The reference episode: Day 0 on 31 Aug 2025, a month end, so month 3 is 30 Nov 2025, month 6 is 28 Feb 2026,
month 12 is 31 Aug 2026 and month 24 is 31 Aug 2027; D+50 is 20 Oct 2025.
"""

import json
from collections import Counter
from dataclasses import replace
from datetime import date, timedelta

import pytest

from recovery.clinical.labs_config import DEFAULT_VACCINATION_CONFIG, VaccinationConfig
from recovery.clinical.vaccination import (
    DoseStatus,
    PlannedDose,
    VaccinationRefusedError,
    check_vaccination,
    first_dose_dates,
    immunoglobulin_clear_from,
    live_vaccine_earliest,
    vaccination_plan,
)

DAY_ZERO = date(2025, 8, 31)
MONTH_3 = date(2025, 11, 30)
MONTH_6 = date(2026, 2, 28)
MONTH_12 = date(2026, 8, 31)
MONTH_24 = date(2027, 8, 31)

UPCOMING = DoseStatus.UPCOMING
DUE = DoseStatus.DUE
OVERDUE = DoseStatus.OVERDUE
GIVEN = DoseStatus.GIVEN


def plan(
    given=(), today=MONTH_3, config=DEFAULT_VACCINATION_CONFIG, day0=DAY_ZERO
) -> dict[tuple[str, int], PlannedDose]:
    return {(p.vaccine, p.dose): p for p in vaccination_plan(day0, list(given), today, config)}


def test_schedule_has_the_dose_counts_of_domain_section_3_4():
    counts = Counter(vaccine for vaccine, _ in plan())
    assert counts == {
        "influenza": 1,
        "pcv13": 3,
        "ppsv23": 1,
        "tdap": 3,
        "ipv": 3,
        "hib": 3,
        "hepb": 3,
        "meningococcal": 2,
        "hepa": 2,
        "hpv": 3,
        "zoster_recombinant": 2,
        "mmr": 2,
        "varicella": 2,
    }


@pytest.mark.parametrize(
    ("vaccine", "dose", "due_date", "due_until"),
    [
        pytest.param("influenza", 1, MONTH_3, MONTH_6, id="influenza_M3_to_M6"),
        pytest.param("pcv13", 1, MONTH_3, MONTH_6, id="pcv13_M3"),
        pytest.param("pcv13", 2, date(2025, 12, 30), date(2026, 1, 30), id="pcv13_2_one_month_later"),
        pytest.param("pcv13", 3, date(2026, 1, 30), date(2026, 2, 28), id="pcv13_3_clamped_to_28_feb"),
        pytest.param("ppsv23", 1, MONTH_12, date(2026, 11, 30), id="ppsv23_M12"),
        pytest.param("zoster_recombinant", 1, date(2025, 10, 20), date(2025, 11, 9), id="zoster_D+50_to_D+70"),
        pytest.param("tdap", 1, MONTH_6, date(2026, 8, 28), id="tdap_M6_clamped"),
        pytest.param("hepb", 3, date(2026, 8, 28), date(2026, 9, 28), id="hepb_0_1_6"),
        pytest.param("hepa", 2, date(2026, 8, 28), date(2026, 9, 28), id="hepa_0_6"),
        pytest.param("mmr", 1, MONTH_24, date(2028, 2, 29), id="mmr_M24_leap_day"),
        pytest.param("varicella", 2, date(2027, 9, 30), date(2027, 10, 30), id="varicella_2"),
    ],
)
def test_planned_due_dates_use_calendar_months(vaccine, dose, due_date, due_until):
    planned = plan()[(vaccine, dose)]
    assert (planned.due_date, planned.due_until) == (due_date, due_until)


@pytest.mark.parametrize(
    ("given", "key", "expected"),
    [
        pytest.param([("pcv13", 1, date(2025, 12, 20))], ("pcv13", 2), date(2026, 1, 20), id="from_actual_dose_1"),
        pytest.param([("pcv13", 1, date(2025, 12, 20))], ("pcv13", 3), date(2026, 2, 20), id="chain_via_planned_2"),
        pytest.param(
            [("pcv13", 1, date(2025, 12, 20)), ("pcv13", 2, date(2026, 2, 1))],
            ("pcv13", 3),
            date(2026, 3, 1),
            id="from_actual_dose_2",
        ),
        pytest.param([("pcv13", 1, date(2026, 1, 31))], ("pcv13", 2), date(2026, 2, 28), id="month_end_interval"),
        pytest.param([("tdap", 1, date(2026, 1, 10))], ("tdap", 2), MONTH_6, id="never_before_earliest"),
        pytest.param([("hepb", 2, date(2026, 5, 15))], ("hepb", 3), date(2026, 10, 15), id="hepb_5_months_after_2"),
        pytest.param(
            [("pcv13", 3, date(2026, 8, 1))], ("ppsv23", 1), date(2026, 9, 26), id="ppsv23_8_weeks_after_pcv13"
        ),
        pytest.param([("pcv13", 3, date(2026, 3, 1))], ("ppsv23", 1), MONTH_12, id="ppsv23_still_M12"),
        pytest.param([("influenza", 1, date(2025, 12, 15))], ("influenza", 2), date(2026, 12, 15), id="flu_yearly"),
    ],
)
def test_later_dose_is_due_from_the_date_the_previous_one_was_given(given, key, expected):
    assert plan(given, today=MONTH_3)[key].due_date == expected


@pytest.mark.parametrize(
    ("today", "status"),
    [
        pytest.param(date(2025, 11, 29), UPCOMING, id="day_before"),
        pytest.param(MONTH_3, DUE, id="due_date"),
        pytest.param(MONTH_6, DUE, id="last_day_of_window"),
        pytest.param(date(2026, 3, 1), OVERDUE, id="day_after_window"),
    ],
)
def test_first_dose_status_upcoming_due_overdue(today, status):
    assert plan(today=today)[("pcv13", 1)].status == status


@pytest.mark.parametrize(
    ("given", "today", "status"),
    [
        pytest.param([], date(2026, 6, 1), UPCOMING, id="previous_not_given_stays_upcoming"),
        pytest.param([("pcv13", 1, date(2025, 12, 1))], date(2025, 12, 31), UPCOMING, id="before_due"),
        pytest.param([("pcv13", 1, date(2025, 12, 1))], date(2026, 1, 1), DUE, id="due"),
        pytest.param([("pcv13", 1, date(2025, 12, 1))], date(2026, 2, 1), DUE, id="last_due_day"),
        pytest.param([("pcv13", 1, date(2025, 12, 1))], date(2026, 2, 2), OVERDUE, id="overdue"),
        pytest.param(
            [("pcv13", 1, date(2025, 12, 1)), ("pcv13", 2, date(2026, 3, 1))], date(2026, 3, 2), GIVEN, id="given"
        ),
    ],
)
def test_second_dose_status(given, today, status):
    assert plan(given, today)[("pcv13", 2)].status == status


def test_given_dose_keeps_its_planned_date_and_records_the_given_date():
    planned = plan([("zoster_recombinant", 1, date(2025, 11, 20))], today=date(2025, 12, 1))[("zoster_recombinant", 1)]
    assert (planned.status, planned.due_date, planned.given_date) == (GIVEN, date(2025, 10, 20), date(2025, 11, 20))


def test_yearly_vaccine_plans_one_more_dose_after_each_given():
    nothing = plan(today=MONTH_3)
    assert ("influenza", 2) not in nothing
    two = plan([("influenza", 1, date(2025, 12, 1)), ("influenza", 2, date(2026, 11, 20))], today=date(2026, 12, 1))
    assert two[("influenza", 3)].due_date == date(2027, 11, 20)
    assert two[("influenza", 3)].status == UPCOMING
    assert ("influenza", 4) not in two


def test_doses_given_before_day0_do_not_count():
    planned = plan([("pcv13", 1, date(2025, 5, 1))], today=MONTH_3)[("pcv13", 1)]
    assert (planned.status, planned.given_date) == (DUE, None)


def test_same_dose_recorded_twice_uses_the_earlier_date():
    given = [("hepb", 1, date(2026, 3, 20)), ("hepb", 1, date(2026, 3, 5))]
    assert plan(given, today=date(2026, 4, 1))[("hepb", 1)].given_date == date(2026, 3, 5)


def test_plan_is_ordered_by_due_date():
    dates = [p.due_date for p in vaccination_plan(DAY_ZERO, [], MONTH_3)]
    assert dates == sorted(dates)
    assert vaccination_plan(DAY_ZERO, [], MONTH_3)[0].vaccine == "zoster_recombinant"


@pytest.mark.parametrize(
    ("given", "message"),
    [
        pytest.param([("bcg", 1, MONTH_6)], "Unknown vaccine 'bcg'", id="unknown_code"),
        pytest.param([("pcv13", 4, MONTH_6)], "3 dose", id="dose_outside_schedule"),
        pytest.param([("pcv13", 0, MONTH_6)], "whole number from 1", id="dose_zero"),
    ],
)
def test_plan_refuses_unknown_vaccines_and_doses(given, message):
    with pytest.raises(ValueError, match=message):
        plan(given)


def test_plan_from_config_read_back_from_json_is_the_same():
    stored = json.loads(json.dumps(DEFAULT_VACCINATION_CONFIG.as_dict()))
    config = VaccinationConfig().with_overrides(stored)
    given = [("pcv13", 1, date(2025, 12, 20)), ("influenza", 1, date(2025, 12, 1))]
    assert plan(given, date(2026, 1, 5), config) == plan(given, date(2026, 1, 5))


def test_mmr_before_month_24_is_refused_with_an_explanation():
    with pytest.raises(ValueError, match=r"^MMR is a live vaccine") as refused:
        check_vaccination("mmr", 1, date(2027, 8, 30), DAY_ZERO)
    assert str(refused.value) == (
        "MMR is a live vaccine: it cannot be given before month 24 after Day 0 (2027-08-31), because until then "
        "the immune system may not control the weakened live virus in the vaccine, which can then cause a "
        "serious infection."
    )


@pytest.mark.parametrize(
    ("vaccine", "dose", "given", "day0", "immunosuppressed", "message"),
    [
        pytest.param("varicella", 1, date(2026, 8, 31), DAY_ZERO, False, "Varicella.*live vaccine", id="varicella_M12"),
        pytest.param("mmr", 2, date(2027, 8, 30), DAY_ZERO, False, r"month 24 after Day 0 \(2027-08-31\)", id="mmr_2"),
        pytest.param("mmr", 1, date(2026, 2, 27), date(2024, 2, 29), False, r"\(2026-02-28\)", id="leap_day0"),
        pytest.param("mmr", 1, date(2028, 1, 1), DAY_ZERO, True, "immunosuppressive", id="immunosuppressed"),
        pytest.param("pcv13", 1, date(2025, 8, 30), DAY_ZERO, False, "before Day 0", id="before_day0"),
        pytest.param("yellow_fever", 1, MONTH_24, DAY_ZERO, False, "Unknown vaccine", id="unknown_code"),
        pytest.param("hepa", 3, MONTH_24, DAY_ZERO, False, "2 dose", id="dose_outside_schedule"),
        pytest.param("hpv", -1, MONTH_24, DAY_ZERO, False, "whole number", id="negative_dose"),
    ],
)
def test_check_vaccination_refuses(vaccine, dose, given, day0, immunosuppressed, message):
    with pytest.raises(ValueError, match=message):
        check_vaccination(vaccine, dose, given, day0, immunosuppressed=immunosuppressed)


@pytest.mark.parametrize(
    ("vaccine", "dose", "given", "day0", "immunosuppressed"),
    [
        pytest.param("mmr", 1, MONTH_24, DAY_ZERO, False, id="mmr_on_month_24"),
        pytest.param("varicella", 2, date(2027, 10, 1), DAY_ZERO, False, id="varicella_after_M24"),
        pytest.param("mmr", 1, date(2026, 2, 28), date(2024, 2, 29), False, id="leap_day0_month_24"),
        pytest.param("pcv13", 1, MONTH_3, DAY_ZERO, True, id="inactivated_while_immunosuppressed"),
        pytest.param("zoster_recombinant", 1, DAY_ZERO, DAY_ZERO, False, id="non_live_early_not_blocked"),
        pytest.param("influenza", 7, date(2031, 10, 1), DAY_ZERO, False, id="yearly_any_dose"),
    ],
)
def test_check_vaccination_accepts(vaccine, dose, given, day0, immunosuppressed):
    assert check_vaccination(vaccine, dose, given, day0, immunosuppressed=immunosuppressed) is None


def test_live_vaccine_rule_comes_from_config():
    config = replace(DEFAULT_VACCINATION_CONFIG, live_not_before_months=36)
    with pytest.raises(ValueError, match="month 36"):
        check_vaccination("mmr", 1, date(2028, 2, 1), DAY_ZERO, config)
    not_live = replace(DEFAULT_VACCINATION_CONFIG, live_vaccines=("varicella",))
    assert check_vaccination("mmr", 1, MONTH_12, DAY_ZERO, not_live) is None


# --- the hard block at its edges: month 24 in calendar months, the immunosuppression question, immunoglobulin ---

LIVE_EDGES = [
    # (Day 0, live_not_before_months, the first day a live vaccine is accepted)
    pytest.param(date(2024, 2, 29), 24, date(2026, 2, 28), id="leap_day0_to_28_feb"),
    pytest.param(date(2023, 3, 1), 24, date(2025, 3, 1), id="1_mar_not_730_days"),
    pytest.param(date(2025, 8, 31), 24, date(2027, 8, 31), id="31_aug"),
    pytest.param(date(2025, 1, 31), 24, date(2027, 1, 31), id="31_jan"),
    pytest.param(date(2023, 12, 31), 24, date(2025, 12, 31), id="31_dec"),
    pytest.param(date(2025, 8, 31), 18, date(2027, 2, 28), id="m18_31_aug_to_28_feb"),
    pytest.param(date(2026, 8, 31), 18, date(2028, 2, 29), id="m18_to_leap_day"),
    pytest.param(date(2024, 2, 29), 36, date(2027, 2, 28), id="m36_leap_day0"),
]


@pytest.mark.parametrize("vaccine", ["mmr", "varicella"])
@pytest.mark.parametrize(("day0", "months", "first_day"), LIVE_EDGES)
def test_a_live_vaccine_is_refused_the_day_before_the_block_ends_and_accepted_on_it(vaccine, day0, months, first_day):
    """Both sides of the month-24 (or configured) edge, in calendar months from Day 0."""
    config = replace(DEFAULT_VACCINATION_CONFIG, live_not_before_months=months)
    assert live_vaccine_earliest(day0, config) == first_day
    with pytest.raises(
        VaccinationRefusedError, match=f"before month {months} after Day 0 \\({first_day}\\)"
    ) as refused:
        check_vaccination(vaccine, 1, first_day - timedelta(days=1), day0, config, immunosuppressed=False)
    assert refused.value.field == "given_date"
    assert check_vaccination(vaccine, 1, first_day, day0, config, immunosuppressed=False) is None


@pytest.mark.parametrize(("day0", "months", "first_day"), LIVE_EDGES)
def test_the_plan_never_puts_a_live_dose_before_the_block(day0, months, first_day):
    """A schedule that starts MMR earlier than the block (month 12 here) still plans it from the block's date."""
    schedule = tuple(replace(d, months=12) if d.vaccine == "mmr" else d for d in DEFAULT_VACCINATION_CONFIG.dose_list())
    config = replace(DEFAULT_VACCINATION_CONFIG, schedule=schedule, live_not_before_months=months)
    planned = plan(day0=day0, config=config, today=first_day - timedelta(days=1))
    assert planned[("mmr", 1)].due_date == first_day
    assert planned[("mmr", 1)].status == UPCOMING
    assert first_dose_dates(day0, config)["mmr"] == first_day


@pytest.mark.parametrize(
    ("immunosuppressed", "field", "words"),
    [
        pytest.param(None, "immunosuppressed", "answer whether the patient is on immunosuppressive", id="unanswered"),
        pytest.param(True, "immunosuppressed", "while the patient is on immunosuppressive", id="yes"),
        pytest.param("no", "immunosuppressed", "while the patient is on immunosuppressive", id="not_a_boolean"),
        pytest.param(0, "immunosuppressed", "while the patient is on immunosuppressive", id="zero_is_not_false"),
    ],
)
@pytest.mark.parametrize("vaccine", ["mmr", "varicella"])
def test_a_live_vaccine_needs_an_explicit_no_to_immunosuppression(vaccine, immunosuppressed, field, words):
    """Only an explicit False lets a live vaccine through: not answered (None) is refused like yes."""
    with pytest.raises(VaccinationRefusedError, match=words) as refused:
        check_vaccination(vaccine, 1, MONTH_24, DAY_ZERO, immunosuppressed=immunosuppressed)
    assert refused.value.field == field


def test_the_immunosuppression_question_is_refused_by_default():
    """Leaving the argument out is "not answered": a live vaccine is refused."""
    with pytest.raises(VaccinationRefusedError, match="answer whether"):
        check_vaccination("mmr", 1, MONTH_24, DAY_ZERO)


@pytest.mark.parametrize("vaccine", ["pcv13", "zoster_recombinant", "influenza"])
def test_a_non_live_vaccine_does_not_need_the_answer(vaccine):
    assert check_vaccination(vaccine, 1, MONTH_24, DAY_ZERO, immunosuppressed=None) is None


IG_EDGES = [
    # (last immunoglobulin, months configured, first day a live vaccine is accepted)
    pytest.param(date(2027, 1, 31), 11, date(2027, 12, 31), id="31_jan_plus_11"),
    pytest.param(date(2027, 3, 31), 11, date(2028, 2, 29), id="31_mar_plus_11_leap"),
    pytest.param(date(2028, 3, 31), 11, date(2029, 2, 28), id="31_mar_plus_11_common"),
    pytest.param(date(2027, 6, 15), 8, date(2028, 2, 15), id="replacement_dose_8_months"),
    pytest.param(date(2027, 6, 30), 10, date(2028, 4, 30), id="1g_per_kg_10_months"),
]


@pytest.mark.parametrize(("last_ig", "months", "first_day"), IG_EDGES)
def test_a_live_vaccine_is_refused_within_the_interval_after_immunoglobulin(last_ig, months, first_day):
    """Both sides of the configured interval after the last IVIG dose, in calendar months."""
    config = replace(DEFAULT_VACCINATION_CONFIG, live_after_immunoglobulin_months=months)
    day0 = date(2025, 1, 15)  # month 24 (15 Jan 2027) is before every edge of the table
    assert immunoglobulin_clear_from([last_ig], first_day, config) == (last_ig, first_day)
    with pytest.raises(VaccinationRefusedError, match=f"within {months} months after immunoglobulin") as refused:
        check_vaccination(
            "mmr",
            1,
            first_day - timedelta(days=1),
            day0,
            config,
            immunosuppressed=False,
            immunoglobulin_dates=[last_ig],
        )
    assert refused.value.field == "given_date"
    assert f"not before {first_day}" in str(refused.value)
    accepted = check_vaccination(
        "mmr", 1, first_day, day0, config, immunosuppressed=False, immunoglobulin_dates=[last_ig]
    )
    assert accepted is None


@pytest.mark.parametrize(
    ("ig_dates", "given", "refused"),
    [
        pytest.param([], MONTH_24, False, id="none_recorded"),
        pytest.param([date(2026, 1, 10), date(2027, 2, 1)], MONTH_24, True, id="latest_counts_unsorted"),
        pytest.param([date(2027, 2, 1), date(2026, 1, 10)], MONTH_24, True, id="latest_counts"),
        pytest.param([date(2026, 9, 30)], MONTH_24, False, id="clear_from_30_aug"),
        pytest.param([date(2026, 10, 1)], MONTH_24, True, id="clear_only_from_1_sep"),
        pytest.param([date(2027, 9, 1)], MONTH_24, False, id="after_the_vaccine_ignored"),
        pytest.param([MONTH_24], MONTH_24, True, id="same_day"),
    ],
)
def test_immunoglobulin_before_the_vaccine_date_holds_it_back(ig_dates, given, refused):
    """Only immunoglobulin on or before the vaccine's date counts, and the latest of those."""

    def call():
        return check_vaccination("varicella", 1, given, DAY_ZERO, immunosuppressed=False, immunoglobulin_dates=ig_dates)

    if refused:
        with pytest.raises(VaccinationRefusedError, match="immunoglobulin"):
            call()
    else:
        assert call() is None


def test_immunoglobulin_does_not_hold_back_a_non_live_vaccine():
    assert check_vaccination("tdap", 1, MONTH_24, DAY_ZERO, immunoglobulin_dates=[MONTH_24]) is None


def test_immunoglobulin_interval_comes_from_config_and_zero_switches_it_off():
    config = DEFAULT_VACCINATION_CONFIG.with_overrides({"live_after_immunoglobulin_months": 0})
    assert check_vaccination("mmr", 1, MONTH_24, DAY_ZERO, config, False, [MONTH_24]) is None
    assert DEFAULT_VACCINATION_CONFIG.live_after_immunoglobulin_months == 11


@pytest.mark.parametrize(
    ("args", "field"),
    [
        pytest.param(("bcg", 1, MONTH_24, DAY_ZERO), "vaccine", id="unknown"),
        pytest.param(("mmr", 9, MONTH_24, DAY_ZERO), "dose", id="dose"),
        pytest.param(("pcv13", 1, date(2025, 8, 30), DAY_ZERO), "given_date", id="before_day0"),
        pytest.param(("mmr", 1, MONTH_12, DAY_ZERO), "given_date", id="before_month_24"),
        pytest.param(("mmr", 1, MONTH_24, DAY_ZERO), "immunosuppressed", id="unanswered"),
    ],
)
def test_each_refusal_names_the_input_it_is_about(args, field):
    """The form and the API put the message next to this field; the refusal is still a ValueError."""
    with pytest.raises(ValueError, match=r"\w") as refused:
        check_vaccination(*args)
    assert isinstance(refused.value, VaccinationRefusedError)
    assert refused.value.field == field


def test_the_date_edge_is_checked_before_the_immunosuppression_question():
    """Too early is the first reason given, whatever the answer."""
    with pytest.raises(VaccinationRefusedError, match="before month 24"):
        check_vaccination("mmr", 1, MONTH_12, DAY_ZERO, immunosuppressed=None)


def test_first_dose_dates_are_the_plans_first_doses():
    assert first_dose_dates(DAY_ZERO) == {
        d.vaccine: d.due_date for d in vaccination_plan(DAY_ZERO, [], DAY_ZERO) if d.dose == 1
    }
    assert first_dose_dates(DAY_ZERO)["zoster_recombinant"] == date(2025, 10, 20)
