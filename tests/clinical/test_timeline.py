"""Protocol timeline templates and regeneration planning (domain.md 1.1, 1.3, 3.1 to 3.4; section 8)."""

import re
from dataclasses import replace
from datetime import date, timedelta

import pytest

from recovery.clinical.config import TransplantConfig
from recovery.clinical.labs_config import DEFAULT_PROPHYLAXIS_CONFIG, DEFAULT_VACCINATION_CONFIG, VaccinationConfig
from recovery.clinical.phases import add_months
from recovery.clinical.prophylaxis import prophylaxis_plan
from recovery.clinical.timeline import (
    DEFAULT_PROTOCOLS,
    Anchor,
    DisplayStatus,
    EventKind,
    EventStatus,
    ExistingEvent,
    OverduePolicy,
    PlannedMove,
    TemplateEvent,
    TimelinePlan,
    display_status,
    overdue_policy,
    plan_timeline,
)
from recovery.clinical.timeline_rules import FIRST_DOSE_EVENTS, RULE_KEYS, rule_dates
from recovery.clinical.vaccination import (
    DoseStatus,
    VaccinationRefusedError,
    check_vaccination,
    live_vaccine_earliest,
    vaccination_plan,
)

MOBILISATION = date(2025, 1, 6)
CONDITIONING_START = date(2025, 2, 3)
DAY0 = date(2025, 2, 8)
ENGRAFTMENT = date(2025, 2, 19)
DISCHARGE = date(2025, 2, 24)

ALL_ANCHORS = {
    Anchor.MOBILISATION: MOBILISATION,
    Anchor.CONDITIONING_START: CONDITIONING_START,
    Anchor.DAY0: DAY0,
    Anchor.NEUTROPHIL_ENGRAFTMENT: ENGRAFTMENT,
    Anchor.DISCHARGE: DISCHARGE,
}
BEFORE_ENGRAFTMENT = {**ALL_ANCHORS, Anchor.NEUTROPHIL_ENGRAFTMENT: None, Anchor.DISCHARGE: None}

PROTOCOL_CODES = sorted(DEFAULT_PROTOCOLS)

# A small template for the rule tests: one event per anchor, plus two on Day 0.
SMALL_TEMPLATE = (
    TemplateEvent("mob", Anchor.MOBILISATION, 0, EventKind.CHEMOTHERAPY, "Mobilisation"),
    TemplateEvent("cond", Anchor.CONDITIONING_START, 0, EventKind.MEDICATION_START, "Aciclovir starts"),
    TemplateEvent("cy-d-5", Anchor.DAY0, -5, EventKind.CHEMOTHERAPY, "Cyclophosphamide (Day -5)"),
    TemplateEvent("reinfusion", Anchor.DAY0, 0, EventKind.PROCEDURE, "Reinfusion"),
    TemplateEvent("visit-d30", Anchor.DAY0, 30, EventKind.VISIT, "Clinic visit (Day +30)"),
    TemplateEvent("engraft", Anchor.NEUTROPHIL_ENGRAFTMENT, 0, EventKind.MEDICATION_START, "Co-trimoxazole starts"),
    TemplateEvent("discharge-bloods", Anchor.DISCHARGE, 7, EventKind.LAB, "Blood count"),
)


def apply_plan(plan: TimelinePlan, existing: list[ExistingEvent]) -> list[ExistingEvent]:
    """What the database would hold after applying `plan`: an in-memory stand-in for the service."""
    removed = set(plan.remove)
    moved = {m.event_id: m.planned_date for m in plan.move}
    result = [replace(e, planned_date=moved.get(e.id, e.planned_date)) for e in existing if e.id not in removed]
    next_id = max((e.id for e in existing), default=0) + 1
    for offset, item in enumerate(plan.create):
        result.append(ExistingEvent(next_id + offset, item.template_key, item.planned_date, EventStatus.PLANNED, False))
    return result


def build(template, anchors) -> list[ExistingEvent]:
    return apply_plan(plan_timeline(template, anchors, []), [])


def by_key(events: list[ExistingEvent]) -> dict[str | None, ExistingEvent]:
    return {e.template_key: e for e in events}


def change(events: list[ExistingEvent], key: str, **changes) -> list[ExistingEvent]:
    """`events` with the fields in `changes` set on the event with template key `key`."""
    return [replace(e, **changes) if e.template_key == key else e for e in events]


def hand_added(event_id: int, planned_date: date) -> ExistingEvent:
    return ExistingEvent(event_id, None, planned_date, EventStatus.PLANNED, False)


# Default templates -----------------------------------------------------------------------------------


@pytest.mark.parametrize("code", PROTOCOL_CODES)
def test_default_protocol_keys_are_unique(code):
    """Every default protocol has unique event keys and is filed under its own code."""
    protocol = DEFAULT_PROTOCOLS[code]
    keys = [e.key for e in protocol.events]
    assert len(keys) == len(set(keys))
    assert protocol.code == code


def test_default_protocols_include_cy_atg_beam_atg_and_bu_cy_atg():
    """The three regimens of domain.md 1.3 have default templates."""
    assert set(DEFAULT_PROTOCOLS) >= {"cy_atg", "beam_atg", "bu_cy_atg"}


