"""The laboratory CSV import: a file of results for the centre's patients, checked line by line with the same
check as the form and the API; what became of each line is kept with the import."""

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Centre
from recovery.clinical.labs_config import ANC, CD4, EBV_PCR, PLATELETS
from recovery.models import (
    LabImport,
    LabResult,
    LabSource,
    LabTest,
    Patient,
)
from recovery.queries.configuration import ActiveConfig, active_config
from recovery.services.audit import AuditContext, record_event
from recovery.services.labs import LAB_TESTS, check_collected_at, check_ebv_alert, checked_value, store_result

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


def _test_code(raw: str) -> str | None:
    text = raw.strip().lower()
    if text in LAB_TESTS:
        return text
    for code, label in LabTest.choices:
        if text == label.lower():
            return code
    return _TEST_ALIASES.get(text)


def _parse_time(raw: str, zone: ZoneInfo) -> datetime:
    text = raw.strip()
    if not text:
        raise ValidationError("No collection time.")
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
        raise ValidationError(f"“{text[:40]}” is not a date and time; write it as 2025-03-10 07:30.")
    if len(text) <= 10:
        raise ValidationError(f"“{text}” has no time of day; write it as {text} 07:30.")
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


@dataclass
class _Batch:
    lines: list[ImportLine] = field(default_factory=list)
    created_by_patient: dict[int, list[LabResult]] = field(default_factory=lambda: defaultdict(list))


def import_lab_csv(
    *, context: AuditContext, centre: Centre, patients: Iterable[Patient], filename: str, data: bytes
) -> LabImport:
    """Import a CSV of results for the patients of `centre` that the uploader may see (`patients`).

    Columns (header row, any order; comma, semicolon or tab): hospital_number, test, value, unit, collected_at.
    A time without an offset is in the patient's own zone. Each line is accepted, a duplicate (that sample is
    already recorded with that value: nothing added) or rejected with the reason; the report is saved with the
    import. Good lines are saved even when others are rejected. Raises ValidationError for a file that cannot
    be read at all (nothing is saved then).
    """
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationError(f"The file is larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MB: split it.")
    text = _decode(data)
    control = _CONTROL.search(text)
    if control is not None:
        line = text.count("\n", 0, control.start()) + 1
        raise ValidationError(
            f"Line {line} contains a control character (such as NUL): this is not a CSV text file. "
            "Nothing was imported."
        )
    if not text.strip():
        raise ValidationError("The file is empty.")
    first_line = text.splitlines()[0]
    try:
        dialect = csv.Sniffer().sniff(first_line, delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise ValidationError("The file has no header row.") from None
    columns = _header_map(header)
    missing = [name for name in CSV_COLUMNS if name not in columns]
    if missing:
        raise ValidationError(
            f"The header row lacks the column(s) {', '.join(missing)}. Expected: {', '.join(CSV_COLUMNS)}."
        )
    by_number = {p.hospital_number.strip().lower(): p for p in patients if p.centre_id == centre.pk}
    config = active_config(centre)
    batch = _Batch()
    with transaction.atomic():
        lab_import = LabImport.objects.create(centre=centre, uploaded_by=context.actor, filename=filename[:255])
        seen: dict[tuple[int, str, datetime], Decimal] = {}
        try:
            for row in reader:
                if reader.line_num > MAX_IMPORT_ROWS + 1:
                    batch.lines.append(
                        ImportLine(reader.line_num, REJECTED, f"Stopped: at most {MAX_IMPORT_ROWS} lines per file.")
                    )
                    break
                if not any(cell.strip() for cell in row):
                    continue
                line = _import_row(row, reader.line_num, columns, by_number, config, lab_import, seen, batch)
                batch.lines.append(line)
        except csv.Error as exc:
            batch.lines.append(ImportLine(reader.line_num, REJECTED, f"The file cannot be read from here on: {exc}."))
        counts = defaultdict(int)
        for line in batch.lines:
            counts[line.outcome] += 1
        lab_import.accepted = counts[ACCEPTED]
        lab_import.duplicates = counts[DUPLICATE]
        lab_import.rejected = counts[REJECTED]
        lab_import.report = [line.as_dict() for line in batch.lines]
        lab_import.save()
        record_event(
            context=context,
            action="labs.import",
            detail={
                "import": str(lab_import.uuid),
                "accepted": lab_import.accepted,
                "duplicates": lab_import.duplicates,
                "rejected": lab_import.rejected,
            },
        )
        for results in batch.created_by_patient.values():
            patient = results[0].patient
            record_event(
                context=context,
                action="labs.record",
                patient=patient,
                detail={"source": LabSource.CSV, "import": str(lab_import.uuid), "results": len(results)},
            )
            check_ebv_alert(patient=patient, results=results, config=config)
    return lab_import


def _import_row(row, line_num, columns, by_number, config: ActiveConfig, lab_import, seen, batch) -> ImportLine:
    def cell(name: str) -> str:
        index = columns[name]
        return row[index].strip() if index < len(row) else ""

    number, raw_test, raw_value = cell("hospital_number"), cell("test"), cell("value")
    line = ImportLine(line_num, REJECTED, "", number[:40], raw_test[:40], raw_value[:40])
    problems = []
    patient = by_number.get(number.lower()) if number else None
    if not number:
        problems.append("No hospital number.")
    elif patient is None:
        problems.append(f"No patient with hospital number “{number[:40]}” at this centre.")
    test = _test_code(raw_test) if raw_test else None
    if not raw_test:
        problems.append("No test.")
    elif test is None:
        problems.append(f"Unknown test “{raw_test[:40]}”; use one of {', '.join(LAB_TESTS)}.")
    value = None
    unit = cell("unit")
    if test is not None:
        if not unit:
            problems.append(f"No unit: give the unit of the result ({config.labs.unit(test)} expected).")
        else:
            try:
                value = checked_value(test, raw_value, unit, config.labs)
            except ValidationError as exc:
                problems.extend(message for messages in exc.message_dict.values() for message in messages)
    collected_at = None
    if patient is not None:
        try:
            collected_at = check_collected_at(patient, _parse_time(cell("collected_at"), ZoneInfo(patient.timezone)))
        except ValidationError as exc:
            problems.extend(exc.messages)
    if problems:
        line.message = " ".join(problems)
        return line
    key = (patient.pk, test, collected_at)
    if key in seen:
        if seen[key] == value:
            line.outcome, line.message = DUPLICATE, "The same result appears earlier in this file: imported once."
        else:
            line.message = "An earlier line of this file gives another value for the same sample."
        return line
    seen[key] = value
    try:
        outcome = store_result(
            patient=patient,
            test=test,
            value=value,
            collected_at=collected_at,
            source=LabSource.CSV,
            actor=lab_import.uploaded_by,
            config=config.labs,
            lab_import=lab_import,
        )
    except ValidationError as exc:
        line.message = " ".join(exc.messages)
        return line
    shown = f"{value.normalize():f} {config.labs.unit(test)}"
    if not outcome.created:
        line.outcome, line.message = DUPLICATE, f"Already recorded ({shown}): not imported again."
        return line
    batch.created_by_patient[patient.pk].append(outcome.result)
    local = timezone.localtime(collected_at, ZoneInfo(patient.timezone))
    line.outcome, line.message = ACCEPTED, f"{LabTest(test).label} {shown} on {local:%Y-%m-%d %H:%M}."
    return line
