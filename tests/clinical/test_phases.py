"""Pathway phases, Day numbers and infection risk (recovery/clinical/phases.py).

The reference episode: mobilisation D-33, first apheresis D-23, conditioning from D-5, reinfusion (Day 0)
on 7 Feb 2026, neutrophil engraftment on D+11. With the default configuration early recovery ends on D+90,
recovery on D+180, reconstitution at month 24 (7 Feb 2028, which is D+730); infection risk is moderate until
D+100 and low until month 24.
"""

from datetime import UTC, date, datetime, timedelta, timezone
from itertools import product

import pytest

from recovery.clinical.config import DEFAULT_PHASE_CONFIG, PhaseConfig
from recovery.clinical.phases import (
    HIGH_RISK_PHASES,
    PHASE_ORDER,
    PRE_TRANSPLANT_SHARE,
    EpisodeDates,
    Flag,
    InfectionRisk,
    Phase,
    PhaseState,
    add_months,
    day_number,
    local_date,
    phase_changes_on,
    phase_index,
    phase_on,
    recovery_progress,
)

DAY_ZERO = date(2026, 2, 7)
MONTH_24 = date(2028, 2, 7)  # D+730


def d(offset: int) -> date:
    """The date `offset` days from the reference Day 0 (d(-1) is the day before reinfusion)."""
    return DAY_ZERO + timedelta(days=offset)


MOBILISATION = d(-33)
APHERESIS = d(-23)
CONDITIONING = d(-5)
ENGRAFTMENT = d(11)

FULL = EpisodeDates(
    mobilisation=MOBILISATION,
    apheresis=APHERESIS,
    conditioning_start=CONDITIONING,
    reinfusion=DAY_ZERO,
    neutrophil_engraftment=ENGRAFTMENT,
)
NOT_ENGRAFTED = EpisodeDates(
    mobilisation=MOBILISATION, apheresis=APHERESIS, conditioning_start=CONDITIONING, reinfusion=DAY_ZERO
)
BOTH_FLAGS = (Flag.DELAYED_ENGRAFTMENT, Flag.POSSIBLE_GRAFT_FAILURE)

E = Phase.EVALUATION
MOB = Phase.MOBILISATION
COL = Phase.COLLECTION
CON = Phase.CONDITIONING
APL = Phase.APLASIA
EAR = Phase.EARLY_RECOVERY
REC = Phase.RECOVERY
RCN = Phase.RECONSTITUTION
FUP = Phase.FOLLOW_UP

HIGH = InfectionRisk.HIGH
MODERATE = InfectionRisk.MODERATE
LOW = InfectionRisk.LOW
BASELINE = InfectionRisk.BASELINE


# --- the public vocabulary -------------------------------------------------------------------------------


def test_phase_order_matches_the_api_values_in_pathway_order():
    """PHASE_ORDER lists the nine API phase values in pathway order, and phase_index is the position."""
    expected = [
        "evaluation",
        "mobilisation",
        "collection",
        "conditioning",
        "aplasia",
        "early_recovery",
        "recovery",
        "reconstitution",
        "follow_up",
    ]
    assert list(PHASE_ORDER) == expected
    assert [phase_index(phase) for phase in PHASE_ORDER] == list(range(len(expected)))


def test_risk_and_flag_values_match_the_api():
    """Infection risk and flag values are the strings the API publishes."""
    assert [risk.value for risk in InfectionRisk] == ["high", "moderate", "low", "baseline"]
    assert [flag.value for flag in Flag] == ["delayed_engraftment", "possible_graft_failure"]


# --- day numbers -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reinfusion", "on", "expected"),
    [
        pytest.param(None, date(2026, 2, 7), None, id="no_reinfusion_date_is_none"),
        pytest.param(DAY_ZERO, DAY_ZERO, 0, id="day_zero_is_0"),
        pytest.param(DAY_ZERO, date(2026, 2, 6), -1, id="day_before_is_minus_1"),
        pytest.param(DAY_ZERO, date(2026, 2, 8), 1, id="day_after_is_1"),
        pytest.param(DAY_ZERO, date(2026, 2, 2), -5, id="conditioning_start_is_minus_5"),
        pytest.param(date(2026, 12, 31), date(2027, 1, 1), 1, id="across_new_year"),
        pytest.param(date(2028, 2, 28), date(2028, 3, 1), 2, id="across_leap_day"),
        pytest.param(DAY_ZERO, MONTH_24, 730, id="month_24_is_730"),
    ],
)
def test_day_number_counts_days_from_day_zero(reinfusion, on, expected):
    """Day 0 is the reinfusion date, the day before is -1, and there is no day number without Day 0."""
    assert day_number(reinfusion, on) == expected


