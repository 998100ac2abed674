"""Reminder slots, DST, quiet hours and escalation steps (recovery/clinical/reminders.py).

The reference episode: Day 0 on Monday 5 Jan 2026, so every D+7k is a Monday; D+100 is a Wednesday and
D+182 a Monday. Times are checked as local wall times in the patient's zone and as UTC instants.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from recovery.clinical.config import (
    DEFAULT_REMINDER_CONFIG,
    AlertConfig,
    ReminderConfig,
)
from recovery.clinical.phases import EpisodeDates
from recovery.clinical.reminders import (
    OPEN_END,
    SAFETY_CRITICAL_KINDS,
    ReminderKind,
    Slot,
    Window,
    alert_escalation_steps,
    answers_reminder,
    apply_quiet_hours,
    appointment_slots,
    checkin_slots,
    high_risk_window,
    missed_checkin_steps,
    missed_checkins,
    to_utc,
)
from recovery.clinical.timeline import EventKind

DAY_ZERO = date(2026, 1, 5)  # a Monday
STOCKHOLM = "Europe/Stockholm"
NEW_YORK = "America/New_York"

TEMP = ReminderKind.TEMPERATURE_CHECKIN
RED = ReminderKind.RED_FLAG_CHECKIN
CHECKIN = ReminderKind.CHECKIN
EVE = ReminderKind.APPOINTMENT_EVE
MORNING = ReminderKind.APPOINTMENT_MORNING

HIGH_RISK_DAY = [(RED, "08:00"), (TEMP, "08:00"), (TEMP, "20:00")]
CHECKIN_DAY = [(CHECKIN, "09:00")]


def d(offset: int) -> date:
    """The date `offset` days from the reference Day 0."""
    return DAY_ZERO + timedelta(days=offset)


def at(text: str) -> datetime:
    """An aware datetime from ISO text; without an offset it is UTC."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def wall(slots: list[Slot], tz_name: str) -> list[tuple[ReminderKind, str]]:
    """Each slot's kind and local wall time (HH:MM) in `tz_name`."""
    zone = ZoneInfo(tz_name)
    return [(slot.kind, slot.due_at.astimezone(zone).strftime("%H:%M")) for slot in slots]


def episode(engraftment: date | None, day0: date = DAY_ZERO) -> EpisodeDates:
    return EpisodeDates(
        conditioning_start=day0 - timedelta(days=5), reinfusion=day0, neutrophil_engraftment=engraftment
    )


# --- the high-infection-risk window ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day0", "engraftment", "expected"),
    [
        (DAY_ZERO, d(10), Window(DAY_ZERO, d(30))),
        (DAY_ZERO, d(16), Window(DAY_ZERO, d(30))),
        (DAY_ZERO, d(20), Window(DAY_ZERO, d(34))),
        (DAY_ZERO, d(95), Window(DAY_ZERO, d(109))),
        (DAY_ZERO, None, Window(DAY_ZERO, OPEN_END)),
        (DAY_ZERO, d(-2), Window(DAY_ZERO, d(30))),
        (None, d(10), None),
        (None, None, None),
    ],
    ids=[
        "early-engraftment-d30",
        "engraftment-d16-tie",
        "late-engraftment-plus-14",
        "very-late-engraftment",
        "not-engrafted-open",
        "engraftment-before-day0",
        "no-day0",
        "no-dates",
    ],
)
def test_high_risk_window(day0, engraftment, expected):
    """Day 0 to D+30, or engraftment + 14 days if later; open until engraftment; none without Day 0."""
    assert high_risk_window(day0, engraftment, DEFAULT_REMINDER_CONFIG) == expected


@pytest.mark.parametrize(
    ("day", "inside"),
    [(d(-1), False), (d(0), True), (d(30), True), (d(31), False)],
    ids=["day-before", "day0", "last-day", "day-after"],
)
def test_window_bounds_are_inclusive(day, inside):
    """Both ends of a window are in it."""
    window = high_risk_window(DAY_ZERO, d(10), DEFAULT_REMINDER_CONFIG)
    assert (day in window) is inside
    assert not window.is_open


