"""The units of lab results (no Django): one table of the units the app reads, converts and writes, each with its
UCUM code, read both ways.

Every value is stored in its test's canonical unit (`LabConfig.units`). `UNITS` lists the canonical units and the
obvious alternates (cells/µL, 10^3/µL, g/dL, mg/dL, µIU/mL), each with the canonical unit it converts to, the
factor, and its UCUM code where it has one. In: `normalise_unit` reads a unit as typed ("x10^9/L", with the
multiplication sign, "10e9/l", "cells/µL") or as its UCUM code, as a FHIR Bundle carries it ("10*9/L",
"{cells}/uL", "m[IU]/L"), and `conversion` gives its canonical unit and factor. Out: `ucum_code` gives the UCUM
code of a canonical unit, for a FHIR Observation. Only the spelling changes between a UCUM code and its unit
here, never the scale.
"""

import re
from decimal import Decimal

CELLS = "x10^9/L"
COPIES = "copies/mL"

# (the unit as the app spells it, its UCUM code or "" when it has none, the canonical unit it converts to, factor)
UNITS: tuple[tuple[str, str, str, Decimal], ...] = (
    # the canonical units (LabConfig.units)
    (CELLS, "10*9/L", CELLS, Decimal(1)),
    ("g/L", "g/L", "g/L", Decimal(1)),
    (COPIES, "{copies}/mL", COPIES, Decimal(1)),
    ("mIU/L", "m[IU]/L", "mIU/L", Decimal(1)),
    ("pmol/L", "pmol/L", "pmol/L", Decimal(1)),
    # counts
    ("cells/uL", "{cells}/uL", CELLS, Decimal("0.001")),
    ("/uL", "/uL", CELLS, Decimal("0.001")),
    ("cells/mm3", "{cells}/mm3", CELLS, Decimal("0.001")),
    ("/mm3", "/mm3", CELLS, Decimal("0.001")),
    ("10^3/uL", "10*3/uL", CELLS, Decimal(1)),
    ("10^3/mm3", "10*3/mm3", CELLS, Decimal(1)),
    ("K/uL", "", CELLS, Decimal(1)),
    ("thou/uL", "", CELLS, Decimal(1)),
    ("10^6/mL", "10*6/mL", CELLS, Decimal(1)),
    # haemoglobin, IgG
    ("g/dL", "g/dL", "g/L", Decimal(10)),
    ("mg/dL", "mg/dL", "g/L", Decimal("0.01")),
    ("mg/mL", "mg/mL", "g/L", Decimal(1)),
    # viral loads
    ("cp/mL", "", COPIES, Decimal(1)),
    ("copy/mL", "", COPIES, Decimal(1)),
    # TSH
    ("mU/L", "", "mIU/L", Decimal(1)),
    ("uIU/mL", "u[IU]/mL", "mIU/L", Decimal(1)),
    ("uU/mL", "", "mIU/L", Decimal(1)),
)

_SPELLING = {ucum: unit for unit, ucum, _canonical, _factor in UNITS if ucum}  # UCUM code -> the app's spelling
_UCUM = {unit: ucum for unit, ucum, canonical, _factor in UNITS if ucum and unit == canonical}


def normalise_unit(unit: str) -> str:
    """`unit` as a key: a UCUM code read as the app's spelling, then lower case, no spaces, "µ"/"μ" -> "u", the
    multiplication sign or "*" -> "x", the "10e9"/"10^9"/"109" spellings -> "10^9", a leading "x" dropped."""
    text = _SPELLING.get(unit.strip(), unit)
    text = text.strip().lower().replace("µ", "u").replace("μ", "u").replace("\u00d7", "x").replace("*", "x")
    text = text.replace("⁹", "^9").replace("³", "^3").replace("⁶", "^6")
    text = re.sub(r"\s+", "", text)
    text = re.sub(r"10(e|\^)?9", "10^9", text) if "10" in text else text
    text = re.sub(r"10(e|\^)3", "10^3", text)
    text = re.sub(r"10(e|\^)6", "10^6", text)
    text = text.replace("mcl", "ul").replace("microl", "ul")
    if text.startswith("x"):
        text = text[1:]
    return text


_CONVERSIONS = {normalise_unit(unit): (normalise_unit(canonical), factor) for unit, _ucum, canonical, factor in UNITS}


def conversion(unit: str) -> tuple[str, Decimal] | None:
    """(the canonical unit, normalised, and the factor to it) of `unit` as typed or as a UCUM code; None when the
    unit is not in the table."""
    return _CONVERSIONS.get(normalise_unit(unit))


def ucum_code(unit: str) -> str | None:
    """The UCUM code of a canonical unit as the app stores it ("x10^9/L" -> "10*9/L"); None for another unit."""
    return _UCUM.get(unit)