# --- add_months --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        pytest.param(date(2026, 1, 15), 1, date(2026, 2, 15), id="mid_month"),
        pytest.param(date(2026, 1, 31), 1, date(2026, 2, 28), id="31_jan_plus_1_clamps_to_28_feb"),
        pytest.param(date(2028, 1, 31), 1, date(2028, 2, 29), id="31_jan_plus_1_in_leap_year_is_29_feb"),
        pytest.param(date(2028, 2, 29), 12, date(2029, 2, 28), id="29_feb_plus_12_clamps_to_28_feb"),
        pytest.param(date(2028, 2, 29), 48, date(2032, 2, 29), id="29_feb_plus_48_is_29_feb"),
        pytest.param(date(2026, 3, 31), 1, date(2026, 4, 30), id="31_mar_plus_1_clamps_to_30_apr"),
        pytest.param(date(2026, 11, 15), 3, date(2027, 2, 15), id="across_year_end"),
        pytest.param(date(2026, 12, 31), 1, date(2027, 1, 31), id="december_to_january"),
        pytest.param(date(2026, 2, 7), 24, date(2028, 2, 7), id="24_months"),
        pytest.param(date(2026, 2, 7), 0, date(2026, 2, 7), id="zero_months"),
        pytest.param(date(2028, 3, 31), -1, date(2028, 2, 29), id="negative_clamps_too"),
        pytest.param(date(2026, 1, 10), -1, date(2025, 12, 10), id="negative_across_year_start"),
    ],
)
def test_add_months_moves_calendar_months_and_clamps_the_day(start, months, expected):
    """add_months moves whole calendar months and clamps the day to the length of the target month."""
    assert add_months(start, months) == expected


# --- local_date --------------------------------------------------------------------------------------------


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "tz_name", "expected"),
    [
        pytest.param(utc("2026-03-10T23:30"), "Europe/Stockholm", date(2026, 3, 11), id="stockholm_ahead_of_utc"),
        pytest.param(utc("2026-03-10T23:30"), "America/New_York", date(2026, 3, 10), id="new_york_same_day"),
        pytest.param(utc("2026-03-11T03:30"), "America/New_York", date(2026, 3, 10), id="new_york_previous_day"),
        pytest.param(utc("2026-03-11T03:30"), "Europe/Stockholm", date(2026, 3, 11), id="stockholm_same_day"),
        pytest.param(utc("2026-03-10T23:30"), "UTC", date(2026, 3, 10), id="utc_zone"),
        # New York springs forward at 07:00 UTC on 8 Mar 2026: 04:30 UTC is the previous evening before the
        # change (EST, UTC-5) and 00:30 the same day after it (EDT, UTC-4).
        pytest.param(utc("2026-03-08T04:30"), "America/New_York", date(2026, 3, 7), id="ny_dst_night_before"),
        pytest.param(utc("2026-03-08T07:30"), "America/New_York", date(2026, 3, 8), id="ny_dst_night_after"),
        pytest.param(utc("2026-03-09T03:30"), "America/New_York", date(2026, 3, 8), id="ny_first_edt_evening"),
        pytest.param(utc("2026-03-09T04:30"), "America/New_York", date(2026, 3, 9), id="ny_first_edt_midnight"),
        # Stockholm springs forward at 01:00 UTC on 29 Mar 2026 and falls back at 01:00 UTC on 25 Oct 2026:
        # 22:30 UTC is 23:30 local in winter (CET) but 00:30 the next day in summer (CEST).
        pytest.param(utc("2026-03-28T22:30"), "Europe/Stockholm", date(2026, 3, 28), id="sthlm_last_cet_night"),
        pytest.param(utc("2026-03-29T22:30"), "Europe/Stockholm", date(2026, 3, 30), id="sthlm_first_cest_night"),
        pytest.param(utc("2026-10-24T22:30"), "Europe/Stockholm", date(2026, 10, 25), id="sthlm_last_cest_night"),
        pytest.param(utc("2026-10-25T22:30"), "Europe/Stockholm", date(2026, 10, 25), id="sthlm_first_cet_night"),
        # New York falls back at 06:00 UTC on 1 Nov 2026.
        pytest.param(utc("2026-11-01T04:30"), "America/New_York", date(2026, 11, 1), id="ny_fall_back_night"),
        pytest.param(utc("2026-11-02T04:30"), "America/New_York", date(2026, 11, 1), id="ny_first_est_evening"),
        pytest.param(
            datetime(2026, 3, 11, 4, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
            "America/New_York",
            date(2026, 3, 10),
            id="non_utc_aware_input",
        ),
    ],
)
def test_local_date_is_the_calendar_date_in_the_patients_zone(moment, tz_name, expected):
    """local_date gives the calendar date in the named IANA zone, which may differ from the UTC date."""
    assert local_date(moment, tz_name) == expected


def test_local_date_rejects_a_naive_datetime():
    """A naive datetime has no known instant, so local_date raises ValueError."""
    with pytest.raises(ValueError, match="aware"):
        local_date(datetime(2026, 3, 10, 23, 30), "Europe/Stockholm")


def test_local_date_rejects_an_unknown_zone():
    """An unknown zone name raises ValueError rather than a KeyError."""
    with pytest.raises(ValueError, match="Unknown time zone"):
        local_date(utc("2026-03-10T23:30"), "Mars/Olympus_Mons")