FOLLOW_UP = [
    ("visit-d30", Anchor.DAY0, 30, EventKind.VISIT),
    ("visit-d100", Anchor.DAY0, 100, EventKind.VISIT),
    ("visit-m6", Anchor.DAY0, 182, EventKind.VISIT),
    ("visit-m12", Anchor.DAY0, 365, EventKind.VISIT),
    ("visit-y2", Anchor.DAY0, 730, EventKind.VISIT),
    ("visit-y5", Anchor.DAY0, 1826, EventKind.VISIT),
    ("visit-y10", Anchor.DAY0, 3652, EventKind.VISIT),
    ("edss-m3", Anchor.DAY0, 91, EventKind.EDSS_REVIEW),
    ("edss-m6", Anchor.DAY0, 182, EventKind.EDSS_REVIEW),
    ("edss-m12", Anchor.DAY0, 365, EventKind.EDSS_REVIEW),
    ("edss-y10", Anchor.DAY0, 3652, EventKind.EDSS_REVIEW),
    ("mri-m6", Anchor.DAY0, 182, EventKind.MRI),
    ("mri-y10", Anchor.DAY0, 3652, EventKind.MRI),
    ("cd4-igg-m3", Anchor.DAY0, 91, EventKind.LAB),
    ("cd4-igg-m6", Anchor.DAY0, 182, EventKind.LAB),
    ("cd4-igg-m12", Anchor.DAY0, 365, EventKind.LAB),
    ("cd4-m18", Anchor.DAY0, 547, EventKind.LAB),
    ("cd4-m24", Anchor.DAY0, 730, EventKind.LAB),
    ("thyroid-platelets-m12", Anchor.DAY0, 365, EventKind.LAB),
    ("thyroid-platelets-y10", Anchor.DAY0, 3652, EventKind.LAB),
    ("pcr-d7", Anchor.DAY0, 7, EventKind.LAB),
    ("pcr-d98", Anchor.DAY0, 98, EventKind.LAB),
    ("reinfusion-d0", Anchor.DAY0, 0, EventKind.PROCEDURE),
    ("checkin-daily", Anchor.DAY0, 0, EventKind.CHECKIN_PERIOD),
    ("aciclovir-start", Anchor.CONDITIONING_START, 0, EventKind.MEDICATION_START),
    ("aciclovir-review", Anchor.DAY0, 365, EventKind.MEDICATION_STOP),
    ("cotrimoxazole-start", Anchor.NEUTROPHIL_ENGRAFTMENT, 0, EventKind.MEDICATION_START),
    ("cotrimoxazole-review", Anchor.DAY0, 91, EventKind.MEDICATION_STOP),
    ("bloods-after-discharge", Anchor.DISCHARGE, 7, EventKind.LAB),
    ("vaccine-zoster", Anchor.DAY0, 50, EventKind.VACCINATION),
    ("vaccine-flu-pneumo", Anchor.DAY0, 91, EventKind.VACCINATION),
    ("vaccine-live", Anchor.DAY0, 730, EventKind.VACCINATION),
    ("mobilisation-cy", Anchor.MOBILISATION, 0, EventKind.CHEMOTHERAPY),
    ("gcsf-start", Anchor.MOBILISATION, 1, EventKind.MEDICATION_START),
    ("apheresis-expected", Anchor.MOBILISATION, 9, EventKind.PROCEDURE),
]


@pytest.mark.parametrize("code", PROTOCOL_CODES)
@pytest.mark.parametrize(("key", "anchor", "offset", "kind"), FOLLOW_UP, ids=[row[0] for row in FOLLOW_UP])
def test_default_protocol_schedules_shared_event(code, key, anchor, offset, kind):
    """Each regimen has the shared mobilisation and follow-up event at its anchor and day offset."""
    event = {e.key: e for e in DEFAULT_PROTOCOLS[code].events}[key]
    assert (event.anchor, event.offset_days, event.kind) == (anchor, offset, kind)