# --- check-in slots per phase -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("engraftment", "offset", "expected"),
    [
        (d(10), -1, []),
        (d(10), 0, HIGH_RISK_DAY),
        (d(10), 15, HIGH_RISK_DAY),
        (d(10), 30, HIGH_RISK_DAY),
        (d(10), 31, []),  # Thursday
        (d(10), 32, CHECKIN_DAY),  # Friday
        (d(10), 35, CHECKIN_DAY),  # Monday
        (d(10), 36, []),  # Tuesday
        (d(10), 37, CHECKIN_DAY),  # Wednesday
        (d(10), 98, CHECKIN_DAY),  # Monday inside the D+90-100 overlap: still three a week
        (d(10), 100, CHECKIN_DAY),  # Wednesday, the last three-a-week day
        (d(10), 102, []),  # Friday: weekly now
        (d(10), 105, CHECKIN_DAY),  # Monday: weekly
        (d(10), 175, CHECKIN_DAY),  # Monday: the last weekly one
        (d(10), 182, []),  # Monday after D+180: none
        (d(20), 34, HIGH_RISK_DAY),  # late engraftment: engraftment + 14
        (d(20), 35, CHECKIN_DAY),
        (d(95), 105, HIGH_RISK_DAY),  # very late engraftment outlasts D+100
        (d(95), 109, HIGH_RISK_DAY),
        (d(95), 110, []),  # Saturday
        (d(95), 112, CHECKIN_DAY),  # Monday: weekly
        (None, 60, HIGH_RISK_DAY),  # not engrafted: still high risk
        (None, 200, HIGH_RISK_DAY),
    ],
    ids=[
        "before-day0",
        "day0",
        "d15",
        "d30-last-window-day",
        "d31-thursday-none",
        "d32-friday",
        "d35-monday",
        "d36-tuesday-none",
        "d37-wednesday",
        "d98-overlap-three-a-week",
        "d100-last-three-a-week",
        "d102-friday-weekly-only",
        "d105-monday-weekly",
        "d175-last-weekly",
        "d182-after-six-months-none",
        "late-engraftment-window-end",
        "late-engraftment-after-window",
        "very-late-engraftment-d105",
        "very-late-engraftment-window-end",
        "very-late-engraftment-saturday",
        "very-late-engraftment-weekly",
        "not-engrafted-d60",
        "not-engrafted-d200",
    ],
)
def test_slots_per_phase(engraftment, offset, expected):
    """Twice-daily temperature and a red flag in the window, three a week to D+100, weekly to D+180, then none."""
    slots = checkin_slots(episode(engraftment), d(offset), d(offset), STOCKHOLM, DEFAULT_REMINDER_CONFIG)
    assert wall(slots, STOCKHOLM) == expected
    assert all(slot.local_date == d(offset) for slot in slots)


@pytest.mark.parametrize(
    "dates",
    [EpisodeDates(), EpisodeDates(neutrophil_engraftment=d(10)), EpisodeDates(conditioning_start=d(-5))],
    ids=["no-dates", "engraftment-only", "conditioning-only"],
)
def test_no_slots_without_day0(dates):
    """Without a reinfusion date there is no post-transplant clock and no check-in reminders."""
    assert checkin_slots(dates, d(-30), d(200), STOCKHOLM, DEFAULT_REMINDER_CONFIG) == []


def test_reversed_range_is_empty():
    """A range that ends before it starts has no slots."""
    assert checkin_slots(episode(d(10)), d(20), d(10), STOCKHOLM, DEFAULT_REMINDER_CONFIG) == []


def test_weekly_counts_over_whole_course():
    """Over the whole course: 31 window days x 3, then 30 three-a-week days, then 11 Mondays; nothing later."""
    slots = checkin_slots(episode(d(10)), d(-30), d(400), STOCKHOLM, DEFAULT_REMINDER_CONFIG)
    by_kind = {kind: sum(1 for slot in slots if slot.kind == kind) for kind in ReminderKind}
    # D+31..D+100 has 10 weeks of Mon/Wed/Fri; D+101..D+180 has the Mondays D+105..D+175 (11)
    assert by_kind == {TEMP: 62, RED: 31, CHECKIN: 30 + 11, EVE: 0, MORNING: 0}
    assert max(slot.local_date for slot in slots) == d(175)


# --- a week across each DST change -----------------------------------------------------------------------------


DST_CHANGES = [
    (STOCKHOLM, date(2026, 3, 29), timedelta(hours=1), timedelta(hours=2)),
    (STOCKHOLM, date(2026, 10, 25), timedelta(hours=2), timedelta(hours=1)),
    (NEW_YORK, date(2026, 3, 8), timedelta(hours=-5), timedelta(hours=-4)),
    (NEW_YORK, date(2026, 11, 1), timedelta(hours=-4), timedelta(hours=-5)),
]
DST_IDS = ["stockholm-spring", "stockholm-autumn", "new-york-spring", "new-york-autumn"]


@pytest.mark.parametrize(("tz_name", "change", "before", "after"), DST_CHANGES, ids=DST_IDS)
def test_high_risk_week_across_dst(tz_name, change, before, after):
    """A week of twice-daily reminders across a clock change: one per slot, right wall time, right offset."""
    dates = episode(None, day0=change - timedelta(days=10))
    slots = checkin_slots(
        dates, change - timedelta(days=3), change + timedelta(days=3), tz_name, DEFAULT_REMINDER_CONFIG
    )
    assert len(slots) == 7 * 3
    assert len({slot.key for slot in slots}) == len(slots)
    zone = ZoneInfo(tz_name)
    for offset in range(-3, 4):
        day = change + timedelta(days=offset)
        today = [slot for slot in slots if slot.local_date == day]
        assert wall(today, tz_name) == HIGH_RISK_DAY
        for slot in today:
            local = slot.due_at.astimezone(zone)
            assert slot.due_at.utcoffset() == timedelta(0)
            assert local.date() == day
            assert local.utcoffset() == (before if day < change else after)
            assert slot.key == f"{slot.kind}:{day.isoformat()}T{local:%H:%M}"