# --- phases on the reference episode -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        pytest.param(d(-34), E, id="D-34_day_before_mobilisation_is_evaluation"),
        pytest.param(d(-33), MOB, id="D-33_mobilisation_day_starts_mobilisation"),
        pytest.param(d(-32), MOB, id="D-32_day_after_mobilisation"),
        pytest.param(d(-24), MOB, id="D-24_day_before_apheresis_is_still_mobilisation"),
        pytest.param(d(-23), COL, id="D-23_first_apheresis_starts_collection"),
        pytest.param(d(-22), COL, id="D-22_day_after_apheresis"),
        pytest.param(d(-6), COL, id="D-6_day_before_conditioning_is_still_collection"),
        pytest.param(d(-5), CON, id="D-5_conditioning_start"),
        pytest.param(d(-4), CON, id="D-4_day_after_conditioning_start"),
        pytest.param(d(-1), CON, id="D-1_day_before_day_zero_is_still_conditioning"),
        pytest.param(d(0), APL, id="D0_starts_aplasia"),
        pytest.param(d(1), APL, id="D+1_day_after_day_zero"),
        pytest.param(d(10), APL, id="D+10_day_before_engraftment_is_still_aplasia"),
        pytest.param(d(11), EAR, id="D+11_engraftment_starts_early_recovery"),
        pytest.param(d(12), EAR, id="D+12_day_after_engraftment"),
        pytest.param(d(89), EAR, id="D+89_day_before_early_recovery_end"),
        pytest.param(d(90), REC, id="D+90_starts_recovery"),
        pytest.param(d(91), REC, id="D+91_day_after"),
        pytest.param(d(179), REC, id="D+179_day_before_recovery_end"),
        pytest.param(d(180), RCN, id="D+180_starts_reconstitution"),
        pytest.param(d(181), RCN, id="D+181_day_after"),
        pytest.param(d(729), RCN, id="M24_minus_1_is_still_reconstitution"),
        pytest.param(MONTH_24, FUP, id="M24_starts_follow_up"),
        pytest.param(d(731), FUP, id="M24_plus_1_is_follow_up"),
        pytest.param(d(3650), FUP, id="ten_years_on_is_still_follow_up"),
    ],
)
def test_each_milestone_starts_its_phase_on_its_own_date(today, expected):
    """Each phase begins on its milestone's own date (inclusive); the day before is still the previous phase."""
    assert phase_on(FULL, today).phase == expected


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        pytest.param(d(-34), BASELINE, id="D-34_before_mobilisation"),
        pytest.param(d(-6), BASELINE, id="D-6_day_before_conditioning"),
        pytest.param(d(-5), HIGH, id="D-5_conditioning_start"),
        pytest.param(d(-4), HIGH, id="D-4_day_after_conditioning_start"),
        pytest.param(d(-1), HIGH, id="D-1"),
        pytest.param(d(0), HIGH, id="D0"),
        pytest.param(d(1), HIGH, id="D+1"),
        pytest.param(d(10), HIGH, id="D+10_day_before_engraftment"),
        pytest.param(d(11), MODERATE, id="D+11_engraftment_day"),
        pytest.param(d(12), MODERATE, id="D+12_day_after_engraftment"),
        pytest.param(d(90), MODERATE, id="D+90_recovery_phase_but_still_moderate"),
        pytest.param(d(99), MODERATE, id="D+99_day_before_moderate_end"),
        pytest.param(d(100), LOW, id="D+100_moderate_end_is_exclusive"),
        pytest.param(d(101), LOW, id="D+101_day_after"),
        pytest.param(d(180), LOW, id="D+180_reconstitution"),
        pytest.param(d(729), LOW, id="M24_minus_1"),
        pytest.param(MONTH_24, BASELINE, id="M24_low_end_is_exclusive"),
        pytest.param(d(731), BASELINE, id="M24_plus_1"),
    ],
)
def test_infection_risk_switches_on_its_configured_days(today, expected):
    """Risk is high from conditioning through aplasia, moderate to D+100, low to M24, baseline otherwise."""
    assert phase_on(FULL, today).infection_risk == expected


@pytest.mark.parametrize(
    ("today", "started", "ends"),
    [
        pytest.param(d(-40), None, MOBILISATION, id="evaluation_ends_at_mobilisation"),
        pytest.param(d(-30), MOBILISATION, APHERESIS, id="mobilisation_ends_at_apheresis"),
        pytest.param(d(-10), APHERESIS, CONDITIONING, id="collection_ends_at_conditioning"),
        pytest.param(d(-2), CONDITIONING, DAY_ZERO, id="conditioning_ends_at_day_zero"),
        pytest.param(d(5), DAY_ZERO, ENGRAFTMENT, id="aplasia_ends_at_recorded_future_engraftment"),
        pytest.param(d(50), ENGRAFTMENT, d(90), id="early_recovery_ends_at_D+90"),
        pytest.param(d(150), d(90), d(180), id="recovery_ends_at_D+180"),
        pytest.param(d(400), d(180), MONTH_24, id="reconstitution_ends_at_M24"),
        pytest.param(d(1000), MONTH_24, None, id="follow_up_never_ends"),
    ],
)
def test_phase_started_and_phase_ends_are_the_bounding_milestones(today, started, ends):
    """phase_started is the current phase's first day and phase_ends the first day of the next phase."""
    state = phase_on(FULL, today)
    assert (state.phase_started, state.phase_ends) == (started, ends)


