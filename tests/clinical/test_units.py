"""The one table of lab units (recovery/clinical/units.py), read both ways: every canonical unit the app stores has
its UCUM code, and that code read back is the same unit, converted by a factor of 1."""

from decimal import Decimal

import pytest

from recovery.clinical.labs_config import DEFAULT_LAB_CONFIG
from recovery.clinical.units import UNITS, conversion, normalise_unit, ucum_code

CANONICAL = sorted({unit for _test, unit in DEFAULT_LAB_CONFIG.units})


@pytest.mark.parametrize("unit", CANONICAL)
def test_every_canonical_unit_goes_to_ucum_and_back(unit):
    code = ucum_code(unit)
    assert code, f"{unit} has no UCUM code"
    assert normalise_unit(code) == normalise_unit(unit)
    assert conversion(code) == (normalise_unit(unit), Decimal(1))


@pytest.mark.parametrize(("unit", "ucum", "canonical", "factor"), UNITS)
def test_every_unit_of_the_table_is_read_as_written_and_as_its_ucum_code(unit, ucum, canonical, factor):
    assert conversion(unit) == (normalise_unit(canonical), factor)
    if ucum:
        assert conversion(ucum) == (normalise_unit(canonical), factor)
    assert canonical in CANONICAL


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("x10^9/L", "10*9/L"),
        ("\u00d710⁹/L", "10*9/L"),
        ("10e9/l", "10*9/L"),
        ("copies/mL", "{copies}/mL"),
        ("mIU/L", "m[IU]/L"),
        ("µIU/mL", "u[IU]/mL"),
        ("10^3/µL", "10*3/uL"),
        ("cells/µL", "{cells}/uL"),
    ],
)
def test_a_ucum_code_and_the_units_usual_spellings_are_one_unit(written, code):
    assert normalise_unit(written) == normalise_unit(code)


@pytest.mark.parametrize("unit", ["cells/uL", "g/dL", "10^3/uL", "cells/µL", "%", ""])
def test_only_a_canonical_unit_has_an_outgoing_ucum_code(unit):
    """A value stored in another unit (an old row) is sent as text only: its number would not match a code."""
    assert ucum_code(unit) is None


@pytest.mark.parametrize("unit", ["10*6/L", "10*3/L", "%", "mmol/L", "10*9/l", "mg/L"])
def test_a_unit_not_in_the_table_is_not_guessed(unit):
    assert conversion(unit) is None