@pytest.mark.parametrize(("tz_name", "change", "before", "after"), DST_CHANGES, ids=DST_IDS)
def test_three_a_week_across_dst(tz_name, change, before, after):
    """Three-a-week check-ins stay at 09:00 local across a clock change (Mon, Wed, Fri only)."""
    dates = episode(change - timedelta(days=50), day0=change - timedelta(days=60))
    slots = checkin_slots(
        dates, change - timedelta(days=3), change + timedelta(days=3), tz_name, DEFAULT_REMINDER_CONFIG
    )
    assert wall(slots, tz_name) == CHECKIN_DAY * 3  # any 7 consecutive days hold one Mon, Wed and Fri
    zone = ZoneInfo(tz_name)
    for slot in slots:
        assert slot.local_date.weekday() in (0, 2, 4)
        assert slot.due_at.astimezone(zone).utcoffset() == (before if slot.local_date < change else after)


@pytest.mark.parametrize(
    ("tz_name", "day", "local_time", "expected_utc"),
    [
        (STOCKHOLM, date(2026, 11, 20), time(8, 0), "2026-11-20 07:00"),
        (STOCKHOLM, date(2026, 6, 20), time(8, 0), "2026-06-20 06:00"),
        (STOCKHOLM, date(2026, 3, 29), time(1, 59), "2026-03-29 00:59"),
        (STOCKHOLM, date(2026, 3, 29), time(2, 0), "2026-03-29 01:00"),
        (STOCKHOLM, date(2026, 3, 29), time(2, 30), "2026-03-29 01:00"),
        (STOCKHOLM, date(2026, 3, 29), time(3, 0), "2026-03-29 01:00"),
        (STOCKHOLM, date(2026, 3, 29), time(8, 0), "2026-03-29 06:00"),
        (STOCKHOLM, date(2026, 10, 25), time(2, 30), "2026-10-25 00:30"),
        (STOCKHOLM, date(2026, 10, 25), time(3, 0), "2026-10-25 02:00"),
        (STOCKHOLM, date(2026, 10, 25), time(8, 0), "2026-10-25 07:00"),
        (NEW_YORK, date(2026, 3, 8), time(2, 30), "2026-03-08 07:00"),
        (NEW_YORK, date(2026, 3, 8), time(8, 0), "2026-03-08 12:00"),
        (NEW_YORK, date(2026, 11, 1), time(1, 30), "2026-11-01 05:30"),
        (NEW_YORK, date(2026, 11, 1), time(8, 0), "2026-11-01 13:00"),
        ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 15), "2026-10-03 15:30"),
        ("UTC", date(2026, 3, 29), time(2, 30), "2026-03-29 02:30"),
    ],
    ids=[
        "stockholm-winter",
        "stockholm-summer",
        "stockholm-before-gap",
        "stockholm-gap-start",
        "stockholm-gap-middle-moves-to-0300",
        "stockholm-gap-end",
        "stockholm-spring-day-0800",
        "stockholm-ambiguous-first-occurrence",
        "stockholm-after-ambiguous-hour",
        "stockholm-autumn-day-0800",
        "new-york-gap-moves-to-0300",
        "new-york-spring-day-0800",
        "new-york-ambiguous-first-occurrence",
        "new-york-autumn-day-0800",
        "lord-howe-half-hour-gap",
        "utc-no-dst",
    ],
)
def test_to_utc(tz_name, day, local_time, expected_utc):
    """Local wall time to UTC: gap times move to the first valid minute, ambiguous ones take the first occurrence."""
    result = to_utc(day, local_time, tz_name)
    assert result == at(expected_utc)
    assert result.utcoffset() == timedelta(0)


@pytest.mark.parametrize("tz_name", ["Mars/Olympus_Mons", "", "../etc/passwd"], ids=["unknown", "empty", "path"])
def test_unknown_zone_is_refused(tz_name):
    """An unknown zone name is a ValueError, in every function that takes one."""
    with pytest.raises(ValueError, match="time zone"):
        to_utc(DAY_ZERO, time(8, 0), tz_name)
    with pytest.raises(ValueError, match="time zone"):
        checkin_slots(episode(d(10)), d(0), d(1), tz_name, DEFAULT_REMINDER_CONFIG)
    with pytest.raises(ValueError, match="time zone"):
        appointment_slots([], tz_name, DEFAULT_REMINDER_CONFIG)


