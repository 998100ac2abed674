"""The code lists in recovery/clinical/terminology_data/ (issue 17 item 6): each row well formed, each file naming
its source, the check digits of LOINC and SNOMED CT codes right, and every code the app needs present."""

import csv
import re
from pathlib import Path

import pytest

from recovery.clinical.labs_config import DEFAULT_LAB_CONFIG, DEFAULT_PROPHYLAXIS_CONFIG, DEFAULT_VACCINATION_CONFIG
from recovery.clinical.terminology import DATA, SYSTEMS, codings, key_for
from recovery.clinical.units import ucum_code
from recovery.clinical.vaccination import VACCINE_NAMES
from recovery.models import LabTest
from recovery.queries.prophylaxis import MEDICATIONS

FILES = sorted(path.stem for path in DATA.glob("*.csv"))
# The form of a code, by system: LOINC nnnnn-n, CVX up to three digits, ATC level 5, an SCTID 6-18 digits.
FORMATS = {
    "http://loinc.org": re.compile(r"^\d{1,7}-\d$"),
    "http://hl7.org/fhir/sid/cvx": re.compile(r"^\d{1,3}$"),
    "http://www.whocc.no/atc": re.compile(r"^[A-Z]\d\d[A-Z][A-Z]\d\d$"),
    "http://snomed.info/sct": re.compile(r"^[1-9]\d{5,17}$"),
}
UCUM_CODE = re.compile(r"^[\x21-\x7e]+$")  # UCUM's case-sensitive codes: printable ASCII, no space


def loinc_check_digit_ok(code: str) -> bool:
    """LOINC's mod 10 check digit (the Luhn algorithm on the digits before the hyphen)."""
    number, check = code.split("-")
    total = 0
    for position, digit in enumerate(int(d) for d in reversed(number)):
        if position % 2 == 0:
            digit *= 2
            digit = digit - 9 if digit > 9 else digit
        total += digit
    return (10 - total % 10) % 10 == int(check)


_D = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 2, 3, 4, 0, 6, 7, 8, 9, 5],
    [2, 3, 4, 0, 1, 7, 8, 9, 5, 6],
    [3, 4, 0, 1, 2, 8, 9, 5, 6, 7],
    [4, 0, 1, 2, 3, 9, 5, 6, 7, 8],
    [5, 9, 8, 7, 6, 0, 4, 3, 2, 1],
    [6, 5, 9, 8, 7, 1, 0, 4, 3, 2],
    [7, 6, 5, 9, 8, 2, 1, 0, 4, 3],
    [8, 7, 6, 5, 9, 3, 2, 1, 0, 4],
    [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
]
_P = [
    [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    [1, 5, 7, 6, 2, 8, 3, 0, 9, 4],
    [5, 8, 0, 3, 7, 9, 6, 1, 4, 2],
    [8, 9, 1, 6, 0, 4, 3, 5, 2, 7],
    [9, 4, 5, 3, 1, 2, 6, 8, 7, 0],
    [4, 2, 8, 6, 5, 7, 3, 9, 0, 1],
    [2, 7, 9, 3, 8, 0, 6, 4, 1, 5],
    [7, 0, 4, 6, 9, 1, 3, 2, 5, 8],
]


def sctid_check_digit_ok(code: str) -> bool:
    """SNOMED CT identifiers end in a Verhoeff check digit."""
    check = 0
    for position, digit in enumerate(int(d) for d in reversed(code)):
        check = _D[check][_P[position % 8][digit]]
    return check == 0


@pytest.mark.parametrize(
    ("check", "code", "ok"),
    [
        (loinc_check_digit_ok, "751-8", True),
        (loinc_check_digit_ok, "751-7", False),
        (loinc_check_digit_ok, "24467-3", True),
        (sctid_check_digit_ok, "24700007", True),  # multiple sclerosis
        (sctid_check_digit_ok, "24700008", False),
        # the permutation's fifth row matters: a wrong table rejected this real concept (RRMS)
        (sctid_check_digit_ok, "426373005", True),
        (sctid_check_digit_ok, "426373006", False),
    ],
)
def test_the_check_digit_rules(check, code, ok):
    assert check(code) is ok


def _rows(stem: str) -> tuple[list[str], list[dict]]:
    with (DATA / f"{stem}.csv").open(encoding="utf-8", newline="") as handle:
        lines = handle.read().splitlines()
    comments = [line.lstrip("#").strip() for line in lines if line.startswith("#")]
    body = [line for line in lines if not line.startswith("#")]
    return comments, list(csv.DictReader(body))


@pytest.mark.parametrize("stem", FILES)
def test_each_code_list_names_its_source_and_each_row_is_well_formed(stem):
    comments, rows = _rows(stem)
    assert stem in SYSTEMS, f"{stem}.csv has no system URI in terminology.SYSTEMS"
    text = " ".join(comments)
    assert re.search(r"https?://", text), f"{stem}.csv does not name its source"
    assert re.search(r"checked on \d{4}-\d{2}-\d{2}", text), f"{stem}.csv does not say when its codes were checked"
    assert rows, stem
    assert list(rows[0]) == ["key", "code", "display", "unit"]
    system = SYSTEMS[stem]
    keys = [row["key"] for row in rows]
    assert len(keys) == len(set(keys)), f"a key twice in {stem}.csv"
    codes = [row["code"] for row in rows]
    assert len(codes) == len(set(codes)), f"a code twice in {stem}.csv"
    for row in rows:
        assert re.match(r"^[a-z][a-z0-9_]*$", row["key"]), row
        assert row["display"], row
        assert row["display"] == row["display"].strip(), row
        if system in FORMATS:
            assert FORMATS[system].match(row["code"]), row
        if system == "http://loinc.org":
            assert loinc_check_digit_ok(row["code"]), row
        if system == "http://snomed.info/sct":
            assert sctid_check_digit_ok(row["code"]), row
        if row["unit"]:
            assert UCUM_CODE.match(row["unit"]), row


def test_every_lab_test_has_a_loinc_code_in_the_ucum_form_of_its_unit():
    """The unit of the code list is the UCUM code of the canonical unit the app stores the test in."""
    loinc = codings("loinc")
    for test in LabTest.values:
        assert test in loinc, f"no LOINC code for {test}"
        assert ucum_code(DEFAULT_LAB_CONFIG.unit(test)) == loinc[test].unit, test
        assert key_for("loinc", loinc[test].code) == test


def test_every_vaccine_of_the_schedule_has_a_cvx_code():
    cvx = codings("cvx")
    scheduled = {dose.vaccine for dose in DEFAULT_VACCINATION_CONFIG.dose_list()}
    assert scheduled <= set(VACCINE_NAMES)
    assert set(VACCINE_NAMES) <= set(cvx)


def test_every_prophylaxis_medication_has_an_atc_code():
    atc = codings("atc")
    templates = {template.medication for template in DEFAULT_PROPHYLAXIS_CONFIG.template_list()}
    assert templates | set(MEDICATIONS) <= set(atc)


def test_the_data_files_are_the_ones_the_module_reads():
    assert Path(DATA).is_dir()
    assert {"loinc", "cvx", "atc", "snomed_outcomes"} <= set(FILES)