@pytest.mark.parametrize("code", PROTOCOL_CODES)
@pytest.mark.parametrize(
    ("kind", "prefix"),
    [(EventKind.VISIT, "visit"), (EventKind.EDSS_REVIEW, "edss"), (EventKind.MRI, "mri")],
    ids=["visits", "ms-reviews", "mri"],
)
def test_yearly_events_run_from_month_12_to_year_10_on_the_anniversary(code, kind, prefix):
    """Visits, MS reviews and MRI recur on each anniversary of Day 0 from month 12 to year 10."""
    offsets = {e.offset_days for e in DEFAULT_PROTOCOLS[code].events if e.kind == kind}
    anniversaries = {365 * n + n // 4 for n in range(1, 11)}
    assert anniversaries <= offsets
    assert max(offsets) == 3652


@pytest.mark.parametrize("code", PROTOCOL_CODES)
def test_mri_at_month_6_is_the_re_baseline(code):
    """The month-6 MRI is titled as the post-transplant re-baseline scan."""
    event = {e.key: e for e in DEFAULT_PROTOCOLS[code].events}["mri-m6"]
    assert "re-baseline" in event.title


@pytest.mark.parametrize("code", PROTOCOL_CODES)
@pytest.mark.parametrize("month", [3, 6, 12], ids=["m3", "m6", "m12"])
def test_cd4_and_igg_checked_at_months_3_6_and_12(code, month):
    """CD4 and IgG are checked together at months 3, 6 and 12."""
    event = {e.key: e for e in DEFAULT_PROTOCOLS[code].events}[f"cd4-igg-m{month}"]
    assert "CD4" in event.title
    assert "IgG" in event.title


@pytest.mark.parametrize("code", PROTOCOL_CODES)
def test_weekly_ebv_cmv_pcr_from_day_7_to_day_98(code):
    """EBV and CMV PCR are planned once a week from Day +7 to Day +98."""
    offsets = sorted(e.offset_days for e in DEFAULT_PROTOCOLS[code].events if e.key.startswith("pcr-"))
    assert offsets == list(range(7, 99, 7))


@pytest.mark.parametrize("code", PROTOCOL_CODES)
def test_live_vaccine_reminder_is_not_before_month_24(code):
    """No vaccination event mentions live vaccines before Day +730 (domain.md section 8 item 17)."""
    for event in DEFAULT_PROTOCOLS[code].events:
        if event.kind == EventKind.VACCINATION and "Live" in event.title:
            assert event.offset_days >= 730


CONDITIONING = [
    ("cy_atg", "cy", [-5, -4, -3, -2]),
    ("cy_atg", "atg", [-5, -4, -3, -2, -1]),
    ("beam_atg", "bcnu", [-6]),
    ("beam_atg", "etoposide-cytarabine", [-5, -4, -3, -2]),
    ("beam_atg", "melphalan", [-1]),
    ("beam_atg", "atg", [1, 2]),
    ("bu_cy_atg", "busulfan", [-9, -8, -7, -6]),
    ("bu_cy_atg", "cy", [-5, -4]),
    ("bu_cy_atg", "atg", [-3, -2, -1]),
]


@pytest.mark.parametrize(("code", "drug", "days"), CONDITIONING, ids=[f"{c}-{d}" for c, d, _ in CONDITIONING])
def test_conditioning_days_follow_domain_schedule(code, drug, days):
    """Conditioning drugs fall on the regimen's days relative to Day 0, one event per day."""
    pattern = re.compile(rf"{drug}-d(-?\d+)")
    events = [e for e in DEFAULT_PROTOCOLS[code].events if pattern.fullmatch(e.key)]
    assert sorted(e.offset_days for e in events) == days
    assert all(e.anchor == Anchor.DAY0 and e.kind == EventKind.CHEMOTHERAPY for e in events)
    assert all(f"{e.offset_days:+d}" in e.title for e in events)


def test_bu_cy_atg_description_mentions_cd34_selected_graft():
    """The busulfan regimen says that it uses a CD34-selected graft."""
    assert "CD34-selected" in DEFAULT_PROTOCOLS["bu_cy_atg"].description


# plan_timeline ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", PROTOCOL_CODES)
def test_fresh_timeline_creates_every_event_at_anchor_plus_offset(code):
    """With every anchor known and nothing stored, each template event is created at anchor + offset."""
    template = DEFAULT_PROTOCOLS[code].events
    plan = plan_timeline(template, ALL_ANCHORS, [])
    assert plan.move == ()
    assert plan.remove == ()
    assert len(plan.create) == len(template)
    for item, created in zip(template, plan.create, strict=True):
        assert created.template_key == item.key
        assert created.planned_date == ALL_ANCHORS[item.anchor] + timedelta(days=item.offset_days)
        assert (created.kind, created.title) == (item.kind, item.title)


KNOWN_ANCHORS = [
    ("nothing", {}, set()),
    ("mobilisation-only", {Anchor.MOBILISATION: MOBILISATION}, {"mob"}),
    (
        "before-engraftment",
        {Anchor.MOBILISATION: MOBILISATION, Anchor.CONDITIONING_START: CONDITIONING_START, Anchor.DAY0: DAY0},
        {"mob", "cond", "cy-d-5", "reinfusion", "visit-d30"},
    ),
    (
        "explicit-none",
        {Anchor.DAY0: DAY0, Anchor.NEUTROPHIL_ENGRAFTMENT: None, Anchor.DISCHARGE: None},
        {"cy-d-5", "reinfusion", "visit-d30"},
    ),
    ("all", ALL_ANCHORS, {e.key for e in SMALL_TEMPLATE}),
]


@pytest.mark.parametrize(("anchors", "expected"), [r[1:] for r in KNOWN_ANCHORS], ids=[r[0] for r in KNOWN_ANCHORS])
def test_fresh_timeline_skips_events_whose_anchor_is_unknown(anchors, expected):
    """Only events whose anchor date is known are created; a missing anchor counts as unknown."""
    plan = plan_timeline(SMALL_TEMPLATE, anchors, [])
    assert {c.template_key for c in plan.create} == expected


@pytest.mark.parametrize("code", PROTOCOL_CODES)
@pytest.mark.parametrize(
    "anchors", [ALL_ANCHORS, BEFORE_ENGRAFTMENT, {}], ids=["all-anchors", "before-engraftment", "no-anchors"]
)
def test_regeneration_after_applying_is_empty(code, anchors):
    """Planning again after applying a plan gives an empty plan (regeneration is idempotent)."""
    template = DEFAULT_PROTOCOLS[code].events
    stored = build(template, anchors)
    assert plan_timeline(template, anchors, stored).is_empty


def test_regeneration_after_each_change_of_anchors_settles_in_one_step():
    """Each anchor change needs one plan; planning again after applying it gives an empty plan."""
    template = DEFAULT_PROTOCOLS["cy_atg"].events
    stored: list[ExistingEvent] = []
    history = [
        {Anchor.MOBILISATION: MOBILISATION},
        BEFORE_ENGRAFTMENT,
        {**BEFORE_ENGRAFTMENT, Anchor.DAY0: DAY0 + timedelta(days=3)},
        ALL_ANCHORS,
        {**ALL_ANCHORS, Anchor.DISCHARGE: None},
    ]
    for anchors in history:
        stored = apply_plan(plan_timeline(template, anchors, stored), stored)
        assert plan_timeline(template, anchors, stored).is_empty


def test_moving_day0_moves_only_untouched_planned_day0_events():
    """Day 0 moved by +3: the untouched planned Day-0 event moves 3 days; mobilisation, done, manually
    changed and hand-added events stay where they are."""
    stored = build(SMALL_TEMPLATE, ALL_ANCHORS)
    events = by_key(stored)
    stored = change(stored, "cy-d-5", status=EventStatus.DONE)
    stored = change(
        stored, "visit-d30", manually_changed=True, planned_date=events["visit-d30"].planned_date + timedelta(days=1)
    )
    stored.append(hand_added(100, DAY0 + timedelta(days=14)))

    plan = plan_timeline(SMALL_TEMPLATE, {**ALL_ANCHORS, Anchor.DAY0: DAY0 + timedelta(days=3)}, stored)

    assert plan.create == ()
    assert plan.remove == ()
    assert {(m.event_id, m.planned_date) for m in plan.move} == {
        (events["reinfusion"].id, DAY0 + timedelta(days=3)),
    }


@pytest.mark.parametrize("code", PROTOCOL_CODES)
def test_moving_day0_moves_every_day0_event_of_a_default_protocol_by_the_same_days(code):
    """Day 0 moved by +3 moves each untouched Day-0-anchored event by exactly 3 days and nothing else."""
    template = DEFAULT_PROTOCOLS[code].events
    stored = build(template, ALL_ANCHORS)

    plan = plan_timeline(template, {**ALL_ANCHORS, Anchor.DAY0: DAY0 + timedelta(days=3)}, stored)

    by_id = {e.id: e for e in stored}
    assert {by_id[m.event_id].template_key for m in plan.move} == {e.key for e in template if e.anchor == Anchor.DAY0}
    assert all(m.planned_date - by_id[m.event_id].planned_date == timedelta(days=3) for m in plan.move)
    assert plan.create == ()
    assert plan.remove == ()


@pytest.mark.parametrize(
    ("status", "manually_changed", "moved"),
    [
        (EventStatus.PLANNED, False, True),
        (EventStatus.PLANNED, True, False),
        (EventStatus.DONE, False, False),
        (EventStatus.DONE, True, False),
        (EventStatus.CANCELLED, False, False),
        (EventStatus.CANCELLED, True, False),
    ],
    ids=["untouched", "manually-moved", "done", "done-by-hand", "cancelled", "cancelled-by-hand"],
)
def test_only_untouched_planned_event_follows_its_anchor(status, manually_changed, moved):
    """A Day-0 event follows a Day 0 change only while it is planned and untouched."""
    stored = [ExistingEvent(1, "reinfusion", DAY0, status, manually_changed)]
    plan = plan_timeline(SMALL_TEMPLATE[3:4], {Anchor.DAY0: DAY0 + timedelta(days=3)}, stored)
    assert bool(plan.move) is moved
    assert plan.create == ()
    assert plan.remove == ()


def test_engraftment_date_becoming_known_creates_engraftment_events():
    """Recording neutrophil engraftment creates the events anchored to it and changes nothing else."""
    template = DEFAULT_PROTOCOLS["cy_atg"].events
    stored = build(template, BEFORE_ENGRAFTMENT)

    plan = plan_timeline(template, {**BEFORE_ENGRAFTMENT, Anchor.NEUTROPHIL_ENGRAFTMENT: ENGRAFTMENT}, stored)

    expected = {e.key for e in template if e.anchor == Anchor.NEUTROPHIL_ENGRAFTMENT}
    assert expected == {"cotrimoxazole-start"}
    assert {c.template_key for c in plan.create} == expected
    assert all(c.planned_date == ENGRAFTMENT for c in plan.create)
    assert plan.move == ()
    assert plan.remove == ()


def test_anchor_set_back_to_none_removes_untouched_planned_events_only():
    """Clearing Day 0 removes its untouched planned events but keeps done, cancelled, manually changed and
    hand-added events, and events on other anchors."""
    stored = build(SMALL_TEMPLATE, ALL_ANCHORS)
    events = by_key(stored)
    stored = change(stored, "cy-d-5", status=EventStatus.DONE)
    stored = change(stored, "visit-d30", status=EventStatus.CANCELLED)
    stored.append(hand_added(100, DAY0))

    plan = plan_timeline(SMALL_TEMPLATE, {**ALL_ANCHORS, Anchor.DAY0: None}, stored)

    assert plan.remove == (events["reinfusion"].id,)
    assert plan.create == ()
    assert plan.move == ()
    assert plan_timeline(SMALL_TEMPLATE, {**ALL_ANCHORS, Anchor.DAY0: None}, apply_plan(plan, stored)).is_empty


def test_manually_changed_planned_event_is_kept_when_its_anchor_goes():
    """A planned event a coordinator moved by hand is not removed when its anchor date is cleared."""
    stored = [ExistingEvent(1, "reinfusion", DAY0, EventStatus.PLANNED, True)]
    assert plan_timeline(SMALL_TEMPLATE, {}, stored).is_empty


HAND_ADDED_SCENARIOS = [
    ("day0-moved", {**ALL_ANCHORS, Anchor.DAY0: DAY0 + timedelta(days=3)}, SMALL_TEMPLATE),
    ("day0-cleared", {**ALL_ANCHORS, Anchor.DAY0: None}, SMALL_TEMPLATE),
    ("no-anchors", {}, SMALL_TEMPLATE),
    ("template-emptied", ALL_ANCHORS, ()),
]


@pytest.mark.parametrize(
    ("anchors", "template"), [s[1:] for s in HAND_ADDED_SCENARIOS], ids=[s[0] for s in HAND_ADDED_SCENARIOS]
)
def test_hand_added_events_are_never_touched(anchors, template):
    """Events added by hand (no template key) are never moved or removed."""
    stored = [*build(SMALL_TEMPLATE, ALL_ANCHORS), hand_added(100, DAY0), hand_added(101, DAY0 + timedelta(days=5))]
    plan = plan_timeline(template, anchors, stored)
    touched = {m.event_id for m in plan.move} | set(plan.remove)
    assert touched.isdisjoint({100, 101})


def test_event_dropped_from_template_is_removed_unless_touched():
    """A template edit that drops a key removes the untouched planned event and keeps a done one."""
    stored = build(SMALL_TEMPLATE, ALL_ANCHORS)
    events = by_key(stored)
    stored = change(stored, "mob", status=EventStatus.DONE)
    edited = tuple(e for e in SMALL_TEMPLATE if e.key not in {"mob", "visit-d30"})

    plan = plan_timeline(edited, ALL_ANCHORS, stored)

    assert plan.remove == (events["visit-d30"].id,)
    assert plan.create == ()
    assert plan.move == ()


def test_repeated_stored_key_keeps_touched_event_and_removes_untouched_copy():
    """If two stored events share a template key, the touched one stands for it and the untouched copy goes."""
    stored = [
        ExistingEvent(1, "reinfusion", DAY0, EventStatus.PLANNED, False),
        ExistingEvent(2, "reinfusion", DAY0, EventStatus.DONE, False),
    ]
    plan = plan_timeline(SMALL_TEMPLATE[3:4], {Anchor.DAY0: DAY0 + timedelta(days=1)}, stored)
    assert plan == TimelinePlan(create=(), move=(), remove=(1,))


def test_duplicate_template_keys_raise_value_error():
    """A template with a repeated key is rejected."""
    template = (*SMALL_TEMPLATE, replace(SMALL_TEMPLATE[0], offset_days=1))
    with pytest.raises(ValueError, match="mob"):
        plan_timeline(template, ALL_ANCHORS, [])


@pytest.mark.parametrize(
    ("plan", "empty"),
    [
        (TimelinePlan((), (), ()), True),
        (TimelinePlan((), (), (1,)), False),
    ],
    ids=["nothing-to-do", "something-to-remove"],
)
def test_plan_is_empty_only_without_changes(plan, empty):
    """A plan is empty when it creates, moves and removes nothing."""
    assert plan.is_empty is empty


# display_status --------------------------------------------------------------------------------------

TODAY = date(2025, 6, 15)

DISPLAY = [
    ("overdue-yesterday", EventStatus.PLANNED, TODAY - timedelta(days=1), 7, DisplayStatus.OVERDUE),
    ("overdue-long-ago", EventStatus.PLANNED, TODAY - timedelta(days=90), 7, DisplayStatus.OVERDUE),
    ("due-today", EventStatus.PLANNED, TODAY, 7, DisplayStatus.DUE),
    ("due-today-zero-window", EventStatus.PLANNED, TODAY, 0, DisplayStatus.DUE),
    ("due-within-window", EventStatus.PLANNED, TODAY + timedelta(days=3), 7, DisplayStatus.DUE),
    ("due-last-day-of-window", EventStatus.PLANNED, TODAY + timedelta(days=7), 7, DisplayStatus.DUE),
    ("planned-beyond-window", EventStatus.PLANNED, TODAY + timedelta(days=8), 7, DisplayStatus.PLANNED),
    ("planned-tomorrow-zero-window", EventStatus.PLANNED, TODAY + timedelta(days=1), 0, DisplayStatus.PLANNED),
    ("done-in-past", EventStatus.DONE, TODAY - timedelta(days=1), 7, DisplayStatus.DONE),
    ("done-in-future", EventStatus.DONE, TODAY + timedelta(days=30), 7, DisplayStatus.DONE),
    ("cancelled-in-past", EventStatus.CANCELLED, TODAY - timedelta(days=1), 7, DisplayStatus.CANCELLED),
    ("cancelled-today", EventStatus.CANCELLED, TODAY, 7, DisplayStatus.CANCELLED),
]


@pytest.mark.parametrize(
    ("status", "planned_date", "window", "expected"), [r[1:] for r in DISPLAY], ids=[r[0] for r in DISPLAY]
)
def test_display_status(status, planned_date, window, expected):
    """Planned events show as overdue before today, due from today to the end of the window, else planned;
    done and cancelled show as they are."""
    assert display_status(status, planned_date, TODAY, window) == expected


def test_display_status_rejects_negative_window():
    """A negative due window is a configuration error."""
    with pytest.raises(ValueError, match="due_window_days"):
        display_status(EventStatus.PLANNED, TODAY, TODAY, -1)


# overdue only while actionable (OverduePolicy) ---------------------------------------------------------------

POLICY = OverduePolicy(window_days=90, kinds=frozenset({EventKind.VISIT, EventKind.LAB, EventKind.MEDICATION_START}))

ACTIONABLE = [
    ("visit-yesterday", EventKind.VISIT, TODAY - timedelta(days=1), DisplayStatus.OVERDUE),
    ("lab-last-day-of-window", EventKind.LAB, TODAY - timedelta(days=90), DisplayStatus.OVERDUE),
    ("lab-a-day-past-the-window", EventKind.LAB, TODAY - timedelta(days=91), DisplayStatus.NOT_RECORDED),
    ("visit-years-ago", EventKind.VISIT, TODAY - timedelta(days=3650), DisplayStatus.NOT_RECORDED),
    ("medicine-start-last-week", EventKind.MEDICATION_START, TODAY - timedelta(days=7), DisplayStatus.OVERDUE),
    ("chemotherapy-yesterday", EventKind.CHEMOTHERAPY, TODAY - timedelta(days=1), DisplayStatus.NOT_RECORDED),
    ("chemotherapy-long-past", EventKind.CHEMOTHERAPY, TODAY - timedelta(days=400), DisplayStatus.NOT_RECORDED),
    ("reinfusion-past", EventKind.PROCEDURE, TODAY - timedelta(days=5), DisplayStatus.NOT_RECORDED),
    ("checkin-period-past", EventKind.CHECKIN_PERIOD, TODAY - timedelta(days=5), DisplayStatus.NOT_RECORDED),
    ("chemotherapy-today-is-due", EventKind.CHEMOTHERAPY, TODAY, DisplayStatus.DUE),
    ("chemotherapy-ahead-is-planned", EventKind.CHEMOTHERAPY, TODAY + timedelta(days=30), DisplayStatus.PLANNED),
    ("visit-in-the-due-window", EventKind.VISIT, TODAY + timedelta(days=3), DisplayStatus.DUE),
]


@pytest.mark.parametrize(
    ("kind", "planned_date", "expected"), [r[1:] for r in ACTIONABLE], ids=[r[0] for r in ACTIONABLE]
)
def test_a_past_event_is_overdue_only_while_actionable(kind, planned_date, expected):
    """Under a policy, a past planned event is overdue only when it is of a kind someone still does and at most
    the window late; otherwise it is not recorded. Today and later are unchanged."""
    assert display_status(EventStatus.PLANNED, planned_date, TODAY, 7, kind=kind, overdue=POLICY) == expected


@pytest.mark.parametrize("status", [EventStatus.DONE, EventStatus.CANCELLED])
def test_done_and_cancelled_are_never_not_recorded(status):
    """A policy changes only planned events: done and cancelled ones show as they are."""
    shown = display_status(status, TODAY - timedelta(days=400), TODAY, 7, kind=EventKind.CHEMOTHERAPY, overdue=POLICY)
    assert shown == DisplayStatus(status.value)


def test_the_default_policy_chases_visits_labs_medicines_vaccines_and_scans_for_90_days():
    """The shipped configuration: overdue for up to 90 days for the kinds a person does; never for conditioning
    chemotherapy, the reinfusion or a check-in period."""
    policy = overdue_policy(TransplantConfig())
    assert policy.window_days == 90
    assert policy.kinds == {
        EventKind.VISIT,
        EventKind.LAB,
        EventKind.MEDICATION_START,
        EventKind.MEDICATION_STOP,
        EventKind.VACCINATION,
        EventKind.MRI,
        EventKind.EDSS_REVIEW,
    }
    assert set(EventKind) - policy.kinds == {EventKind.CHEMOTHERAPY, EventKind.PROCEDURE, EventKind.CHECKIN_PERIOD}


def test_a_centre_can_change_the_window_and_the_kinds():
    """Both come from the configuration."""
    policy = overdue_policy(TransplantConfig().with_overrides({"overdue_window_days": 30, "overdue_kinds": ["mri"]}))
    assert display_status(
        EventStatus.PLANNED, TODAY - timedelta(days=31), TODAY, 7, kind=EventKind.MRI, overdue=policy
    ) == (DisplayStatus.NOT_RECORDED)
    assert display_status(
        EventStatus.PLANNED, TODAY - timedelta(days=30), TODAY, 7, kind=EventKind.MRI, overdue=policy
    ) == (DisplayStatus.OVERDUE)
    assert display_status(
        EventStatus.PLANNED, TODAY - timedelta(days=1), TODAY, 7, kind=EventKind.VISIT, overdue=policy
    ) == (DisplayStatus.NOT_RECORDED)


def test_a_negative_overdue_window_is_refused():
    """A negative window is a configuration error."""
    with pytest.raises(ValueError, match="overdue_window_days"):
        OverduePolicy(window_days=-1, kinds=frozenset())


# --- one source of truth: the rule-dated events ----------------------------------------------------------------

AGREEMENT_DAY0S = [
    pytest.param(date(2024, 2, 29), id="leap_day"),
    pytest.param(date(2023, 3, 1), id="730_days_is_a_day_short"),  # 730 days on is 28 Feb 2025, M24 is 1 Mar
    pytest.param(date(2025, 1, 31), id="31_jan_month_end"),
    pytest.param(date(2025, 8, 31), id="31_aug_month_end"),
    pytest.param(date(2023, 12, 31), id="31_dec_into_leap_year"),
    pytest.param(date(2026, 5, 15), id="mid_month"),
]


def _zoster_from_day(days: int) -> VaccinationConfig:
    schedule = tuple(
        replace(d, days=days) if d.vaccine == "zoster_recombinant" else d
        for d in DEFAULT_VACCINATION_CONFIG.dose_list()
    )
    return replace(DEFAULT_VACCINATION_CONFIG, schedule=schedule)


AGREEMENT_CONFIGS = [
    pytest.param(DEFAULT_VACCINATION_CONFIG, DEFAULT_PROPHYLAXIS_CONFIG, id="defaults"),
    pytest.param(
        replace(_zoster_from_day(70), live_not_before_months=18),
        DEFAULT_PROPHYLAXIS_CONFIG.with_template("cotrimoxazole", stop_months=6),
        id="live_m18_zoster_d70_cotrimoxazole_m6",
    ),
    pytest.param(
        replace(_zoster_from_day(60), live_not_before_months=36),
        DEFAULT_PROPHYLAXIS_CONFIG.with_template("aciclovir", stop_months=24).with_template(
            "cotrimoxazole", start="day0", stop_months=1
        ),
        id="live_m36_aciclovir_m24_cotrimoxazole_from_day0",
    ),
    pytest.param(
        DEFAULT_VACCINATION_CONFIG.with_overrides({"live_not_before_months": 30}),
        DEFAULT_PROPHYLAXIS_CONFIG.with_overrides(
            {"templates": [t.__dict__ for t in DEFAULT_PROPHYLAXIS_CONFIG.templates]}
        ),
        id="read_back_from_json",
    ),
]


def _rule_plan(day0, vaccination, prophylaxis, engrafted=11):
    engraftment = day0 + timedelta(days=engrafted)
    anchors = {**ALL_ANCHORS, Anchor.CONDITIONING_START: day0 - timedelta(days=5), Anchor.DAY0: day0}
    anchors[Anchor.NEUTROPHIL_ENGRAFTMENT] = engraftment
    dates = rule_dates(
        day0=day0,
        conditioning_start=anchors[Anchor.CONDITIONING_START],
        neutrophil_engraftment=engraftment,
        vaccination=vaccination,
        prophylaxis=prophylaxis,
    )
    plan = plan_timeline(DEFAULT_PROTOCOLS["cy_atg"].events, anchors, [], dates)
    return {c.template_key: c.planned_date for c in plan.create}, anchors


@pytest.mark.parametrize(("vaccination", "prophylaxis"), AGREEMENT_CONFIGS)
@pytest.mark.parametrize("day0", AGREEMENT_DAY0S)
def test_timeline_and_rules_agree_on_every_rule_dated_event(day0, vaccination, prophylaxis):
    """The timeline's live-vaccine, zoster, vaccine-start and prophylaxis events fall on the very day the rules
    first allow them (the day before, they refuse), for month-end and leap-day Day 0s and non-default configs."""
    created, anchors = _rule_plan(day0, vaccination, prophylaxis)
    one = timedelta(days=1)

    live = created["vaccine-live"]
    for vaccine in vaccination.live_vaccines:
        with pytest.raises(VaccinationRefusedError, match="live vaccine"):
            check_vaccination(vaccine, 1, live - one, day0, vaccination, immunosuppressed=False)
        assert check_vaccination(vaccine, 1, live, day0, vaccination, immunosuppressed=False) is None

    def dose_on(today, vaccine):
        return {(d.vaccine, d.dose): d for d in vaccination_plan(day0, (), today, vaccination)}[(vaccine, 1)]

    zoster = created["vaccine-zoster"]
    assert dose_on(zoster, "zoster_recombinant").status == DoseStatus.DUE
    assert dose_on(zoster - one, "zoster_recombinant").status == DoseStatus.UPCOMING
    for key, vaccines in FIRST_DOSE_EVENTS.items():
        assert created[key] == min(dose_on(day0, v).due_date for v in vaccines), key
    assert any(dose_on(created["vaccine-flu-pneumo"], v).status == DoseStatus.DUE for v in ("influenza", "pcv13"))
    assert dose_on(created["vaccine-live"], "mmr").due_date >= live

    cd4 = [(day0 + timedelta(days=1), 0.5)]

    def course(today, medication):
        courses = prophylaxis_plan(
            day0, anchors[Anchor.CONDITIONING_START], anchors[Anchor.NEUTROPHIL_ENGRAFTMENT], cd4, today, prophylaxis
        )
        return {c.medication: c for c in courses}[medication]

    for medication in ("aciclovir", "cotrimoxazole"):
        review = created[f"{medication}-review"]
        assert course(review, medication).stop_allowed, medication
        assert not course(review - one, medication).stop_allowed, medication
        assert created[f"{medication}-start"] == course(review, medication).start


@pytest.mark.parametrize("day0", AGREEMENT_DAY0S)
def test_the_live_vaccine_event_is_calendar_months_not_730_days(day0):
    """The live-vaccine event is 24 calendar months after Day 0 (add_months), whatever the template's offset."""
    created, _ = _rule_plan(day0, DEFAULT_VACCINATION_CONFIG, DEFAULT_PROPHYLAXIS_CONFIG)
    assert created["vaccine-live"] == add_months(day0, 24) == live_vaccine_earliest(day0)


@pytest.mark.parametrize("code", PROTOCOL_CODES)
def test_every_default_protocol_has_the_rule_dated_events(code):
    """The rule-dated keys are in every shipped protocol, so a rename cannot silently unlink them."""
    assert {e.key for e in DEFAULT_PROTOCOLS[code].events} >= RULE_KEYS


def test_a_rule_date_wins_over_the_offset_and_none_removes_the_untouched_event():
    """A key in rule_dates takes that date (offset ignored); a None rule date removes only an untouched event."""
    template = (
        TemplateEvent("vaccine-live", Anchor.DAY0, 730, EventKind.VACCINATION, "Live vaccines"),
        TemplateEvent("cotrimoxazole-review", Anchor.DAY0, 91, EventKind.MEDICATION_STOP, "Review"),
        TemplateEvent("visit-d30", Anchor.DAY0, 30, EventKind.VISIT, "Visit"),
    )
    rule = {"vaccine-live": date(2027, 3, 1), "cotrimoxazole-review": None}
    plan = plan_timeline(template, ALL_ANCHORS, [], rule)
    assert {c.template_key: c.planned_date for c in plan.create} == {
        "vaccine-live": date(2027, 3, 1),
        "visit-d30": DAY0 + timedelta(days=30),
    }
    stored = [
        ExistingEvent(1, "vaccine-live", DAY0 + timedelta(days=730), EventStatus.PLANNED, False),
        ExistingEvent(2, "cotrimoxazole-review", DAY0 + timedelta(days=91), EventStatus.PLANNED, False),
    ]
    plan = plan_timeline(template[:2], ALL_ANCHORS, stored, rule)
    assert plan.move == (PlannedMove(1, date(2027, 3, 1)),)
    assert plan.remove == (2,)
    touched = [replace(e, manually_changed=True) for e in stored]
    assert plan_timeline(template[:2], ALL_ANCHORS, touched, rule).is_empty


def test_rule_dates_without_day0_are_all_none():
    """Before Day 0 is known no rule-dated event has a date."""
    dates = rule_dates(
        day0=None,
        conditioning_start=CONDITIONING_START,
        neutrophil_engraftment=None,
        vaccination=DEFAULT_VACCINATION_CONFIG,
        prophylaxis=DEFAULT_PROPHYLAXIS_CONFIG,
    )
    assert dates == dict.fromkeys(RULE_KEYS)


def test_a_medication_or_vaccine_the_centre_does_not_use_has_no_event():
    """A disabled prophylaxis template or a schedule without live vaccines gives no date: no event."""
    dates = rule_dates(
        day0=DAY0,
        conditioning_start=CONDITIONING_START,
        neutrophil_engraftment=None,
        vaccination=replace(
            DEFAULT_VACCINATION_CONFIG,
            schedule=tuple(d for d in DEFAULT_VACCINATION_CONFIG.schedule if d.vaccine not in ("mmr", "varicella")),
        ),
        prophylaxis=DEFAULT_PROPHYLAXIS_CONFIG.with_template("cotrimoxazole", enabled=False),
    )
    assert dates["vaccine-live"] is None
    assert dates["cotrimoxazole-review"] is None
    assert dates["cotrimoxazole-start"] is None
    assert dates["aciclovir-review"] == add_months(DAY0, 12)