@pytest.mark.parametrize(
    ("day", "configured", "expected_local", "expected_utc"),
    [
        (date(2026, 3, 29), "T02:30", "03:00+02:00", "2026-03-29 01:00"),
        (date(2026, 10, 25), "T02:30", "02:30+02:00", "2026-10-25 00:30"),
        (date(2026, 3, 28), "T02:30", "02:30+01:00", "2026-03-28 01:30"),
    ],
    ids=["spring-gap-slot-moves-forward", "autumn-ambiguous-slot-first-occurrence", "ordinary-night"],
)
def test_slot_in_dst_gap_or_overlap(day, configured, expected_local, expected_utc):
    """A temperature check-in configured at 02:30: moved to 03:00 on the spring night, first 02:30 in autumn."""
    config = ReminderConfig(temperature_times=((2, 30),), red_flag_time=(8, 0))
    slots = checkin_slots(episode(None, day0=day - timedelta(days=5)), day, day, STOCKHOLM, config)
    night = next(slot for slot in slots if slot.kind == TEMP)
    assert night.key == f"temperature_checkin:{day.isoformat()}{configured}"
    assert night.due_at == at(expected_utc)
    assert night.due_at.astimezone(ZoneInfo(STOCKHOLM)).isoformat(timespec="minutes")[11:] == expected_local


# --- keys -------------------------------------------------------------------------------------------------------


def test_key_format():
    """Keys name the kind, the local date and the configured local wall time."""
    slots = checkin_slots(episode(d(10)), d(0), d(0), STOCKHOLM, DEFAULT_REMINDER_CONFIG)
    assert [slot.key for slot in slots] == [
        "red_flag_checkin:2026-01-05T08:00",
        "temperature_checkin:2026-01-05T08:00",
        "temperature_checkin:2026-01-05T20:00",
    ]


@pytest.mark.parametrize("engraftment", [d(10), d(95), None], ids=["engrafted", "late", "not-engrafted"])
def test_keys_stable_and_unique(engraftment):
    """Calling twice gives identical slots, and every key over the whole course is unique."""
    first = checkin_slots(episode(engraftment), d(-10), d(400), STOCKHOLM, DEFAULT_REMINDER_CONFIG)
    second = checkin_slots(episode(engraftment), d(-10), d(400), STOCKHOLM, DEFAULT_REMINDER_CONFIG)
    assert first == second
    assert len({slot.key for slot in first}) == len(first)


@pytest.mark.parametrize(
    ("first_range", "second_range"),
    [((-5, 60), (40, 200)), ((0, 30), (30, 31)), ((95, 110), (100, 105))],
    ids=["window-into-weekly", "one-shared-day", "nested"],
)
def test_overlapping_ranges_give_no_duplicates(first_range, second_range):
    """Planning overlapping ranges gives equal slots for shared dates: merged by key, nothing is doubled."""
    dates = episode(d(10))
    one = checkin_slots(dates, d(first_range[0]), d(first_range[1]), STOCKHOLM, DEFAULT_REMINDER_CONFIG)
    two = checkin_slots(dates, d(second_range[0]), d(second_range[1]), STOCKHOLM, DEFAULT_REMINDER_CONFIG)
    merged: dict[str, Slot] = {}
    for slot in one + two:
        assert merged.setdefault(slot.key, slot) == slot
    start, end = min(first_range[0], second_range[0]), max(first_range[1], second_range[1])
    whole = checkin_slots(dates, d(start), d(end), STOCKHOLM, DEFAULT_REMINDER_CONFIG)
    assert sorted(merged) == sorted(slot.key for slot in whole)


def test_keys_do_not_depend_on_zone():
    """A patient who moves zone keeps the same keys (the rows are updated, not doubled); the instants differ."""
    here = checkin_slots(episode(d(10)), d(0), d(40), STOCKHOLM, DEFAULT_REMINDER_CONFIG)
    there = checkin_slots(episode(d(10)), d(0), d(40), NEW_YORK, DEFAULT_REMINDER_CONFIG)
    assert [slot.key for slot in here] == [slot.key for slot in there]
    assert all(a.due_at - b.due_at == timedelta(hours=-6) for a, b in zip(here, there, strict=True))


