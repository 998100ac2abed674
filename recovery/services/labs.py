"""Lab results, platelet transfusions, engraftment and the lab alerts (issue 6; domain.md 2.1, 2.2, 3.2, 8.6-8.9, 8.14).

Every value is checked and stored in its test's canonical unit (`LabConfig.units`); a result in an obvious
alternate unit (cells/uL, 10^3/uL, g/dL, mg/dL, uIU/mL) is converted, any other unit is refused with a
message naming the expected one. A result is unique per patient, test and collection time: the same sample
recorded again is a duplicate (nothing is added), the same sample with another value is refused.

A value outside its test's plausible range (`LabConfig.plausible_ranges`) is refused by `checked_value`, the
one check the lab form (`record_lab_panel`), the API (`record_lab_result`) and the CSV import (`import_lab_csv`)
share, with a message naming the probable unit mix-up ("did you mean 0.06?").

Engraftment is computed by `recovery.clinical.engraftment` (the CIBMTR definitions) from each day's counts in
the patient's own time zone and proposed to a clinician, whose confirmation is what moves the patient out of
aplasia (`save_episode`). A stored count that fails the plausibility check (recorded before it, or under a
wider range) proposes nothing: the page names it instead. The daily scan raises the delayed-engraftment and
possible-graft-failure alerts, except for a patient whose ANC never fell below the threshold (no aplasia); an
EBV load above the configured threshold raises its alert when the result is recorded.
"""

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Centre, User
from recovery.clinical.engraftment import (
    ImplausibleValueError,
    check_lab_value,
    engraftment_flags,
    first_day_below,
    neutrophil_engraftment,
    neutrophil_never_below,
    platelet_engraftment,
    platelet_never_below,
)
from recovery.clinical.labs_config import ANC, CD4, EBV_PCR, PLATELETS, LabConfig
from recovery.clinical.phases import Flag, local_date
from recovery.clinical.triage import AlertKind, Severity
from recovery.models import (
    OPEN_STATUSES,
    Alert,
    EngraftmentConfirmation,
    EngraftmentKind,
    LabImport,
    LabResult,
    LabSource,
    LabTest,
    Patient,
    ResolutionAction,
    Transfusion,
    TransfusionProduct,
    TransplantEpisode,
)
from recovery.queries.configuration import ActiveConfig, active_config
from recovery.queries.timeline import patient_today
from recovery.services.alerts import raise_alert, resolve_alert
from recovery.services.audit import AuditContext, record_event
from recovery.services.timeline import save_episode

# The tests of api.md, in the order forms and tables show them.
LAB_TESTS: tuple[str, ...] = tuple(LabTest.values)
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST_YEAR = 2000
MAX_IMPORT_BYTES = 2 * 1024 * 1024
MAX_IMPORT_ROWS = 20_000
VALUE_PLACES = Decimal("0.0001")  # the model's four decimal places

# Alert kinds and the rules that raise them (stored with each alert).
KIND_DELAYED = AlertKind.DELAYED_ENGRAFTMENT.value
KIND_GRAFT_FAILURE = AlertKind.POSSIBLE_GRAFT_FAILURE.value
KIND_EBV = AlertKind.EBV_VIRAEMIA.value
RULE_DELAYED = "engraftment.delayed"
RULE_GRAFT_FAILURE = "engraftment.possible_graft_failure"
RULE_EBV = "ebv.above_threshold"
_FLAG_RULES = {
    Flag.DELAYED_ENGRAFTMENT: (KIND_DELAYED, RULE_DELAYED),
    Flag.POSSIBLE_GRAFT_FAILURE: (KIND_GRAFT_FAILURE, RULE_GRAFT_FAILURE),
}

# Outcomes of one CSV line.
ACCEPTED = "accepted"
DUPLICATE = "duplicate"
REJECTED = "rejected"


# Units ------------------------------------------------------------------------------------------------------