def test_day_zero_starts_aplasia():
    """On Day 0 the episode is in aplasia, day 0, high risk, no flags, and the end waits for engraftment."""
    assert phase_on(NOT_ENGRAFTED, DAY_ZERO) == PhaseState(
        phase=APL, day=0, infection_risk=HIGH, flags=(), phase_started=DAY_ZERO, phase_ends=None
    )


def test_day_before_day_zero_is_day_minus_one_in_conditioning():
    """The day before reinfusion is day -1, still conditioning at high risk, ending on Day 0."""
    assert phase_on(FULL, d(-1)) == PhaseState(
        phase=CON, day=-1, infection_risk=HIGH, flags=(), phase_started=CONDITIONING, phase_ends=DAY_ZERO
    )


def test_a_typical_early_recovery_day_has_the_whole_state():
    """On D+50 after engraftment on D+11: early recovery, moderate risk, no flags, ending on D+90."""
    assert phase_on(FULL, d(50)) == PhaseState(
        phase=EAR, day=50, infection_risk=MODERATE, flags=(), phase_started=ENGRAFTMENT, phase_ends=d(90)
    )


# --- missing dates -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dates", "today", "expected"),
    [
        pytest.param(
            EpisodeDates(),
            d(0),
            PhaseState(E, None, BASELINE, (), None, None),
            id="no_dates_at_all_is_evaluation",
        ),
        pytest.param(
            EpisodeDates(mobilisation=MOBILISATION),
            d(-34),
            PhaseState(E, None, BASELINE, (), None, MOBILISATION),
            id="future_mobilisation_only_ends_evaluation",
        ),
        pytest.param(
            EpisodeDates(mobilisation=MOBILISATION),
            d(100),
            PhaseState(MOB, None, BASELINE, (), MOBILISATION, None),
            id="mobilisation_only_stays_in_mobilisation",
        ),
        pytest.param(
            EpisodeDates(mobilisation=MOBILISATION, conditioning_start=CONDITIONING),
            d(-10),
            PhaseState(MOB, None, BASELINE, (), MOBILISATION, CONDITIONING),
            id="no_apheresis_mobilisation_ends_at_conditioning",
        ),
        pytest.param(
            EpisodeDates(mobilisation=MOBILISATION, conditioning_start=CONDITIONING),
            CONDITIONING,
            PhaseState(CON, None, HIGH, (), CONDITIONING, None),
            id="no_apheresis_conditioning_still_starts",
        ),
        pytest.param(
            EpisodeDates(apheresis=APHERESIS),
            APHERESIS,
            PhaseState(COL, None, BASELINE, (), APHERESIS, None),
            id="apheresis_without_mobilisation_is_collection",
        ),
        pytest.param(
            EpisodeDates(reinfusion=DAY_ZERO),
            d(-1),
            PhaseState(E, -1, BASELINE, (), None, DAY_ZERO),
            id="reinfusion_only_before_day_zero_is_evaluation",
        ),
        pytest.param(
            EpisodeDates(reinfusion=DAY_ZERO),
            DAY_ZERO,
            PhaseState(APL, 0, HIGH, (), DAY_ZERO, None),
            id="reinfusion_only_day_zero_is_aplasia",
        ),
        pytest.param(
            EpisodeDates(mobilisation=MOBILISATION, apheresis=APHERESIS, reinfusion=DAY_ZERO),
            d(-3),
            PhaseState(COL, -3, BASELINE, (), APHERESIS, DAY_ZERO),
            id="no_conditioning_date_stays_collection_at_baseline_risk",
        ),
        pytest.param(
            EpisodeDates(reinfusion=DAY_ZERO, neutrophil_engraftment=ENGRAFTMENT),
            ENGRAFTMENT,
            PhaseState(EAR, 11, MODERATE, (), ENGRAFTMENT, d(90)),
            id="no_pre_transplant_dates_engraftment_still_counts",
        ),
        pytest.param(
            EpisodeDates(
                mobilisation=MOBILISATION,
                apheresis=APHERESIS,
                conditioning_start=CONDITIONING,
                neutrophil_engraftment=ENGRAFTMENT,
            ),
            d(20),
            PhaseState(CON, None, HIGH, (), CONDITIONING, None),
            id="engraftment_without_day_zero_is_ignored",
        ),
        pytest.param(
            EpisodeDates(mobilisation=MOBILISATION, apheresis=APHERESIS, conditioning_start=CONDITIONING),
            d(400),
            PhaseState(CON, None, HIGH, (), CONDITIONING, None),
            id="no_reinfusion_date_stays_in_conditioning",
        ),
        pytest.param(
            NOT_ENGRAFTED,
            d(95),
            PhaseState(APL, 95, HIGH, BOTH_FLAGS, DAY_ZERO, None),
            id="no_engraftment_stays_in_aplasia_past_D+90",
        ),
        pytest.param(
            NOT_ENGRAFTED,
            d(800),
            PhaseState(APL, 800, HIGH, BOTH_FLAGS, DAY_ZERO, None),
            id="no_engraftment_stays_in_aplasia_past_M24",
        ),
        pytest.param(
            EpisodeDates(reinfusion=DAY_ZERO, neutrophil_engraftment=d(15)),
            d(14),
            PhaseState(APL, 14, HIGH, (), DAY_ZERO, d(15)),
            id="engraftment_dated_after_today_is_not_yet_recorded",
        ),
    ],
)
def test_missing_dates_leave_their_milestones_unreached(dates, today, expected):
    """A missing date is an unreached milestone; the latest milestone reached still decides the phase."""
    assert phase_on(dates, today) == expected


