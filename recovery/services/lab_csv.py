"""Reading a laboratory CSV file: its encoding, dialect and columns, test names and times (no database).

`recovery.services.lab_import` checks and saves what is read here."""

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from recovery.clinical.labs_config import ANC, CD4, EBV_PCR, PLATELETS
from recovery.models import LabTest
from recovery.services.labs import LAB_TESTS

MAX_IMPORT_BYTES = 2 * 1024 * 1024


MAX_IMPORT_ROWS = 20_000


# Outcomes of one CSV line.
ACCEPTED = "accepted"


DUPLICATE = "duplicate"


REJECTED = "rejected"


CSV_COLUMNS = ("hospital_number", "test", "value", "unit", "collected_at")


_HEADER_ALIASES = {
    "hospital_number": {"hospital_number", "hospital number", "hospital no", "mrn", "patient", "patient_id"},
    "test": {"test", "analyte", "code"},
    "value": {"value", "result"},
    "unit": {"unit", "units"},
    "collected_at": {"collected_at", "collected at", "collected", "sampled_at", "taken_at", "date"},
}


_TEST_ALIASES = {
    "neutrophils": ANC,
    "neut": ANC,
    "abs neutrophils": ANC,
    "white cells": "wbc",
    "leukocytes": "wbc",
    "plt": PLATELETS,
    "platelet": PLATELETS,
    "hb": "haemoglobin",
    "hgb": "haemoglobin",
    "hemoglobin": "haemoglobin",
    "lymphs": "lymphocytes",
    "cd4+": CD4,
    "cd8+": "cd8",
    "cd19+": "cd19",
    "nk cells": "nk",
    "ebv": EBV_PCR,
    "ebv dna": EBV_PCR,
    "cmv": "cmv_pcr",
    "cmv dna": "cmv_pcr",
}


_TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")


TEMPLATE_CSV = (
    "hospital_number,test,value,unit,collected_at\n"
    "UAS-1001,anc,0.4,x10^9/L,2025-03-10 07:30\n"
    "UAS-1001,platelets,18,x10^9/L,2025-03-10 07:30\n"
    "UAS-1001,cd4,180,cells/uL,2025-06-02 08:15\n"
    "UAS-1001,ebv_pcr,1200,copies/mL,2025-03-10T07:30:00+01:00\n"
)


def lab_test_code(raw: str) -> str | None:
    text = raw.strip().lower()
    if text in LAB_TESTS:
        return text
    for code, label in LabTest.choices:
        if text == label.lower():
            return code
    return _TEST_ALIASES.get(text)


def parse_time(raw: str, zone: ZoneInfo) -> datetime:
    text = raw.strip()
    if not text:
        raise ValidationError(_("No collection time."))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for pattern in _TIME_FORMATS:
            try:
                parsed = datetime.strptime(text, pattern)  # noqa: DTZ007 - naive: the patient's own zone, below
                break
            except ValueError:
                continue
    if parsed is None:
        raise ValidationError(
            _("“%(text)s” is not a date and time; write it as 2025-03-10 07:30.") % {"text": text[:40]}
        )
    if len(text) <= 10:
        raise ValidationError(_("“%(text)s” has no time of day; write it as %(text)s 07:30.") % {"text": text})
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=zone)


# C0 control characters other than tab, line feed and carriage return (a NUL cannot be stored as text).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _header_map(header: Sequence[str]) -> dict[str, int]:
    found = {}
    for index, name in enumerate(header):
        key = name.strip().lower().replace("\ufeff", "")
        for column, aliases in _HEADER_ALIASES.items():
            if key in aliases and column not in found:
                found[column] = index
    return found


@dataclass
class ImportLine:
    line: int
    outcome: str
    message: str
    hospital_number: str = ""
    test: str = ""
    value: str = ""

    def as_dict(self) -> dict:
        return {
            "line": self.line,
            "outcome": self.outcome,
            "message": self.message,
            "hospital_number": self.hospital_number,
            "test": self.test,
            "value": self.value,
        }


def open_csv(data: bytes) -> tuple[str, type[csv.Dialect] | csv.Dialect, dict[str, int]]:
    """The file's text, dialect and columns; ValidationError for a file that cannot be read at all."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationError(
            _("The file is larger than %(size)s MB: split it.") % {"size": MAX_IMPORT_BYTES // (1024 * 1024)}
        )
    text = _decode(data)
    control = _CONTROL.search(text)
    if control is not None:
        line = text.count("\n", 0, control.start()) + 1
        raise ValidationError(
            _(
                "Line %(line)s contains a control character (such as NUL): this is not a CSV text file. "
                "Nothing was imported."
            )
            % {"line": line}
        )
    if not text.strip():
        raise ValidationError(_("The file is empty."))
    first_line = text.splitlines()[0]
    try:
        dialect = csv.Sniffer().sniff(first_line, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise ValidationError(_("The file has no header row.")) from None
    columns = _header_map(header)
    missing = [name for name in CSV_COLUMNS if name not in columns]
    if missing:
        raise ValidationError(
            _("The header row lacks the column(s) %(missing)s. Expected: %(expected)s.")
            % {"missing": ", ".join(missing), "expected": ", ".join(CSV_COLUMNS)}
        )
    return text, dialect, columns
