"""Lab results, platelet transfusions, engraftment and the lab alerts (issue 6; domain.md 2.1, 2.2, 3.2, 8.6-8.9, 8.14).

Every value is checked and stored in its test's canonical unit (`LabConfig.units`); a result in an obvious
alternate unit (cells/uL, 10^3/uL, g/dL, mg/dL, uIU/mL), or in its UCUM code, is converted (the one table of
units: `recovery.clinical.units`), any other unit is refused with a message naming the expected one. A result is
unique per patient, test and collection time: the same sample recorded again is a duplicate (nothing is added),
the same sample with another value is refused.

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

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import User
from recovery.clinical.engraftment import (
    check_lab_value,
)
from recovery.clinical.labs_config import EBV_PCR, LabConfig
from recovery.clinical.phases import local_date
from recovery.clinical.triage import AlertKind, Severity
from recovery.clinical.units import conversion, normalise_unit
from recovery.clinical.words import Message, Number
from recovery.models import (
    Alert,
    LabImport,
    LabResult,
    LabSource,
    LabTest,
    Patient,
    Transfusion,
    TransfusionProduct,
)
from recovery.queries.configuration import ActiveConfig, active_config
from recovery.services.alerts import raise_alert
from recovery.services.audit import AuditContext, record_event
from recovery.services.outcome_summaries import request_outcome_refresh

# The tests of api.md, in the order forms and tables show them.
LAB_TESTS: tuple[str, ...] = tuple(LabTest.values)
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST_YEAR = 2000
VALUE_PLACES = Decimal("0.0001")  # the model's four decimal places

KIND_EBV = AlertKind.EBV_VIRAEMIA.value
RULE_EBV = "ebv.above_threshold"


# Units ------------------------------------------------------------------------------------------------------


def to_canonical(test: str, value: Decimal, unit: str | None, config: LabConfig) -> Decimal:
    """`value` (in `unit`, or the canonical unit when none is given) converted to the test's canonical unit.

    Raises ValidationError naming the expected unit when `unit` is not the canonical one nor a known alternate.
    """
    canonical = config.unit(test)
    if unit is None or not unit.strip():
        return value
    found = conversion(unit)
    if found is None or found[0] != normalise_unit(canonical):
        raise ValidationError(
            {
                "unit": _("“%(unit)s” is not a unit for %(test)s: send it in %(canonical)s.")
                % {"unit": unit.strip(), "test": LabTest(test).label, "canonical": canonical}
            }
        )
    return value * found[1]


def parse_number(raw) -> Decimal:
    """A number as typed: "0.4", "0,4", "1 500 000", "5e5". ValidationError for anything else (e.g. "<500")."""
    if isinstance(raw, bool):
        raise ValidationError({"value": _("Enter the result as a number.")})
    if isinstance(raw, int | float | Decimal):
        text = str(raw)
    elif isinstance(raw, str):
        text = re.sub(r"[\s\u00a0\u202f_']", "", raw)
    else:
        raise ValidationError({"value": _("Enter the result as a number.")})
    if not text:
        raise ValidationError({"value": _("Enter the result.")})
    if "," in text:
        if "." in text or text.count(",") > 1 or re.search(r",\d{3}$", text):
            raise ValidationError(
                {
                    "value": _(
                        "“%(raw)s” is ambiguous: write it without thousands separators and with a decimal point."
                    )
                    % {"raw": raw}
                }
            )
        text = text.replace(",", ".")
    if text[0] in "<>":
        raise ValidationError(
            {"value": _("“%(raw)s” is not a measured value: enter the number (0 for “not detected”).") % {"raw": raw}}
        )
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValidationError({"value": _("“%(raw)s” is not a number.") % {"raw": str(raw)[:40]}}) from None
    if not number.is_finite() or abs(number.adjusted()) > 12:
        raise ValidationError({"value": _("“%(raw)s” is not a plausible result.") % {"raw": str(raw)[:40]}})
    return number


def checked_value(test: str, raw, unit: str | None, config: LabConfig) -> Decimal:
    """The value of one result, converted to the canonical unit and checked as plausible (else ValidationError).

    The one check of a result's value for the lab form, the API and the CSV import, so that the three refuse
    the same values with the same message (`recovery.clinical.engraftment.implausible_message`).
    """
    if test not in LAB_TESTS:
        raise ValidationError(
            {
                "test": _("Unknown test “%(test)s”. Known tests: %(tests)s.")
                % {"test": test, "tests": ", ".join(LAB_TESTS)}
            }
        )
    value = to_canonical(test, parse_number(raw), unit, config)
    try:
        check_lab_value(test, float(value), config)
    except ValueError as exc:
        message = str(exc)
        if unit and normalise_unit(unit) != normalise_unit(config.unit(test)):
            message = _("%(message)s (Sent as %(value)s %(unit)s.)") % {
                "message": message,
                "value": str(raw)[:40],
                "unit": unit.strip()[:32],
            }
        raise ValidationError({"value": message}) from None
    return value.quantize(VALUE_PLACES, rounding=ROUND_HALF_UP)


def check_collected_at(patient: Patient, at: datetime | None, field: str = "collected_at") -> datetime:
    """An aware time that is not in the future and not implausibly old (else ValidationError on `field`)."""
    if at is None:
        raise ValidationError({field: _("Give the date and time.")})
    if at.tzinfo is None:
        raise ValidationError({field: _("Give the time with its time zone offset, e.g. 2025-03-10T08:15:00+01:00.")})
    if at > timezone.now() + CLOCK_SKEW:
        raise ValidationError({field: _("This time is in the future: check the date.")})
    earliest = max(date(EARLIEST_YEAR, 1, 1), patient.date_of_birth or date(EARLIEST_YEAR, 1, 1))
    # its own wall date first: converting a year-1 time to another zone can overflow (a 500, not a message)
    if at.date() < date(EARLIEST_YEAR, 1, 1) or local_date(at, patient.timezone) < earliest:
        raise ValidationError({field: _("Check the year: this date is before the patient's records can start.")})
    return at


# Recording --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecordOutcome:
    result: LabResult
    created: bool  # False: the same sample with the same value was already recorded


def store_result(
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
            if test == LabTest.ANC:  # the cohort's febrile neutropenia (services/outcome_summaries.py)
                request_outcome_refresh(patient)
            return RecordOutcome(result, True)
        except IntegrityError:
            existing = LabResult.objects.get(patient=patient, test=test, collected_at=collected_at)
    if existing.value == value:
        return RecordOutcome(existing, False)
    conflict = sample_conflict(patient, test, existing.collected_at, existing.value, existing.unit)
    raise ValidationError({"value": conflict})


def sample_conflict(patient: Patient, test: str, collected_at: datetime, value: Decimal, unit: str) -> str:
    """Why a second, different value for a sample already recorded (with `value` in `unit`) is refused."""
    local = timezone.localtime(collected_at, ZoneInfo(patient.timezone))
    return _(
        "A %(test)s result taken at %(time)s is already recorded with %(value)s %(unit)s; a sample has one result."
    ) % {
        "test": LabTest(test).label,
        "time": f"{local:%Y-%m-%d %H:%M}",
        "value": f"{value.normalize():f}",
        "unit": unit,
    }


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
    outcome = store_result(
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
        errors["__all__"] = [_("Enter at least one result (or a platelet transfusion).")]
    if errors:
        raise ValidationError(errors)
    created, duplicates = [], []
    for test, number in checked.items():
        try:
            outcome = store_result(
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
        raise ValidationError(
            {"product": _("Choose one of: %(products)s.") % {"products": ", ".join(TransfusionProduct.values)}}
        )
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


# Engraftment ------------------------------------------------------------------------------------------------


# Alerts -----------------------------------------------------------------------------------------------------


def _raise_alert(
    *, patient: Patient, kind: str, rule: str, reason: Message, config: ActiveConfig, detail: dict
) -> Alert | None:
    """A same-day alert of `kind`, or an addition to the open one. Returns the new alert (None when one was open)."""
    alert, opened = raise_alert(
        patient=patient, kind=kind, severity=Severity.SAME_DAY, rule=rule, message=reason, config=config, detail=detail
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
    reason = Message(
        gettext_noop(
            "EBV DNA %(value)s copies/mL on %(date)s is above the alert threshold of %(threshold)s copies/mL."
        ),
        {
            "value": Number(f"{newest.value.normalize():f}", grouped=True),
            "date": f"{local:%Y-%m-%d}",
            "threshold": Number(f"{config.labs.ebv_alert_copies:.0f}", grouped=True),
        },
    )
    return _raise_alert(
        patient=patient,
        kind=KIND_EBV,
        rule=RULE_EBV,
        reason=reason,
        config=config,
        detail={"result": str(newest.uuid)},
    )


# Reading ----------------------------------------------------------------------------------------------------