# --- quiet hours ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "safety_critical", "expected"),
    [
        ("2026-11-20 21:29+01:00", False, "2026-11-20 21:29+01:00"),
        ("2026-11-20 21:30+01:00", False, "2026-11-21 07:30+01:00"),
        ("2026-11-20 23:45+01:00", False, "2026-11-21 07:30+01:00"),
        ("2026-11-21 00:00+01:00", False, "2026-11-21 07:30+01:00"),
        ("2026-11-21 03:00+01:00", False, "2026-11-21 07:30+01:00"),
        ("2026-11-21 07:29+01:00", False, "2026-11-21 07:30+01:00"),
        ("2026-11-21 07:30+01:00", False, "2026-11-21 07:30+01:00"),
        ("2026-11-21 12:00+01:00", False, "2026-11-21 12:00+01:00"),
        ("2026-11-20 23:45+01:00", True, "2026-11-20 23:45+01:00"),
        ("2026-11-21 03:00+01:00", True, "2026-11-21 03:00+01:00"),
        ("2026-11-20 22:30", False, "2026-11-21 06:30"),
        ("2026-03-28 23:00+01:00", False, "2026-03-29 07:30+02:00"),
        ("2026-10-24 23:00+02:00", False, "2026-10-25 07:30+01:00"),
        ("2026-10-25 02:30+01:00", False, "2026-10-25 07:30+01:00"),
    ],
    ids=[
        "just-before-start",
        "at-start",
        "late-evening-to-next-morning",
        "midnight",
        "small-hours-to-same-morning",
        "just-before-end",
        "at-end",
        "midday",
        "safety-critical-evening-not-delayed",
        "safety-critical-small-hours-not-delayed",
        "utc-input-is-read-in-local-time",
        "across-spring-change",
        "across-autumn-change",
        "second-occurrence-of-ambiguous-hour",
    ],
)
def test_quiet_hours(due, safety_critical, expected):
    """Routine messages in quiet hours (21:30-07:30 local) wait until 07:30; safety-critical ones never wait."""
    result = apply_quiet_hours(at(due), STOCKHOLM, safety_critical, DEFAULT_REMINDER_CONFIG)
    assert result == at(expected)
    assert result.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("quiet_start", "quiet_end", "due", "expected"),
    [
        ((13, 0), (15, 0), "2026-11-20 14:00+01:00", "2026-11-20 15:00+01:00"),
        ((13, 0), (15, 0), "2026-11-20 22:00+01:00", "2026-11-20 22:00+01:00"),
        ((22, 0), (6, 0), "2026-11-20 21:45+01:00", "2026-11-20 21:45+01:00"),
        ((22, 0), (6, 0), "2026-11-21 05:00+01:00", "2026-11-21 06:00+01:00"),
        ((0, 0), (0, 0), "2026-11-20 23:59+01:00", "2026-11-20 23:59+01:00"),
    ],
    ids=["daytime-quiet", "outside-daytime-quiet", "later-start", "earlier-end", "no-quiet-hours"],
)
def test_custom_quiet_hours(quiet_start, quiet_end, due, expected):
    """Quiet hours come from the configuration, with or without crossing midnight; equal ends mean none."""
    config = ReminderConfig(quiet_start=quiet_start, quiet_end=quiet_end)
    assert apply_quiet_hours(at(due), STOCKHOLM, False, config) == at(expected)


def test_quiet_hours_refuse_naive_time():
    """A naive datetime has no instant: refused."""
    with pytest.raises(ValueError, match="aware"):
        apply_quiet_hours(datetime(2026, 11, 20, 22, 0), STOCKHOLM, False, DEFAULT_REMINDER_CONFIG)


def test_slots_apply_quiet_hours_to_routine_only():
    """A routine check-in configured at 22:00 is sent at 07:30 next day; a 23:00 temperature check is not moved."""
    config = ReminderConfig(temperature_times=((8, 0), (23, 0)), checkin_time=(22, 0))
    zone = ZoneInfo(STOCKHOLM)
    window_day = checkin_slots(episode(d(10)), d(5), d(5), STOCKHOLM, config)
    late_temperature = next(slot for slot in window_day if slot.key.endswith("T23:00"))
    assert late_temperature.due_at.astimezone(zone).strftime("%H:%M") == "23:00"
    (routine,) = checkin_slots(episode(d(10)), d(32), d(32), STOCKHOLM, config)
    assert routine.key == f"checkin:{d(32).isoformat()}T22:00"
    assert routine.local_date == d(32)
    assert routine.due_at.astimezone(zone) == datetime.combine(d(33), time(7, 30), tzinfo=zone)
    assert {TEMP, RED} == SAFETY_CRITICAL_KINDS


# --- appointments -----------------------------------------------------------------------------------------------


def test_appointment_slots():
    """A visit gets a reminder at 18:00 the evening before and 07:30 on the morning; keys name the event."""
    slots = appointment_slots([("visit-d30", date(2026, 11, 20), EventKind.VISIT)], STOCKHOLM, DEFAULT_REMINDER_CONFIG)
    assert slots == [
        Slot(EVE, at("2026-11-19 17:00"), date(2026, 11, 19), "appointment_eve:visit-d30:2026-11-20"),
        Slot(MORNING, at("2026-11-20 06:30"), date(2026, 11, 20), "appointment_morning:visit-d30:2026-11-20"),
    ]


@pytest.mark.parametrize(
    ("kind", "reminded"),
    [(kind, kind in {"visit", "lab", "mri", "edss_review", "vaccination"}) for kind in EventKind],
    ids=[kind.value for kind in EventKind],
)
def test_appointment_kinds(kind, reminded):
    """Visits, labs, scans, EDSS reviews and vaccinations get reminders; medication and check-in periods do not."""
    slots = appointment_slots([("e1", date(2026, 11, 20), kind)], STOCKHOLM, DEFAULT_REMINDER_CONFIG)
    assert [slot.kind for slot in slots] == ([EVE, MORNING] if reminded else [])