_CELLS = "10^9/l"  # normalised: see _normalise_unit
# Normalised unit -> (canonical unit it converts to, factor). Normalised: lower case, no spaces, "µ"/"μ" -> "u",
# the multiplication sign or "*" -> "x", "10e9"/"10^9"/"109" spellings -> "10^9", a leading "x" dropped.
_ALTERNATES: dict[str, tuple[str, Decimal]] = {
    "10^9/l": (_CELLS, Decimal(1)),
    "g/l": ("g/l", Decimal(1)),
    "copies/ml": ("copies/ml", Decimal(1)),
    "miu/l": ("miu/l", Decimal(1)),
    # counts
    "cells/ul": (_CELLS, Decimal("0.001")),
    "/ul": (_CELLS, Decimal("0.001")),
    "cells/mm3": (_CELLS, Decimal("0.001")),
    "/mm3": (_CELLS, Decimal("0.001")),
    "10^3/ul": (_CELLS, Decimal(1)),
    "k/ul": (_CELLS, Decimal(1)),
    "thou/ul": (_CELLS, Decimal(1)),
    "10^6/ml": (_CELLS, Decimal(1)),
    # haemoglobin, IgG
    "g/dl": ("g/l", Decimal(10)),
    "mg/dl": ("g/l", Decimal("0.01")),
    "mg/ml": ("g/l", Decimal(1)),
    # viral loads
    "cp/ml": ("copies/ml", Decimal(1)),
    "copy/ml": ("copies/ml", Decimal(1)),
    # TSH
    "mu/l": ("miu/l", Decimal(1)),
    "uiu/ml": ("miu/l", Decimal(1)),
    "uu/ml": ("miu/l", Decimal(1)),
}


def _normalise_unit(unit: str) -> str:
    text = unit.strip().lower().replace("µ", "u").replace("μ", "u").replace("\u00d7", "x").replace("*", "x")
    text = text.replace("⁹", "^9").replace("³", "^3").replace("⁶", "^6")
    text = re.sub(r"\s+", "", text)
    text = re.sub(r"10(e|\^)?9", "10^9", text) if "10" in text else text
    text = re.sub(r"10(e|\^)3", "10^3", text)
    text = re.sub(r"10(e|\^)6", "10^6", text)
    text = text.replace("mcl", "ul").replace("microl", "ul")
    if text.startswith("x"):
        text = text[1:]
    return text


def to_canonical(test: str, value: Decimal, unit: str | None, config: LabConfig) -> Decimal:
    """`value` (in `unit`, or the canonical unit when none is given) converted to the test's canonical unit.

    Raises ValidationError naming the expected unit when `unit` is not the canonical one nor a known alternate.
    """
    canonical = config.unit(test)
    if unit is None or not unit.strip():
        return value
    key = _normalise_unit(unit)
    target, factor = _ALTERNATES.get(key, (None, None))
    if target is None or target != _normalise_unit(canonical) or factor is None:
        raise ValidationError(
            {"unit": f"“{unit.strip()}” is not a unit for {LabTest(test).label}: send it in {canonical}."}
        )
    return value * factor


def parse_number(raw) -> Decimal:
    """A number as typed: "0.4", "0,4", "1 500 000", "5e5". ValidationError for anything else (e.g. "<500")."""
    if isinstance(raw, bool):
        raise ValidationError({"value": "Enter the result as a number."})
    if isinstance(raw, int | float | Decimal):
        text = str(raw)
    elif isinstance(raw, str):
        text = re.sub(r"[\s\u00a0\u202f_']", "", raw)
    else:
        raise ValidationError({"value": "Enter the result as a number."})
    if not text:
        raise ValidationError({"value": "Enter the result."})
    if "," in text:
        if "." in text or text.count(",") > 1 or re.search(r",\d{3}$", text):
            raise ValidationError(
                {"value": f"“{raw}” is ambiguous: write it without thousands separators and with a decimal point."}
            )
        text = text.replace(",", ".")
    if text[0] in "<>":
        raise ValidationError({"value": f"“{raw}” is not a measured value: enter the number (0 for “not detected”)."})
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError({"value": f"“{str(raw)[:40]}” is not a number."}) from None
    if not number.is_finite() or abs(number.adjusted()) > 12:
        raise ValidationError({"value": f"“{str(raw)[:40]}” is not a plausible result."})
    return number


def checked_value(test: str, raw, unit: str | None, config: LabConfig) -> Decimal:
    """The value of one result, converted to the canonical unit and checked as plausible (else ValidationError).

    The one check of a result's value for the lab form, the API and the CSV import, so that the three refuse
    the same values with the same message (`recovery.clinical.engraftment.implausible_message`).
    """
    if test not in LAB_TESTS:
        raise ValidationError({"test": f"Unknown test “{test}”. Known tests: {', '.join(LAB_TESTS)}."})
    value = to_canonical(test, parse_number(raw), unit, config)
    try:
        check_lab_value(test, float(value), config)
    except ValueError as exc:
        message = str(exc)
        if unit and _normalise_unit(unit) != _normalise_unit(config.unit(test)):
            message = f"{message} (Sent as {str(raw)[:40]} {unit.strip()[:32]}.)"
        raise ValidationError({"value": message}) from None
    return value.quantize(VALUE_PLACES, rounding=ROUND_HALF_UP)