# --- engraftment flags -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dates", "today", "expected"),
    [
        pytest.param(NOT_ENGRAFTED, d(-1), (), id="before_day_zero_none"),
        pytest.param(NOT_ENGRAFTED, d(0), (), id="day_zero_none"),
        pytest.param(NOT_ENGRAFTED, d(20), (), id="D+20_not_engrafted_none"),
        pytest.param(NOT_ENGRAFTED, d(21), (Flag.DELAYED_ENGRAFTMENT,), id="D+21_not_engrafted_delayed"),
        pytest.param(NOT_ENGRAFTED, d(22), (Flag.DELAYED_ENGRAFTMENT,), id="D+22_not_engrafted_delayed"),
        pytest.param(NOT_ENGRAFTED, d(29), (Flag.DELAYED_ENGRAFTMENT,), id="D+29_not_engrafted_delayed"),
        pytest.param(NOT_ENGRAFTED, d(30), BOTH_FLAGS, id="D+30_not_engrafted_both"),
        pytest.param(NOT_ENGRAFTED, d(31), BOTH_FLAGS, id="D+31_not_engrafted_both"),
        pytest.param(FULL, d(20), (), id="D+20_engrafted_none"),
        pytest.param(FULL, d(21), (), id="D+21_engrafted_none"),
        pytest.param(FULL, d(29), (), id="D+29_engrafted_none"),
        pytest.param(FULL, d(30), (), id="D+30_engrafted_none"),
        pytest.param(
            EpisodeDates(reinfusion=DAY_ZERO, neutrophil_engraftment=d(25)),
            d(24),
            (Flag.DELAYED_ENGRAFTMENT,),
            id="D+24_engraftment_on_D+25_still_delayed",
        ),
        pytest.param(
            EpisodeDates(reinfusion=DAY_ZERO, neutrophil_engraftment=d(25)),
            d(25),
            (),
            id="D+25_engraftment_day_clears_flags",
        ),
        pytest.param(
            EpisodeDates(reinfusion=DAY_ZERO, neutrophil_engraftment=d(25)),
            d(30),
            (),
            id="D+30_engrafted_on_D+25_none",
        ),
    ],
)
def test_engraftment_flags_appear_only_while_engraftment_is_missing(dates, today, expected):
    """Without engraftment: delayed from D+21, also possible graft failure from D+30; none once engrafted."""
    assert phase_on(dates, today).flags == expected


# --- late engraftment --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("engraftment", "today", "expected"),
    [
        pytest.param(d(95), d(94), PhaseState(APL, 94, HIGH, BOTH_FLAGS, DAY_ZERO, d(95)), id="D+94_waiting"),
        pytest.param(d(95), d(95), PhaseState(REC, 95, MODERATE, (), d(95), d(180)), id="D+95_straight_to_recovery"),
        pytest.param(d(95), d(100), PhaseState(REC, 100, LOW, (), d(95), d(180)), id="D+100_then_low_risk"),
        pytest.param(d(89), d(89), PhaseState(EAR, 89, MODERATE, (), d(89), d(90)), id="D+89_one_day_early"),
        pytest.param(d(90), d(90), PhaseState(REC, 90, MODERATE, (), d(90), d(180)), id="D+90_same_day"),
        pytest.param(d(200), d(200), PhaseState(RCN, 200, LOW, (), d(200), MONTH_24), id="D+200_reconstitution"),
        pytest.param(d(740), d(740), PhaseState(FUP, 740, BASELINE, (), d(740), None), id="after_M24_follow_up"),
    ],
)
def test_late_engraftment_goes_straight_to_the_phase_for_that_day(engraftment, today, expected):
    """A very late engraftment moves the patient straight to the phase for that day, starting on that day."""
    dates = EpisodeDates(
        mobilisation=MOBILISATION,
        apheresis=APHERESIS,
        conditioning_start=CONDITIONING,
        reinfusion=DAY_ZERO,
        neutrophil_engraftment=engraftment,
    )
    assert phase_on(dates, today) == expected


