"""Febrile neutropenia for the cohort rate, CTCAE v5.0 (recovery/clinical/febrile_neutropenia.py).

Every threshold and window edge is tested on both sides. "T" is 12:00 UTC on 6 January 2020; the window is
[`START`, `END`) around it unless a test says otherwise.
"""

import ast
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from recovery.clinical import febrile_neutropenia as fn_module
from recovery.clinical.config import DEFAULT_OUTCOME_CONFIG
from recovery.clinical.febrile_neutropenia import (
    FNStatus,
    TimedValue,
    febrile_neutropenia,
    fever_moments,
    nearest_anc,
)

T = datetime(2020, 1, 6, 12, tzinfo=UTC)
START = datetime(2019, 12, 27, tzinfo=UTC)
END = datetime(2020, 4, 11, tzinfo=UTC)


def at(minutes: float = 0, hours: float = 0) -> datetime:
    return T + timedelta(minutes=minutes, hours=hours)


def temps(*pairs) -> list[TimedValue]:
    return [TimedValue(when, value) for when, value in pairs]


def status(readings, counts, *, start=START, end=END, closed=True, **overrides):
    config = replace(DEFAULT_OUTCOME_CONFIG, **overrides)
    return febrile_neutropenia(
        readings=temps(*readings), anc_results=temps(*counts), start=start, end=end, closed=closed, config=config
    ).status


LOW_ANC = [(at(hours=-1), "0.2")]

FEVER_CASES = [
    # one reading
    ("single-38.3-at-threshold", [(at(), "38.3")], True),
    ("single-38.2-below", [(at(), "38.2")], False),
    ("single-39.5", [(at(), "39.5")], True),
    # sustained: more than 60 minutes, strictly
    ("sustained-61-minutes", [(at(), "38.0"), (at(61), "38.0")], True),
    ("sustained-60-minutes-exactly-is-not-over-an-hour", [(at(), "38.0"), (at(60), "38.0")], False),
    ("sustained-59-minutes", [(at(), "38.1"), (at(59), "38.2")], False),
    ("sustained-second-reading-37.9", [(at(), "38.0"), (at(90), "37.9")], False),
    ("sustained-first-reading-37.9", [(at(), "37.9"), (at(90), "38.0")], False),
    ("sustained-through-a-reading-in-between-at-38.0", [(at(), "38.0"), (at(30), "38.0"), (at(90), "38.1")], True),
    ("a-37.9-in-between-breaks-it", [(at(), "38.0"), (at(30), "37.9"), (at(90), "38.1")], False),
    ("sustained-24-hours-apart-at-most", [(at(), "38.0"), (at(hours=24), "38.0")], True),
    ("sustained-24-hours-and-a-minute-apart", [(at(), "38.0"), (at(24 * 60 + 1), "38.0")], False),
    ("readings-out-of-order", [(at(90), "38.0"), (at(), "38.0")], True),
    ("no-readings", [], False),
]


@pytest.mark.parametrize(("readings", "febrile"), [pytest.param(*case[1:], id=case[0]) for case in FEVER_CASES])
def test_the_fever_part(readings, febrile):
    counts = [(at(hours=-1), "0.2"), (at(90), "0.2")]
    assert status(readings, counts) == (FNStatus.YES if febrile else FNStatus.NO)


@pytest.mark.parametrize(
    ("counts", "expected"),
    [
        pytest.param([(at(hours=-1), "0.99")], FNStatus.YES, id="anc-0.99-below"),
        pytest.param([(at(hours=-1), "1.0")], FNStatus.NO, id="anc-1.0-is-not-below"),
        pytest.param([(at(hours=-24), "0.2")], FNStatus.YES, id="24h-before-in"),
        pytest.param([(at(-24 * 60 - 1), "0.2")], FNStatus.NO, id="24h-and-a-minute-before-out"),
        pytest.param([(at(hours=24), "0.2")], FNStatus.YES, id="24h-after-in"),
        pytest.param([(at(24 * 60 + 1), "0.2")], FNStatus.NO, id="24h-and-a-minute-after-out"),
        pytest.param([(at(hours=-20), "0.2"), (at(hours=-1), "1.5")], FNStatus.NO, id="the-nearest-count-decides"),
        pytest.param([(at(hours=-20), "1.5"), (at(hours=2), "0.4")], FNStatus.YES, id="nearest-may-be-after"),
        pytest.param([(at(hours=-2), "0.4"), (at(hours=2), "1.5")], FNStatus.YES, id="tie-takes-the-earlier"),
    ],
)
def test_the_neutropenia_part(counts, expected):
    assert status([(at(), "38.5")], counts) == expected