def check_collected_at(patient: Patient, at: datetime | None, field: str = "collected_at") -> datetime:
    """An aware time that is not in the future and not implausibly old (else ValidationError on `field`)."""
    if at is None:
        raise ValidationError({field: "Give the date and time."})
    if at.tzinfo is None:
        raise ValidationError({field: "Give the time with its time zone offset, e.g. 2025-03-10T08:15:00+01:00."})
    if at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({field: "This time is in the future: check the date."})
    earliest = max(date(EARLIEST_YEAR, 1, 1), patient.date_of_birth or date(EARLIEST_YEAR, 1, 1))
    if local_date(at, patient.timezone) < earliest:
        raise ValidationError({field: "Check the year: this date is before the patient's records can start."})
    return at


# Recording --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordOutcome:
    result: LabResult
    created: bool  # False: the same sample with the same value was already recorded


def _store_result(
    *,
    patient: Patient,
    test: str,
    value: Decimal,
    collected_at: datetime,
    source: str,
    actor: User | None,
    config: LabConfig,
    lab_import: LabImport | None = None,
) -> RecordOutcome:
    """Create the result; the same sample already recorded is a duplicate (same value) or refused (another)."""
    existing = LabResult.objects.filter(patient=patient, test=test, collected_at=collected_at).first()
    if existing is None:
        try:
            with transaction.atomic():
                result = LabResult.objects.create(
                    patient=patient,
                    test=test,
                    value=value,
                    unit=config.unit(test),
                    collected_at=collected_at,
                    source=source,
                    lab_import=lab_import,
                    entered_by=actor,
                )
            return RecordOutcome(result, True)
        except IntegrityError:
            existing = LabResult.objects.get(patient=patient, test=test, collected_at=collected_at)
    if existing.value == value:
        return RecordOutcome(existing, False)
    local = timezone.localtime(existing.collected_at, ZoneInfo(patient.timezone))
    raise ValidationError(
        {
            "value": f"A {LabTest(test).label} result taken at {local:%Y-%m-%d %H:%M} is already recorded with "
            f"{existing.value.normalize():f} {existing.unit}; a sample has one result."
        }
    )


@transaction.atomic
def record_lab_result(
    *,
    context: AuditContext,
    patient: Patient,
    test: str,
    value,
    collected_at: datetime | None,
    unit: str | None = None,
    source: str = LabSource.API,
) -> RecordOutcome:
    """Record one result (the API): checked, converted, unique per sample; audited; EBV alert if above threshold."""
    config = active_config(patient.centre_id)
    errors: dict[str, list[str]] = {}
    number = None
    try:
        number = checked_value(test, value, unit, config.labs)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        collected_at = check_collected_at(patient, collected_at)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    outcome = _store_result(
        patient=patient,
        test=test,
        value=number,
        collected_at=collected_at,
        source=source,
        actor=context.actor,
        config=config.labs,
    )
    if outcome.created:
        record_event(
            context=context,
            action="labs.record",
            patient=patient,
            detail={"source": source, "tests": [test], "collected_at": collected_at.isoformat()},
        )
        check_ebv_alert(patient=patient, results=[outcome.result], config=config)
    return outcome


@dataclass(frozen=True)
class PanelOutcome:
    created: list[LabResult]
    duplicates: list[LabResult]
    transfusion: "Transfusion | None"