# --- out-of-order dates ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dates", "today", "phase", "started", "ends"),
    [
        pytest.param(
            EpisodeDates(mobilisation=d(-20), apheresis=d(-30), conditioning_start=CONDITIONING, reinfusion=DAY_ZERO),
            d(-25),
            COL,
            d(-30),
            CONDITIONING,
            id="apheresis_before_mobilisation_is_collection",
        ),
        pytest.param(
            EpisodeDates(mobilisation=d(-20), apheresis=d(-30), conditioning_start=CONDITIONING, reinfusion=DAY_ZERO),
            d(-20),
            COL,
            d(-30),
            CONDITIONING,
            id="later_mobilisation_does_not_move_back",
        ),
        pytest.param(
            EpisodeDates(mobilisation=MOBILISATION, apheresis=APHERESIS, conditioning_start=d(3), reinfusion=DAY_ZERO),
            d(3),
            APL,
            DAY_ZERO,
            None,
            id="conditioning_after_day_zero_stays_aplasia",
        ),
        pytest.param(
            EpisodeDates(mobilisation=d(10), reinfusion=DAY_ZERO),
            d(10),
            APL,
            DAY_ZERO,
            None,
            id="mobilisation_after_day_zero_stays_aplasia",
        ),
        pytest.param(
            EpisodeDates(
                mobilisation=MOBILISATION,
                apheresis=APHERESIS,
                conditioning_start=CONDITIONING,
                reinfusion=DAY_ZERO,
                neutrophil_engraftment=d(-2),
            ),
            d(-2),
            CON,
            CONDITIONING,
            DAY_ZERO,
            id="engraftment_before_day_zero_ignored_until_day_zero",
        ),
        pytest.param(
            EpisodeDates(
                mobilisation=MOBILISATION,
                apheresis=APHERESIS,
                conditioning_start=CONDITIONING,
                reinfusion=DAY_ZERO,
                neutrophil_engraftment=d(-2),
            ),
            DAY_ZERO,
            EAR,
            DAY_ZERO,
            d(90),
            id="engraftment_before_day_zero_counts_from_day_zero",
        ),
        pytest.param(
            EpisodeDates(
                mobilisation=d(40),
                apheresis=d(30),
                conditioning_start=d(20),
                reinfusion=d(0),
                neutrophil_engraftment=d(-10),
            ),
            d(40),
            EAR,
            DAY_ZERO,
            d(90),
            id="everything_reversed",
        ),
        pytest.param(
            EpisodeDates(
                mobilisation=DAY_ZERO,
                apheresis=DAY_ZERO,
                conditioning_start=DAY_ZERO,
                reinfusion=DAY_ZERO,
                neutrophil_engraftment=DAY_ZERO,
            ),
            DAY_ZERO,
            EAR,
            DAY_ZERO,
            d(90),
            id="all_on_one_day_latest_wins",
        ),
        pytest.param(
            EpisodeDates(mobilisation=DAY_ZERO, apheresis=DAY_ZERO, conditioning_start=DAY_ZERO),
            d(-1),
            E,
            None,
            DAY_ZERO,
            id="tied_future_milestones_end_evaluation_once",
        ),
    ],
)
def test_out_of_order_dates_do_not_crash_and_the_latest_milestone_reached_wins(dates, today, phase, started, ends):
    """Out-of-order dates are not reordered: the latest phase whose milestone is reached wins, without error."""
    state = phase_on(dates, today)
    assert (state.phase, state.phase_started, state.phase_ends) == (phase, started, ends)


# A configuration with short spans, so that a few weeks cover every phase, flag and risk level.
SHORT = PhaseConfig(
    delayed_engraftment_day=2,
    possible_graft_failure_day=4,
    early_recovery_end_day=6,
    recovery_end_day=9,
    reconstitution_end_months=1,
    moderate_risk_end_day=7,
    low_risk_end_months=1,
)
GRID_BASE = date(2026, 1, 1)
GRID_DAYS = [GRID_BASE + timedelta(days=offset) for offset in range(-12, 50)]


def grid_dates(offsets):
    return None if offsets is None else GRID_BASE + timedelta(days=offsets)


def test_no_combination_of_dates_crashes_or_moves_backwards():
    """For every combination of missing and out-of-order dates, the state is consistent and never goes back."""
    choices = [
        (None, -8, -3, 2),  # mobilisation
        (None, -6, -1, 4),  # apheresis
        (None, -4, 0, 5),  # conditioning start
        (None, -2, 1, 3),  # reinfusion
        (None, -3, 2, 12),  # neutrophil engraftment
    ]
    for offsets in product(*choices):
        dates = EpisodeDates(*(grid_dates(offset) for offset in offsets))
        states = {today: phase_on(dates, today, SHORT) for today in GRID_DAYS}
        progress = [recovery_progress(dates, today, SHORT) for today in GRID_DAYS]
        indices = [phase_index(states[today].phase) for today in GRID_DAYS]
        assert indices == sorted(indices), dates
        assert progress == sorted(progress), dates
        assert all(0.0 <= value <= 1.0 for value in progress), dates
        for today, state in states.items():
            assert (state.day is None) == (dates.reinfusion is None), (dates, today)
            assert (state.infection_risk is HIGH) == (state.phase in (CON, APL)), (dates, today)
            assert not state.flags or state.phase is APL, (dates, today)
            if state.phase_started is None:
                assert state.phase is E, (dates, today)
            else:
                assert state.phase_started <= today, (dates, today)
                assert states[state.phase_started].phase == state.phase, (dates, today)
                before = state.phase_started - timedelta(days=1)
                if before in states:
                    assert states[before].phase != state.phase, (dates, today)
            if state.phase_ends is not None:
                assert state.phase_ends > today, (dates, today)
                if state.phase_ends in states:
                    assert states[state.phase_ends].phase != state.phase, (dates, today)
                    assert states[state.phase_ends - timedelta(days=1)].phase == state.phase, (dates, today)