def test_a_sustained_fever_is_met_at_its_later_reading():
    """The ANC nearest the later reading decides: 1.5 taken then, though 0.3 was nearest the first reading."""
    readings = [(at(), "38.0"), (at(hours=10), "38.0")]
    assert status(readings, [(at(), "0.3"), (at(hours=10), "1.5")]) == FNStatus.NO
    assert status(readings, [(at(), "1.5"), (at(hours=10), "0.3")]) == FNStatus.YES


@pytest.mark.parametrize(
    ("when", "inside"),
    [
        pytest.param(START, True, id="window-start-in"),
        pytest.param(START - timedelta(minutes=1), False, id="a-minute-before-start-out"),
        pytest.param(END - timedelta(minutes=1), True, id="a-minute-before-end-in"),
        pytest.param(END, False, id="end-is-exclusive"),
    ],
)
def test_the_window(when, inside):
    counts = [(when, "0.2"), (T, "0.3")]  # an ANC inside the window either way
    assert status([(when, "38.6")], counts) == (FNStatus.YES if inside else FNStatus.NO)


def test_an_open_window_is_pending_even_after_a_febrile_neutropenia():
    """Counting early events but not early non-events would raise the rate: the patient waits for the end."""
    assert status([(at(), "39.0")], LOW_ANC, closed=False) == FNStatus.PENDING


def test_no_anc_in_the_window_is_not_a_no():
    assert status([(at(), "39.0")], []) == FNStatus.NO_ANC
    assert status([], [(END + timedelta(days=3), "0.2")]) == FNStatus.NO_ANC
    assert status([], [(START, "0.2")]) == FNStatus.NO


def test_thresholds_come_from_the_config():
    assert status([(at(), "38.3")], LOW_ANC, fn_single_c=38.5) == FNStatus.NO
    assert status([(at(), "38.3")], [(at(hours=-1), "1.2")], fn_anc_below=1.5) == FNStatus.YES
    sustained = [(at(), "38.0"), (at(45), "38.0")]
    assert status(sustained, LOW_ANC, fn_sustained_minutes=30) == FNStatus.YES
    assert status([(at(), "38.0"), (at(hours=13), "38.0")], LOW_ANC, fn_sustained_max_gap_hours=12) == FNStatus.NO
    assert status([(at(), "38.5")], [(at(hours=-3), "0.2")], fn_anc_window_hours=2) == FNStatus.NO


def test_the_result_names_the_moment_and_the_count():
    result = febrile_neutropenia(
        readings=temps((at(), "38.0"), (at(70), "38.1")),
        anc_results=temps((at(hours=-1), "0.4")),
        start=START,
        end=END,
        closed=True,
    )
    assert (result.status, result.met_at, str(result.anc), result.counted) == (FNStatus.YES, at(70), "0.4", True)


def test_helpers():
    assert fever_moments(temps((at(), "38.4"), (at(5), "38.0"), (at(66), "38.0"))) == [at(), at(66)]
    assert nearest_anc(temps((at(hours=30), "0.1")), T) is None


def test_rule_is_pure_and_takes_thresholds_from_config():
    source = Path(fn_module.__file__).read_text(encoding="utf-8")
    tree = ast.parse(source)
    imported = {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert not any(name.startswith("django") for name in imported)
    assert not re.search(r"\b(now|today|utcnow)\(", source)
    numbers = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value not in (0, 1)
    ]
    assert numbers == []