@pytest.mark.parametrize(
    ("tz_name", "planned", "eve_utc", "morning_utc"),
    [
        (STOCKHOLM, date(2026, 3, 29), "2026-03-28 17:00", "2026-03-29 05:30"),
        (STOCKHOLM, date(2026, 3, 30), "2026-03-29 16:00", "2026-03-30 05:30"),
        (STOCKHOLM, date(2026, 10, 25), "2026-10-24 16:00", "2026-10-25 06:30"),
        (NEW_YORK, date(2026, 3, 8), "2026-03-07 23:00", "2026-03-08 11:30"),
        (NEW_YORK, date(2026, 11, 1), "2026-10-31 22:00", "2026-11-01 12:30"),
        (NEW_YORK, date(2026, 11, 2), "2026-11-01 23:00", "2026-11-02 12:30"),
    ],
    ids=[
        "stockholm-on-spring-day",
        "stockholm-day-after-spring",
        "stockholm-on-autumn-day",
        "new-york-on-spring-day",
        "new-york-on-autumn-day",
        "new-york-day-after-autumn",
    ],
)
def test_appointments_across_dst(tz_name, planned, eve_utc, morning_utc):
    """Appointment reminders stay at 18:00 and 07:30 local on and around the clock changes."""
    eve, morning = appointment_slots([("lab-1", planned, "lab")], tz_name, DEFAULT_REMINDER_CONFIG)
    assert (eve.kind, eve.due_at, eve.local_date) == (EVE, at(eve_utc), planned - timedelta(days=1))
    assert (morning.kind, morning.due_at, morning.local_date) == (MORNING, at(morning_utc), planned)


def test_appointment_keys_unique_and_stable():
    """Listing an event twice gives its reminders once; moving it gives new keys; two events never collide."""
    events = [("visit-d30", date(2026, 11, 20), "visit"), ("42", date(2026, 11, 20), "lab")]
    once = appointment_slots(events, STOCKHOLM, DEFAULT_REMINDER_CONFIG)
    twice = appointment_slots(events + events, STOCKHOLM, DEFAULT_REMINDER_CONFIG)
    assert once == twice
    assert len({slot.key for slot in once}) == 4
    moved = appointment_slots([("visit-d30", date(2026, 11, 23), "visit")], STOCKHOLM, DEFAULT_REMINDER_CONFIG)
    assert {slot.key for slot in moved}.isdisjoint(slot.key for slot in once)


@pytest.mark.parametrize(
    ("quiet_end", "expected_morning"),
    [((7, 30), "07:30"), ((6, 0), "07:00")],
    ids=["morning-inside-quiet-hours-waits", "morning-after-quiet-hours"],
)
def test_custom_appointment_config(quiet_end, expected_morning):
    """Custom kinds and times: a 07:00 morning reminder waits for the end of quiet hours when they last longer."""
    config = ReminderConfig(
        appointment_kinds=("mri",), appointment_eve_time=(19, 15), appointment_morning_time=(7, 0), quiet_end=quiet_end
    )
    events = [("mri-m6", date(2026, 11, 20), "mri"), ("visit-m6", date(2026, 11, 20), "visit")]
    slots = appointment_slots(events, STOCKHOLM, config)
    assert wall(slots, STOCKHOLM) == [(EVE, "19:15"), (MORNING, expected_morning)]


# --- missed check-ins and unacknowledged alerts ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("due", "in_high_risk", "expected"),
    [
        (
            at("2026-11-20 07:00"),
            True,
            [
                ("remind_patient", "2026-11-20 09:00"),
                ("task_coordinator", "2026-11-20 11:00"),
                ("notify_clinician", "2026-11-20 11:00"),
            ],
        ),
        (
            at("2026-11-20 08:00"),
            False,
            [("remind_patient", "2026-11-21 08:00"), ("task_coordinator", "2026-11-22 08:00")],
        ),
        (
            datetime(2026, 3, 28, 9, 0, tzinfo=ZoneInfo(STOCKHOLM)),
            False,
            [("remind_patient", "2026-03-29 08:00"), ("task_coordinator", "2026-03-30 08:00")],
        ),
        (
            datetime(2026, 10, 25, 1, 0, tzinfo=ZoneInfo(STOCKHOLM)),
            True,
            [
                ("remind_patient", "2026-10-25 01:00"),
                ("task_coordinator", "2026-10-25 03:00"),
                ("notify_clinician", "2026-10-25 03:00"),
            ],
        ),
    ],
    ids=["high-risk", "later", "later-across-spring-change", "high-risk-across-autumn-change"],
)
def test_missed_checkin_steps(due, in_high_risk, expected):
    """Remind after one grace (2 h high risk, 24 h later), coordinator (and clinician in high risk) after two."""
    steps = missed_checkin_steps(due, in_high_risk, DEFAULT_REMINDER_CONFIG)
    assert steps == [(step, at(when)) for step, when in expected]
    assert all(when.utcoffset() == timedelta(0) for _, when in steps)