# --- configuration -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "dates", "today", "field", "default_value", "custom_value"),
    [
        pytest.param(
            {"delayed_engraftment_day": 14},
            NOT_ENGRAFTED,
            d(14),
            "flags",
            (),
            (Flag.DELAYED_ENGRAFTMENT,),
            id="delayed_engraftment_day",
        ),
        pytest.param(
            {"possible_graft_failure_day": 25},
            NOT_ENGRAFTED,
            d(25),
            "flags",
            (Flag.DELAYED_ENGRAFTMENT,),
            BOTH_FLAGS,
            id="possible_graft_failure_day",
        ),
        pytest.param({"early_recovery_end_day": 60}, FULL, d(60), "phase", EAR, REC, id="early_recovery_end_day"),
        pytest.param({"recovery_end_day": 120}, FULL, d(120), "phase", REC, RCN, id="recovery_end_day"),
        pytest.param(
            {"reconstitution_end_months": 12}, FULL, date(2027, 2, 7), "phase", RCN, FUP, id="reconstitution_end_months"
        ),
        pytest.param({"moderate_risk_end_day": 50}, FULL, d(50), "infection_risk", MODERATE, LOW, id="moderate_end"),
        pytest.param(
            {"low_risk_end_months": 12}, FULL, date(2027, 2, 7), "infection_risk", LOW, BASELINE, id="low_risk_end"
        ),
    ],
)
def test_a_custom_config_moves_each_boundary(overrides, dates, today, field, default_value, custom_value):
    """Every boundary comes from PhaseConfig: overriding one field changes the result on that day."""
    config = DEFAULT_PHASE_CONFIG.with_overrides(overrides)
    assert getattr(phase_on(dates, today), field) == default_value
    assert getattr(phase_on(dates, today, config), field) == custom_value
    assert getattr(phase_on(dates, today - timedelta(days=1), config), field) == default_value


def test_a_custom_config_moves_phase_ends():
    """phase_ends follows the configured boundary, not a fixed day."""
    config = PhaseConfig(early_recovery_end_day=60, recovery_end_day=120, reconstitution_end_months=36)
    assert phase_on(FULL, d(20), config).phase_ends == d(60)
    assert phase_on(FULL, d(100), config).phase_ends == d(120)
    assert phase_on(FULL, d(200), config).phase_ends == date(2029, 2, 7)


# --- recovery progress -------------------------------------------------------------------------------------

S = PRE_TRANSPLANT_SHARE


@pytest.mark.parametrize(
    ("dates", "today", "expected"),
    [
        pytest.param(EpisodeDates(), d(0), 0.0, id="no_dates_is_zero"),
        pytest.param(FULL, d(-34), 0.0, id="before_mobilisation_is_zero"),
        pytest.param(FULL, MOBILISATION, 0.0, id="mobilisation_day_is_zero"),
        pytest.param(FULL, d(-28), S * 0.5 / 3, id="halfway_mobilisation_to_apheresis"),
        pytest.param(FULL, APHERESIS, S / 3, id="apheresis_is_one_third_of_share"),
        pytest.param(FULL, CONDITIONING, S * 2 / 3, id="conditioning_is_two_thirds_of_share"),
        pytest.param(FULL, d(-1), S * (2 + 4 / 5) / 3, id="day_before_day_zero"),
        pytest.param(FULL, DAY_ZERO, S, id="day_zero_is_the_share"),
        pytest.param(FULL, d(365), S + (1 - S) * 365 / 730, id="halfway_through_two_years"),
        pytest.param(FULL, MONTH_24, 1.0, id="month_24_is_complete"),
        pytest.param(FULL, d(3650), 1.0, id="capped_at_one"),
        pytest.param(EpisodeDates(mobilisation=MOBILISATION), d(0), 0.0, id="mobilisation_only_stays_at_zero"),
        pytest.param(
            EpisodeDates(mobilisation=MOBILISATION, apheresis=APHERESIS),
            d(0),
            S / 3,
            id="collection_without_later_dates_stays_at_step",
        ),
        pytest.param(
            EpisodeDates(mobilisation=MOBILISATION, reinfusion=DAY_ZERO),
            d(-3),
            S * 30 / 33,
            id="no_apheresis_or_conditioning_interpolates_to_day_zero",
        ),
        pytest.param(EpisodeDates(reinfusion=DAY_ZERO), d(-1), 0.0, id="reinfusion_only_before_is_zero"),
        pytest.param(NOT_ENGRAFTED, d(73), S + (1 - S) * 73 / 730, id="counts_time_even_without_engraftment"),
    ],
)
def test_recovery_progress_follows_the_documented_formula(dates, today, expected):
    """Progress is a tenth split over the pre-transplant steps, then linear from Day 0 to month 24."""
    assert recovery_progress(dates, today) == pytest.approx(expected)