@transaction.atomic
def record_lab_panel(
    *,
    context: AuditContext,
    patient: Patient,
    collected_at: datetime | None,
    values: dict[str, object],
    platelet_transfusion_at: datetime | None = None,
) -> PanelOutcome:
    """Record a day's panel: each test's value (canonical unit) taken at `collected_at`, and optionally a platelet
    transfusion. Everything is checked first; any error (by field: the test code, or `collected_at`) saves nothing.
    """
    config = active_config(patient.centre_id)
    errors: dict[str, list[str]] = {}
    checked: dict[str, Decimal] = {}
    for test, raw in values.items():
        if raw is None or raw == "":
            continue
        try:
            checked[test] = checked_value(test, raw, None, config.labs)
        except ValidationError as exc:
            errors[test] = [message for messages in exc.message_dict.values() for message in messages]
    try:
        collected_at = check_collected_at(patient, collected_at)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if platelet_transfusion_at is not None:
        try:
            check_collected_at(patient, platelet_transfusion_at, "platelet_transfusion_at")
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if not checked and platelet_transfusion_at is None and not errors:
        errors["__all__"] = ["Enter at least one result (or a platelet transfusion)."]
    if errors:
        raise ValidationError(errors)
    created, duplicates = [], []
    for test, number in checked.items():
        try:
            outcome = _store_result(
                patient=patient,
                test=test,
                value=number,
                collected_at=collected_at,
                source=LabSource.FORM,
                actor=context.actor,
                config=config.labs,
            )
        except ValidationError as exc:
            errors[test] = exc.messages
            continue
        (created if outcome.created else duplicates).append(outcome.result)
    if errors:
        raise ValidationError(errors)  # the atomic block undoes the results already stored
    transfusion = None
    if platelet_transfusion_at is not None:
        transfusion = _store_transfusion(patient, TransfusionProduct.PLATELETS, platelet_transfusion_at, context.actor)[
            0
        ]
    if created:
        record_event(
            context=context,
            action="labs.record",
            patient=patient,
            detail={
                "source": LabSource.FORM,
                "tests": [r.test for r in created],
                "collected_at": collected_at.isoformat(),
            },
        )
        check_ebv_alert(patient=patient, results=created, config=config)
    return PanelOutcome(created=created, duplicates=duplicates, transfusion=transfusion)


def _store_transfusion(patient: Patient, product: str, given_at: datetime, actor: User | None):
    try:
        with transaction.atomic():
            row = Transfusion.objects.create(patient=patient, product=product, given_at=given_at, entered_by=actor)
            return row, True
    except IntegrityError:
        return Transfusion.objects.get(patient=patient, product=product, given_at=given_at), False


@transaction.atomic
def record_transfusion(
    *, context: AuditContext, patient: Patient, product: str, given_at: datetime | None
) -> tuple[Transfusion, bool]:
    """Record a transfusion; the same product at the same time again is a no-op. Returns (row, created)."""
    if product not in TransfusionProduct.values:
        raise ValidationError({"product": f"Choose one of: {', '.join(TransfusionProduct.values)}."})
    given_at = check_collected_at(patient, given_at, "given_at")
    transfusion, created = _store_transfusion(patient, product, given_at, context.actor)
    if created:
        record_event(
            context=context,
            action="transfusion.record",
            patient=patient,
            detail={"product": product, "given_at": given_at.isoformat()},
        )
    return transfusion, created