def test_missed_checkin_custom_graces():
    """Graces come from the configuration."""
    config = ReminderConfig(grace_high_risk_minutes=30, grace_later_minutes=360)
    due = at("2026-11-20 07:00")
    assert missed_checkin_steps(due, True, config) == [
        ("remind_patient", at("2026-11-20 07:30")),
        ("task_coordinator", at("2026-11-20 08:00")),
        ("notify_clinician", at("2026-11-20 08:00")),
    ]
    assert missed_checkin_steps(due, False, config) == [
        ("remind_patient", at("2026-11-20 13:00")),
        ("task_coordinator", at("2026-11-20 19:00")),
    ]


@pytest.mark.parametrize(
    ("created", "severity", "expected"),
    [
        (
            "2026-11-18 10:00",
            "urgent",
            [("resend_care_team", "2026-11-18 10:15"), ("on_call_clinician", "2026-11-18 11:00")],
        ),
        (
            "2026-11-18 23:50",
            "urgent",
            [("resend_care_team", "2026-11-19 00:05"), ("on_call_clinician", "2026-11-19 00:50")],
        ),
        ("2026-11-18 10:00", "same_day", [("escalate_end_of_day", "2026-11-18 15:30")]),
        ("2026-11-20 17:00", "same_day", [("escalate_end_of_day", "2026-11-23 15:30")]),
        ("2026-06-17 10:00", "same_day", [("escalate_end_of_day", "2026-06-17 14:30")]),
        ("2026-11-18 10:00", "routine", []),
        ("2026-11-18 10:00", "none", []),
    ],
    ids=[
        "urgent",
        "urgent-at-night",
        "same-day",
        "same-day-friday-evening-to-monday",
        "same-day-summer-time",
        "routine",
        "none",
    ],
)
def test_alert_escalation_steps(created, severity, expected):
    """Urgent: again to the care team at 15 min, on-call clinician at 60; same day: end of the working day."""
    steps = alert_escalation_steps(at(created), severity, STOCKHOLM, DEFAULT_REMINDER_CONFIG)
    assert steps == [(step, at(when)) for step, when in expected]


def test_alert_escalation_custom_config():
    """Escalation delays and the working day come from the configuration."""
    config = ReminderConfig(urgent_resend_minutes=5, urgent_on_call_minutes=20)
    created = at("2026-11-18 10:00")
    assert alert_escalation_steps(created, "urgent", STOCKHOLM, config) == [
        ("resend_care_team", at("2026-11-18 10:05")),
        ("on_call_clinician", at("2026-11-18 10:20")),
    ]
    alert_config = AlertConfig(working_hours_end=(16, 0))
    assert alert_escalation_steps(created, "same_day", NEW_YORK, config, alert_config) == [
        ("escalate_end_of_day", at("2026-11-18 21:00"))
    ]


@pytest.mark.parametrize(
    ("created", "severity"),
    [(at("2026-11-18 10:00"), "Urgent"), (at("2026-11-18 10:00"), "critical"), (datetime(2026, 11, 18, 10), "urgent")],
    ids=["wrong-case", "unknown-severity", "naive-time"],
)
def test_alert_escalation_refuses_bad_input(created, severity):
    """An unknown severity or a naive time is refused rather than silently never escalated."""
    with pytest.raises(ValueError, match=r"valid Severity|aware"):
        alert_escalation_steps(created, severity, STOCKHOLM, DEFAULT_REMINDER_CONFIG)


def test_missed_checkin_refuses_naive_time():
    """A naive due time has no instant: refused."""
    with pytest.raises(ValueError, match="aware"):
        missed_checkin_steps(datetime(2026, 11, 20, 8), True, DEFAULT_REMINDER_CONFIG)


# --- configuration ----------------------------------------------------------------------------------------------


def test_defaults_match_the_issue():
    """The defaults are the issue's: 08:00/20:00, D+30 or engraftment + 14, D+100, D+180, 2 h/24 h, 15/60 min."""
    assert DEFAULT_REMINDER_CONFIG.as_dict() == {
        "temperature_times": ((8, 0), (20, 0)),
        "red_flag_time": (8, 0),
        "high_risk_days_after_day0": 30,
        "high_risk_days_after_engraftment": 14,
        "early_recovery_end_day": 100,
        "early_recovery_weekdays": (0, 2, 4),
        "checkin_time": (9, 0),
        "recovery_end_day": 180,
        "weekly_weekday": 0,
        "appointment_eve_time": (18, 0),
        "appointment_morning_time": (7, 30),
        "appointment_kinds": ("visit", "lab", "mri", "edss_review", "vaccination"),
        "grace_high_risk_minutes": 120,
        "grace_later_minutes": 1440,
        "quiet_start": (21, 30),
        "quiet_end": (7, 30),
        "urgent_resend_minutes": 15,
        "urgent_on_call_minutes": 60,
        "answer_lead_minutes": 120,
        "stale_after_minutes": 360,
        "no_login_temperature_reminders": True,
    }