def test_recovery_progress_never_decreases_over_a_whole_pathway():
    """Day by day from before mobilisation to past month 24, progress stays in [0, 1] and never decreases."""
    days = [d(offset) for offset in range(-60, 800)]
    values = [recovery_progress(FULL, today) for today in days]
    assert values == sorted(values)
    assert values[0] == 0.0
    assert values[-1] == 1.0
    assert all(0.0 <= value <= 1.0 for value in values)


def test_recovery_progress_uses_the_configured_reconstitution_end():
    """With reconstitution ending at month 12, progress is complete a year earlier."""
    config = PhaseConfig(reconstitution_end_months=12)
    assert recovery_progress(FULL, date(2027, 2, 7), config) == 1.0
    assert recovery_progress(FULL, date(2027, 2, 7)) < 1.0


# --- the date the phase (or its flags) next changes -----------------------------------------------------------


@pytest.mark.parametrize(
    ("dates", "today", "expected"),
    [
        pytest.param(EpisodeDates(), d(0), None, id="no_dates_evaluation_never_changes"),
        pytest.param(FULL, d(-40), MOBILISATION, id="evaluation_until_mobilisation"),
        pytest.param(FULL, d(-33), APHERESIS, id="mobilisation_day_until_apheresis"),
        pytest.param(FULL, d(-10), CONDITIONING, id="collection_until_conditioning"),
        pytest.param(FULL, d(-1), DAY_ZERO, id="conditioning_until_day_zero"),
        pytest.param(FULL, d(0), ENGRAFTMENT, id="aplasia_until_engraftment_before_any_flag"),
        pytest.param(FULL, d(11), d(90), id="early_recovery_until_d90"),
        pytest.param(FULL, d(90), d(180), id="recovery_until_d180"),
        pytest.param(FULL, d(200), MONTH_24, id="reconstitution_until_month_24"),
        pytest.param(FULL, MONTH_24, None, id="follow_up_never_changes"),
        pytest.param(NOT_ENGRAFTED, d(0), d(21), id="not_engrafted_until_the_delayed_engraftment_flag"),
        pytest.param(NOT_ENGRAFTED, d(21), d(30), id="delayed_until_the_graft_failure_flag"),
        pytest.param(NOT_ENGRAFTED, d(30), None, id="both_flags_raised_nothing_more_without_engraftment"),
        pytest.param(
            EpisodeDates(reinfusion=DAY_ZERO, neutrophil_engraftment=d(25)),
            d(22),
            d(25),
            id="flagged_until_the_recorded_engraftment",
        ),
        pytest.param(
            EpisodeDates(reinfusion=DAY_ZERO, neutrophil_engraftment=d(95)),
            d(30),
            d(95),
            id="late_engraftment_jumps_to_recovery",
        ),
        pytest.param(
            EpisodeDates(conditioning_start=d(3), reinfusion=DAY_ZERO),
            d(-1),
            DAY_ZERO,
            id="conditioning_after_day_zero_is_ignored",
        ),
        pytest.param(
            EpisodeDates(apheresis=APHERESIS, reinfusion=DAY_ZERO),
            d(-30),
            APHERESIS,
            id="missing_mobilisation_evaluation_until_apheresis",
        ),
    ],
)
def test_phase_changes_on_is_the_next_milestone_or_flag_date(dates, today, expected):
    """The next date on which the phase or the engraftment flags change; None when no known date changes them."""
    assert phase_changes_on(dates, today) == expected


def test_phase_changes_on_uses_the_configured_flag_days():
    """With delayed engraftment from D+15, the flags change on D+15."""
    config = PhaseConfig(delayed_engraftment_day=15)
    assert phase_changes_on(NOT_ENGRAFTED, d(3), config) == d(15)


@pytest.mark.parametrize(
    "dates",
    [FULL, NOT_ENGRAFTED, EpisodeDates(reinfusion=DAY_ZERO, neutrophil_engraftment=d(95)), EpisodeDates()],
    ids=["full", "not_engrafted", "late_engraftment", "no_dates"],
)
def test_phase_and_flags_hold_until_phase_changes_on_and_change_on_it(dates):
    """Day by day from D-60 to D+800: the phase and flags on the day before the returned date are today's (both
    only move forward, so they hold in between), and differ on it; with None they are the same on D+800."""
    for offset in range(-60, 800):
        today = d(offset)
        state = (phase_on(dates, today).phase, phase_on(dates, today).flags)
        changes = phase_changes_on(dates, today)
        last = d(800) if changes is None else changes - timedelta(days=1)
        assert (phase_on(dates, last).phase, phase_on(dates, last).flags) == state, today
        if changes is not None:
            assert changes > today
            assert (phase_on(dates, changes).phase, phase_on(dates, changes).flags) != state, today


def test_high_risk_phases_are_exactly_the_phases_with_high_infection_risk():
    """HIGH_RISK_PHASES (the dashboard's filter) matches phase_on's infection risk on every day of a pathway."""
    for offset in range(-60, 800):
        state = phase_on(FULL, d(offset))
        assert (state.phase in HIGH_RISK_PHASES) == (state.infection_risk == InfectionRisk.HIGH)