# CSV import -------------------------------------------------------------------------------------------------

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
        outcome = _store_result(
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


# Engraftment ------------------------------------------------------------------------------------------------


# What the counts say of one kind of engraftment (`EngraftmentLine.state`, the API's `*_engraftment_state`).
STATE_RECORDED = "recorded"
STATE_PROPOSED = "proposed"
STATE_NEVER_BELOW = "never_below"
STATE_NOT_YET = "not_yet"
ENGRAFTMENT_STATES = (STATE_RECORDED, STATE_PROPOSED, STATE_NEVER_BELOW, STATE_NOT_YET)


@dataclass(frozen=True)
class EngraftmentLine:
    kind: str  # neutrophil, platelet
    recorded: date | None  # the date on the episode (confirmed, or entered on the transplant page)
    proposed: date | None  # computed from the counts
    confirmation: EngraftmentConfirmation | None
    never_below: bool = False  # the count never fell below the threshold after Day 0 (no aplasia)

    @property
    def awaiting_confirmation(self) -> bool:
        return self.recorded is None and self.proposed is not None

    @property
    def state(self) -> str:
        """recorded, proposed, never_below (no date to give: the count never fell) or not_yet."""
        if self.recorded is not None:
            return STATE_RECORDED
        if self.proposed is not None:
            return STATE_PROPOSED
        return STATE_NEVER_BELOW if self.never_below else STATE_NOT_YET


@dataclass(frozen=True)
class EngraftmentStatus:
    """What the labs say about engraftment on `today` (the patient's date)."""

    day0: date | None
    today: date
    day: int | None
    neutrophil: EngraftmentLine
    platelet: EngraftmentLine
    flags: tuple[Flag, ...] = ()
    nadir_started: date | None = None  # the first day with ANC below the threshold from Day 0 on
    latest_anc: tuple[date, float] | None = None
    latest_platelets: tuple[date, float] | None = None
    problems: tuple[str, ...] = ()

    @property
    def engrafted(self) -> bool:
        return self.neutrophil.recorded is not None


def _daily(values: Iterable[tuple[datetime, Decimal]], zone: str) -> list[tuple[date, float]]:
    return [(local_date(at, zone), float(value)) for at, value in values]


def _implausible(values: Sequence[tuple[date, float]], test: str, config: LabConfig) -> list[str]:
    """What is wrong with each stored value that fails the plausibility check, with its date."""
    problems = []
    for day, value in sorted(values):
        try:
            check_lab_value(test, value, config)
        except ImplausibleValueError as exc:
            problems.append(f"{day.day} {day:%b %Y}: {exc} Correct this result: until then no date is proposed.")
        except ValueError as exc:
            problems.append(f"{day.day} {day:%b %Y}: {exc}")
    return problems


def _anc_counts(patient: Patient, day0: date) -> list[tuple[date, float]]:
    rows = LabResult.objects.filter(
        patient=patient, test=ANC, collected_at__date__gte=day0 - timedelta(days=2)
    ).values_list("collected_at", "value")
    return _daily(rows, patient.timezone)


def engraftment_proposal(patient: Patient, today: date | None = None) -> EngraftmentStatus:
    """The engraftment dates proposed by the counts, next to those recorded, and the flags of `today`."""
    config = active_config(patient.centre_id).labs
    episode = TransplantEpisode.objects.filter(patient=patient).first()
    today = today or patient_today(patient)
    day0 = episode.reinfusion_date if episode else None
    confirmations: dict[str, EngraftmentConfirmation] = {}
    for row in EngraftmentConfirmation.objects.filter(patient=patient).select_related("confirmed_by"):
        confirmations.setdefault(row.kind, row)  # newest first
    neutrophil_date = episode.neutrophil_engraftment_date if episode else None
    platelet_date = episode.platelet_engraftment_date if episode else None
    if day0 is None:
        return EngraftmentStatus(
            day0=None,
            today=today,
            day=None,
            neutrophil=EngraftmentLine(EngraftmentKind.NEUTROPHIL, neutrophil_date, None, None),
            platelet=EngraftmentLine(EngraftmentKind.PLATELET, platelet_date, None, None),
        )
    rows = LabResult.objects.filter(
        patient=patient, test__in=[ANC, PLATELETS], collected_at__date__gte=day0 - timedelta(days=2)
    ).values_list("test", "collected_at", "value")
    by_test: dict[str, list[tuple[datetime, Decimal]]] = defaultdict(list)
    for test, at, value in rows:
        by_test[test].append((at, value))
    anc = _daily(by_test[ANC], patient.timezone)
    platelets = _daily(by_test[PLATELETS], patient.timezone)
    transfusions = [
        local_date(at, patient.timezone)
        for at in Transfusion.objects.filter(patient=patient, product=TransfusionProduct.PLATELETS).values_list(
            "given_at", flat=True
        )
    ]
    # A count that fails the plausibility check (most often one in the wrong unit) proposes nothing, and is
    # not "never below" either: the page names it, and the engraftment alerts keep running.
    problems = []
    proposed_n = proposed_p = nadir = None
    never_below_n = never_below_p = False
    anc_problems = _implausible(anc, ANC, config)
    platelet_problems = _implausible(platelets, PLATELETS, config)
    problems.extend(anc_problems + platelet_problems)
    if not anc_problems:
        proposed_n = neutrophil_engraftment(anc, day0, config)
        nadir = first_day_below(anc, day0, config.neutrophil_threshold, ANC, config)
        never_below_n = neutrophil_never_below(anc, day0, today, config)
    if not platelet_problems:
        proposed_p = platelet_engraftment(platelets, transfusions, day0, config)
        never_below_p = platelet_never_below(platelets, transfusions, day0, today, config)
    return EngraftmentStatus(
        day0=day0,
        today=today,
        day=(today - day0).days,
        neutrophil=EngraftmentLine(
            EngraftmentKind.NEUTROPHIL,
            neutrophil_date,
            proposed_n,
            confirmations.get(EngraftmentKind.NEUTROPHIL),
            never_below_n,
        ),
        platelet=EngraftmentLine(
            EngraftmentKind.PLATELET,
            platelet_date,
            proposed_p,
            confirmations.get(EngraftmentKind.PLATELET),
            never_below_p,
        ),
        flags=engraftment_flags(day0, today, neutrophil_date, config, never_below_n) if today >= day0 else (),
        nadir_started=nadir,
        latest_anc=max(((d, v) for d, v in anc if d <= today), default=None),
        latest_platelets=max(((d, v) for d, v in platelets if d <= today), default=None),
        problems=tuple(problems),
    )


@transaction.atomic
def confirm_engraftment(
    *, context: AuditContext, patient: Patient, kind: str, on: date | None, note: str = ""
) -> EngraftmentConfirmation:
    """A clinician confirms the engraftment date (the proposal, or another with a note saying why).

    The date is saved on the episode through `save_episode`, which checks it, moves the phase (neutrophil
    engraftment ends aplasia) and replans what depends on it. Raises ValidationError (field `on` or `note`).
    """
    from recovery import access  # access imports the models; a top-level import here would be circular

    if context.actor is None or not access.may(context.actor, access.Action.CONFIRM_ENGRAFTMENT):
        raise PermissionDenied("Only a clinician confirms engraftment.")
    if kind not in EngraftmentKind.values:
        raise ValidationError({"kind": "Choose neutrophil or platelet engraftment."})
    if on is None:
        raise ValidationError({"on": "Give the engraftment date."})
    list(Patient.objects.select_for_update().filter(pk=patient.pk).values_list("pk", flat=True))
    status = engraftment_proposal(patient)
    if status.day0 is None:
        raise ValidationError({"on": "Record Day 0 (the reinfusion) before engraftment."})
    line = status.neutrophil if kind == EngraftmentKind.NEUTROPHIL else status.platelet
    note = (note or "").strip()
    if on != line.proposed and not note:
        reason = "differs from the date the counts give" if line.proposed else "is not backed by the counts yet"
        raise ValidationError({"note": f"This date {reason}: say why in the note."})
    field_name = f"{kind}_engraftment_date"
    try:
        save_episode(context=context, patient=patient, fields={field_name: on})
    except ValidationError as exc:
        messages = exc.message_dict.get(field_name) if hasattr(exc, "error_dict") else None
        raise ValidationError({"on": messages or exc.messages}) from None
    config = active_config(patient.centre_id)
    confirmation = EngraftmentConfirmation.objects.create(
        patient=patient,
        kind=kind,
        proposed_date=line.proposed,
        confirmed_date=on,
        confirmed_by=context.actor,
        note=note[:500],
        config_version=config.version,
    )
    record_event(
        context=context,
        action="engraftment.confirm",
        patient=patient,
        detail={
            "kind": kind,
            "date": on.isoformat(),
            "proposed": line.proposed.isoformat() if line.proposed else None,
            "config_version": config.version,
        },
    )
    if kind == EngraftmentKind.NEUTROPHIL:
        _close_engraftment_alerts(context, patient, on)
    return confirmation


def _close_engraftment_alerts(context: AuditContext, patient: Patient, on: date) -> None:
    """Engraftment confirmed: the delayed-engraftment and graft-failure alerts have their answer."""
    open_alerts = Alert.objects.filter(
        patient=patient, kind__in=[KIND_DELAYED, KIND_GRAFT_FAILURE], status__in=OPEN_STATUSES
    )
    for alert in open_alerts:
        resolve_alert(
            context=context,
            alert=alert,
            action=ResolutionAction.OTHER,
            note=f"Neutrophil engraftment confirmed on {on.isoformat()}.",
        )


# Alerts -----------------------------------------------------------------------------------------------------


def _raise_alert(
    *, patient: Patient, kind: str, rule: str, reason: str, config: ActiveConfig, detail: dict
) -> Alert | None:
    """A same-day alert of `kind`, or an addition to the open one. Returns the new alert (None when one was open)."""
    alert, opened = raise_alert(
        patient=patient, kind=kind, severity=Severity.SAME_DAY, rule=rule, reason=reason, config=config, detail=detail
    )
    return alert if opened else None


def check_ebv_alert(*, patient: Patient, results: Sequence[LabResult], config: ActiveConfig) -> Alert | None:
    """An alert when the newest EBV load among `results` is above the threshold and is the patient's latest."""
    ebv = [r for r in results if r.test == EBV_PCR]
    if not ebv:
        return None
    newest = max(ebv, key=lambda r: r.collected_at)
    if float(newest.value) <= config.labs.ebv_alert_copies:
        return None
    if LabResult.objects.filter(patient=patient, test=EBV_PCR, collected_at__gt=newest.collected_at).exists():
        return None  # a later load is already recorded: the old one says nothing about today
    local = timezone.localtime(newest.collected_at, ZoneInfo(patient.timezone))
    reason = (
        f"EBV DNA {newest.value.normalize():,f} copies/mL on {local:%Y-%m-%d} is above the alert threshold of "
        f"{config.labs.ebv_alert_copies:,.0f} copies/mL."
    )
    return _raise_alert(
        patient=patient,
        kind=KIND_EBV,
        rule=RULE_EBV,
        reason=reason,
        config=config,
        detail={"result": str(newest.uuid)},
    )


@transaction.atomic
def check_engraftment_alerts(*, today: date | None = None) -> list[Alert]:
    """Raise "delayed_engraftment" (from D+21) and "possible_graft_failure" (from D+30) alerts for patients without
    a neutrophil engraftment date, once per episode: an alert of that kind raised since Day 0 (open or already
    dealt with) is not raised again. None for a patient whose ANC never fell below the threshold after Day 0
    (`neutrophil_never_below`: no aplasia, nothing to engraft from); an implausible ANC or too few counts to
    tell keep the alerts. `today` defaults to each patient's own date. Returns the alerts raised.
    """
    episodes = (
        TransplantEpisode.objects.filter(reinfusion_date__isnull=False, neutrophil_engraftment_date__isnull=True)
        .select_related("patient__centre")
        .order_by("pk")
    )
    horizon = (today or timezone.now().date()) - timedelta(days=400)
    episodes = episodes.filter(reinfusion_date__gte=horizon)
    raised = []
    configs: dict[int, ActiveConfig] = {}
    for episode in episodes:
        patient = episode.patient
        config = configs.setdefault(patient.centre_id, active_config(patient.centre_id))
        on = today or patient_today(patient)
        if on < episode.reinfusion_date:
            continue
        flags = engraftment_flags(episode.reinfusion_date, on, None, config.labs)
        if flags and _never_below(patient, episode.reinfusion_date, on, config.labs):
            continue
        for flag in flags:
            kind, rule = _FLAG_RULES[flag]
            already = Alert.objects.filter(
                patient=patient,
                kind=kind,
                created_at__date__gte=episode.reinfusion_date - timedelta(days=1),
            ).exists()
            if already:
                continue
            day = (on - episode.reinfusion_date).days
            if flag == Flag.POSSIBLE_GRAFT_FAILURE:
                reason = (
                    f"Day +{day}: no neutrophil engraftment recorded (ANC >= {config.labs.neutrophil_threshold:g} "
                    f"on 3 days) by Day +{config.labs.possible_graft_failure_day}: possible primary graft failure."
                )
            else:
                reason = (
                    f"Day +{day}: no neutrophil engraftment recorded by Day +{config.labs.delayed_engraftment_day}: "
                    "engraftment is delayed."
                )
            alert = _raise_alert(
                patient=patient,
                kind=kind,
                rule=rule,
                reason=reason,
                config=config,
                detail={"day": day, "day0": episode.reinfusion_date.isoformat()},
            )
            if alert is not None:
                raised.append(alert)
    return raised


def _never_below(patient: Patient, day0: date, on: date, config: LabConfig) -> bool:
    """Whether the patient's ANC never fell below the threshold after Day 0 (False when a count is implausible)."""
    anc = [(day, value) for day, value in _anc_counts(patient, day0) if day <= on]
    try:
        return neutrophil_never_below(anc, day0, on, config)
    except ValueError:
        return False


# Reading ----------------------------------------------------------------------------------------------------


def series(patient: Patient, tests: Sequence[str]) -> dict[str, list[tuple[datetime, Decimal]]]:
    """Each test's results as (collected_at, value), oldest first (one query)."""
    out: dict[str, list[tuple[datetime, Decimal]]] = {test: [] for test in tests}
    rows = LabResult.objects.filter(patient=patient, test__in=list(tests)).order_by("collected_at")
    for test, at, value in rows.values_list("test", "collected_at", "value"):
        out[test].append((at, value))
    return out