CUSTOM = ReminderConfig(
    temperature_times=((7, 0), (13, 0), (19, 0)),
    red_flag_time=(12, 0),
    high_risk_days_after_day0=20,
    high_risk_days_after_engraftment=7,
    early_recovery_end_day=60,
    early_recovery_weekdays=(1, 3),
    checkin_time=(10, 15),
    recovery_end_day=120,
    weekly_weekday=4,
)
CUSTOM_HIGH_RISK = [(TEMP, "07:00"), (RED, "12:00"), (TEMP, "13:00"), (TEMP, "19:00")]
CUSTOM_CHECKIN = [(CHECKIN, "10:15")]


@pytest.mark.parametrize(
    ("engraftment", "offset", "expected"),
    [
        (d(10), 20, CUSTOM_HIGH_RISK),
        (d(10), 21, []),  # Monday
        (d(10), 22, CUSTOM_CHECKIN),  # Tuesday
        (d(10), 24, CUSTOM_CHECKIN),  # Thursday
        (d(15), 22, CUSTOM_HIGH_RISK),  # engraftment + 7
        (d(10), 59, CUSTOM_CHECKIN),  # Thursday
        (d(10), 64, []),  # Tuesday after D+60: weekly now
        (d(10), 116, CUSTOM_CHECKIN),  # Friday
        (d(10), 123, []),  # Friday after D+120
    ],
    ids=[
        "window-end-d20",
        "after-window-monday",
        "tuesday",
        "thursday",
        "engraftment-plus-7",
        "last-twice-a-week",
        "weekly-tuesday-none",
        "weekly-friday",
        "after-recovery-end",
    ],
)
def test_custom_config_slots(engraftment, offset, expected):
    """Every time, day boundary and weekday comes from the configuration (no literals in the rules)."""
    slots = checkin_slots(episode(engraftment), d(offset), d(offset), STOCKHOLM, CUSTOM)
    assert wall(slots, STOCKHOLM) == expected


def test_overrides_from_json_lists():
    """A centre override read back from JSON (lists, not tuples) works the same."""
    config = DEFAULT_REMINDER_CONFIG.with_overrides(
        {"temperature_times": [[6, 0], [18, 0]], "red_flag_time": [6, 0], "early_recovery_weekdays": [1]}
    )
    assert wall(checkin_slots(episode(d(10)), d(1), d(1), STOCKHOLM, config), STOCKHOLM) == [
        (RED, "06:00"),
        (TEMP, "06:00"),
        (TEMP, "18:00"),
    ]
    assert wall(checkin_slots(episode(d(10)), d(36), d(36), STOCKHOLM, config), STOCKHOLM) == CHECKIN_DAY


# --- what answers a reminder (hazard H-40) -------------------------------------------------------------------------

_DUE = datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
_LEAD = DEFAULT_REMINDER_CONFIG.answer_lead_minutes
_AFTER = _DUE + timedelta(minutes=5)
_LONG_BEFORE = _DUE - timedelta(minutes=_LEAD + 1)


@pytest.mark.parametrize(
    ("kind", "latest_report", "latest_temperature", "answered"),
    [
        # a temperature reminder: only a report with a temperature answers it
        (ReminderKind.TEMPERATURE_CHECKIN, _AFTER, None, False),  # "I feel fine": no reading
        (ReminderKind.TEMPERATURE_CHECKIN, _AFTER, _LONG_BEFORE, False),  # the last reading is too old
        (ReminderKind.TEMPERATURE_CHECKIN, _AFTER, _AFTER, True),
        (ReminderKind.TEMPERATURE_CHECKIN, None, None, False),
        # a red-flag check-in and the routine check-in: any report answers them
        (ReminderKind.RED_FLAG_CHECKIN, _AFTER, None, True),
        (ReminderKind.RED_FLAG_CHECKIN, _LONG_BEFORE, None, False),
        (ReminderKind.RED_FLAG_CHECKIN, None, None, False),
        (ReminderKind.CHECKIN, _AFTER, None, True),
        (ReminderKind.CHECKIN, None, None, False),
    ],
)
def test_a_temperature_reminder_is_answered_only_by_a_reading(kind, latest_report, latest_temperature, answered):
    assert answers_reminder(kind, latest_report, latest_temperature, _DUE, _LEAD) is answered


def test_a_fine_report_leaves_the_high_risk_temperature_check_in_missed():
    dates = EpisodeDates(None, None, None, date(2026, 11, 15), None)
    window = high_risk_window(date(2026, 11, 15), None)
    slots = checkin_slots(dates, date(2026, 11, 20), date(2026, 11, 20), "Europe/Stockholm")
    morning = [s for s in slots if s.due_at == _DUE]
    assert {s.kind for s in morning} == {ReminderKind.TEMPERATURE_CHECKIN, ReminderKind.RED_FLAG_CHECKIN}
    later = _DUE + timedelta(minutes=DEFAULT_REMINDER_CONFIG.grace_high_risk_minutes)
    missed = missed_checkins(morning, window, _AFTER, None, later)
    assert [s.kind for s in missed] == [ReminderKind.TEMPERATURE_CHECKIN]
    assert missed_checkins(morning, window, _AFTER, _AFTER, later) == []
