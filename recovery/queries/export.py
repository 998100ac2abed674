"""Everything the centre holds about one patient, for the patient (GDPR Art. 15 and 20) or staff on their behalf.

One query per section, whatever the number of rows. `SECTIONS` names every model that holds a patient's data;
tests/test_data_protection.py fails when a model linked to `Patient` is in neither `SECTIONS` nor
`NOT_EXPORTED`, so a new kind of record cannot be left out of the export unnoticed.
"""

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from uuid import UUID
from zoneinfo import ZoneInfo

from django.core.exceptions import FieldDoesNotExist
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, gettext_noop

from recovery.clinical.episode import DATE_FIELDS
from recovery.models import (
    Alert,
    AlertEvent,
    ApheresisSession,
    AuditEvent,
    CareTask,
    EDSSAssessment,
    EligibilityReview,
    EngraftmentConfirmation,
    LabResult,
    MRIScan,
    Notification,
    Patient,
    PatientOutcomeSummary,
    PlannedVaccination,
    ProphylaxisStop,
    Relapse,
    ReminderSettings,
    SymptomReport,
    TimelineEvent,
    Transfusion,
    TransplantDateChange,
    TransplantEpisode,
    VaccinationDose,
    VaccinationPlanState,
)

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Section:
    key: str
    title: str  # lazy: in the reader's language
    model: type[Model]
    patient_path: str  # the lookup from the model to the patient
    fields: tuple[str, ...]
    order_by: tuple[str, ...] = ()


SECTIONS: tuple[Section, ...] = (
    Section(
        "transplant",
        gettext_lazy("Transplant dates"),
        TransplantEpisode,
        "patient",
        ("protocol__name", *DATE_FIELDS, "cd34_dose", "updated_at"),
    ),
    Section(
        "transplant_date_changes",
        gettext_lazy("Changes to the transplant dates"),
        TransplantDateChange,
        "episode__patient",
        ("changed_at", "kind", "before", "after", "changed_by_username"),
        ("changed_at", "id"),
    ),
    Section(
        "apheresis_sessions",
        gettext_lazy("Stem cell collections"),
        ApheresisSession,
        "episode__patient",
        ("collected_on", "cd34_per_kg"),
    ),
    Section(
        "timeline",
        gettext_lazy("Timeline"),
        TimelineEvent,
        "episode__patient",
        ("planned_date", "title", "kind", "status", "actual_date", "note"),
        ("planned_date", "id"),
    ),
    Section(
        "eligibility_reviews",
        gettext_lazy("Eligibility reviews"),
        EligibilityReview,
        "patient",
        ("decided_on", "decision", "edss", "relapsing_with_breakthrough", "criteria", "notes", "decided_by__username"),
    ),
    Section(
        "check_ins",
        gettext_lazy("Check-ins and temperatures"),
        SymptomReport,
        "patient",
        (
            "recorded_at",
            "temperature_c",
            "symptoms",
            "feels_urgent",
            "notes",
            "triage_level",
            "phase",
            "day",
            "neutropenic_fever",
            "entered_by__username",
        ),
        ("recorded_at", "id"),
    ),
    Section(
        "alerts",
        gettext_lazy("Alerts"),
        Alert,
        "patient",
        (
            "uuid",
            "created_at",
            "kind",
            "severity",
            "status",
            "reason",
            "acknowledged_at",
            "resolved_at",
            "resolution",
            "resolution_note",
        ),
        ("created_at", "id"),
    ),
    Section(
        "alert_history",
        gettext_lazy("Alert history"),
        AlertEvent,
        "alert__patient",
        ("alert__uuid", "at", "action", "actor__username"),
        ("at", "id"),
    ),
    Section(
        "lab_results",
        gettext_lazy("Lab results"),
        LabResult,
        "patient",
        ("collected_at", "test", "value", "unit", "source"),
        ("collected_at", "test", "id"),
    ),
    Section("transfusions", gettext_lazy("Transfusions"), Transfusion, "patient", ("given_at", "product")),
    Section(
        "engraftment_confirmations",
        gettext_lazy("Engraftment confirmations"),
        EngraftmentConfirmation,
        "patient",
        ("kind", "proposed_date", "confirmed_date", "note", "confirmed_by__username", "created_at"),
    ),
    Section(
        "vaccinations",
        gettext_lazy("Vaccinations given"),
        VaccinationDose,
        "patient",
        ("given_date", "vaccine", "dose", "immunosuppressed", "note"),
    ),
    Section(
        "prophylaxis_stops",
        gettext_lazy("Prophylaxis stopped"),
        ProphylaxisStop,
        "patient",
        ("medication", "stopped_on", "note", "stopped_by__username"),
    ),
    Section("edss", gettext_lazy("EDSS assessments"), EDSSAssessment, "patient", ("assessed_on", "score")),
    Section(
        "relapses",
        gettext_lazy("Relapses"),
        Relapse,
        "patient",
        ("onset_date", "domains", "description", "treated_with_steroids", "classification"),
    ),
    Section(
        "mri_scans",
        gettext_lazy("MRI scans"),
        MRIScan,
        "patient",
        ("scan_date", "new_t2_lesions", "gd_enhancing_lesions", "is_rebaseline", "notes"),
    ),
    Section(
        "reminders",
        gettext_lazy("Reminders and messages"),
        Notification,
        "patient",
        ("due_at", "kind", "channel", "audience", "recipient__username", "status", "status_reason", "sent_at"),
        ("due_at", "id"),
    ),
    Section(
        "care_tasks",
        gettext_lazy("Care team tasks"),
        CareTask,
        "patient",
        ("created_at", "kind", "checkin_due_at", "status", "closed_at", "closed_reason"),
        ("created_at", "id"),
    ),
    Section(
        "reminder_settings",
        gettext_lazy("Reminder settings"),
        ReminderSettings,
        "patient",
        ("email_enabled", "sms_enabled", "quiet_start", "quiet_end", "on_hold", "hold_reason"),
    ),
    Section(
        "access_log",
        gettext_lazy("Who read or changed the data"),
        AuditEvent,
        "patient",
        ("at", "actor_username", "action"),
        ("at", "id"),
    ),
)

# The columns' names in words (`_label`, from the models' field names), marked so that the readable page is in the
# reader's language; tests/test_display_words_swedish.py checks that every column of the export is listed.
COLUMN_WORDS: tuple[str, ...] = (
    gettext_noop("Acknowledged at"),
    gettext_noop("Action"),
    gettext_noop("Actor"),
    gettext_noop("Actor username"),
    gettext_noop("Actual date"),
    gettext_noop("Admission date"),
    gettext_noop("After"),
    gettext_noop("Alert"),
    gettext_noop("Assessed on"),
    gettext_noop("At"),
    gettext_noop("Audience"),
    gettext_noop("Baseline EDSS"),
    gettext_noop("Before"),
    gettext_noop("CD34+ dose (x 10^6/kg)"),
    gettext_noop("CD34+ yield (x 10^6/kg)"),
    gettext_noop("Calendar subscription"),
    gettext_noop("Centre"),
    gettext_noop("Changed at"),
    gettext_noop("Changed by username"),
    gettext_noop("Channel"),
    gettext_noop("Checkin due at"),
    gettext_noop("Classification"),
    gettext_noop("Closed at"),
    gettext_noop("Closed reason"),
    gettext_noop("Collected at"),
    gettext_noop("Collected on"),
    gettext_noop("Conditioning start date"),
    gettext_noop("Confirmed by"),
    gettext_noop("Confirmed date"),
    gettext_noop("Contact's phone"),
    gettext_noop("Created at"),
    gettext_noop("Criteria"),
    gettext_noop("Cryostorage date"),
    gettext_noop("Date of birth"),
    gettext_noop("Day"),
    gettext_noop("Deactivated at"),
    gettext_noop("Deactivation reason"),
    gettext_noop("Decided by"),
    gettext_noop("Decided on"),
    gettext_noop("Decision"),
    gettext_noop("Description"),
    gettext_noop("Discharge date"),
    gettext_noop("Domains"),
    gettext_noop("Dose"),
    gettext_noop("Due at"),
    gettext_noop("EDSS"),
    gettext_noop("EDSS at review"),
    gettext_noop("Email"),
    gettext_noop("Entered by"),
    gettext_noop("Feels urgent"),
    gettext_noop("First apheresis date"),
    gettext_noop("First name"),
    gettext_noop("G-CSF start date"),
    gettext_noop("Gadolinium-enhancing lesions"),
    gettext_noop("Given at"),
    gettext_noop("Given date"),
    gettext_noop("Hold reason"),
    gettext_noop("Hospital number"),
    gettext_noop("Immunosuppressed"),
    gettext_noop("Kind"),
    gettext_noop("Last name"),
    gettext_noop("MS onset date"),
    gettext_noop("MS type"),
    gettext_noop("Medication"),
    gettext_noop("Mobilisation date"),
    gettext_noop("Neutropenic fever"),
    gettext_noop("Neutrophil engraftment date"),
    gettext_noop("New or enlarging T2 lesions"),
    gettext_noop("Next of kin / contact"),
    gettext_noop("Note"),
    gettext_noop("Notes"),
    gettext_noop("On hold"),
    gettext_noop("Onset date"),
    gettext_noop("Phase"),
    gettext_noop("Phase as of"),
    gettext_noop("Phase changes on"),
    gettext_noop("Phase config version"),
    gettext_noop("Phase flagged"),
    gettext_noop("Phone"),
    gettext_noop("Planned date"),
    gettext_noop("Platelet engraftment date"),
    gettext_noop("Preferred language"),
    gettext_noop("Previous disease-modifying treatments"),
    gettext_noop("Product"),
    gettext_noop("Proposed date"),
    gettext_noop("Protocol"),
    gettext_noop("Quiet end"),
    gettext_noop("Quiet start"),
    gettext_noop("Re-baseline scan"),
    gettext_noop("Reason"),
    gettext_noop("Recipient"),
    gettext_noop("Record number"),
    gettext_noop("Recorded at"),
    gettext_noop("Reinfusion date (Day 0)"),
    gettext_noop("Relapsing with breakthrough"),
    gettext_noop("Resolution"),
    gettext_noop("Resolution note"),
    gettext_noop("Resolved at"),
    gettext_noop("Scan date"),
    gettext_noop("Sent at"),
    gettext_noop("Severity"),
    gettext_noop("Sex"),
    gettext_noop("Source"),
    gettext_noop("Status"),
    gettext_noop("Status reason"),
    gettext_noop("Stopped by"),
    gettext_noop("Stopped on"),
    gettext_noop("Symptoms"),
    gettext_noop("Temperature c"),
    gettext_noop("Test"),
    gettext_noop("Text message (SMS)"),
    gettext_noop("Timezone"),
    gettext_noop("Title"),
    gettext_noop("Treated with steroids"),
    gettext_noop("Triage level"),
    gettext_noop("Unit"),
    gettext_noop("Updated at"),
    gettext_noop("Vaccine"),
    gettext_noop("Value"),
)

# Models linked to a patient that are deliberately not exported, with the reason.
NOT_EXPORTED: dict[type[Model], str] = {
    VaccinationPlanState: (
        "a copy derived from Day 0, the vaccinations given and the centre's schedule, computed again from them "
        "(services/vaccination_plans.py); it holds nothing of its own"
    ),
    PlannedVaccination: (
        "the doses still to give, derived from Day 0, the vaccinations given and the centre's schedule "
        "(services/vaccination_plans.py); it holds nothing of its own"
    ),
    PatientOutcomeSummary: (
        "a copy derived from the EDSS, relapse, MRI, temperature and ANC records exported above, computed again "
        "from them (services/outcome_summaries.py); it holds nothing of its own"
    ),
}

# The patient's own row: every field of the model but these (so a new field is exported unless named here).
NOT_IN_PROFILE = {
    "id": "the database's row number (the record number is the uuid)",
    "centre": "exported by name",
    "user": "the login, not the record",
    "calendar_token": "a secret: the private calendar address",
    "reminders_stale_since": "the planner's bookkeeping",
    "reminders_planned_until": "the planner's bookkeeping",
    "reminders_plan_claimed_until": "the planner's bookkeeping",
    "outcomes_stale_since": "the outcome refresh's bookkeeping",
    "vaccinations_stale_since": "the vaccination plan refresh's bookkeeping",
    "updated_at": "bookkeeping",
    "erased_at": "set only once the data is erased",
}
PROFILE_FIELDS = tuple(field.name for field in Patient._meta.concrete_fields if field.name not in NOT_IN_PROFILE)


def _plain(value):
    """A value JSON can carry: dates as ISO 8601, decimals and UUIDs as text."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal | UUID):
        return str(value)
    return value


def _label(field: str, model: type[Model] | None = None) -> str:
    """A column in words: the model field's own name for people ("MS type", "Reinfusion date (Day 0)")."""
    return gettext(_english_label(field, model))


def _english_label(field: str, model: type[Model] | None = None) -> str:
    if field == "uuid":
        return "Record number"
    first = field.split("__", 1)[0]
    if model is not None:
        try:
            name = str(model._meta.get_field(first).verbose_name)
        except FieldDoesNotExist:
            name = ""
        if name:
            return name[:1].upper() + name[1:]
    words = field.replace("__username", "").replace("__name", "").replace("__uuid", "").replace("_", " ")
    return words[:1].upper() + words[1:]


def _shown(value, zone: ZoneInfo):
    """A value as the readable page shows it: times in the patient's own zone to the minute, yes/no, lists and
    mappings as short text."""
    if isinstance(value, datetime):
        return timezone.localtime(value, zone).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return gettext("Yes") if value else gettext("No")
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_shown(item, zone)}" for key, item in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(str(_shown(item, zone)) for item in value)
    return value


@dataclass(frozen=True)
class ExportSection:
    key: str
    title: str
    columns: list[str]  # the field names
    labels: list[str]  # the same, in words, for the readable page
    rows: list[dict]
    shown: list[list]  # the rows as the readable page shows them (local times, yes/no)


def _raw_rows(section: Section, patient: Patient) -> list[dict]:
    queryset = section.model.objects.filter(**{section.patient_path: patient})
    if section.order_by:
        queryset = queryset.order_by(*section.order_by)
    return list(queryset.values(*section.fields))


def _section(section: Section, patient: Patient, zone: ZoneInfo) -> ExportSection:
    raw = _raw_rows(section, patient)
    return ExportSection(
        key=section.key,
        title=str(section.title),
        columns=list(section.fields),
        labels=[_label(name, section.model) for name in section.fields],
        rows=[{name: _plain(value) for name, value in row.items()} for row in raw],
        shown=[[_shown(row[name], zone) for name in section.fields] for row in raw],
    )


def _profile_shown(patient: Patient, profile: dict, zone: ZoneInfo) -> list[tuple[str, object]]:
    items = []
    for name, value in profile.items():
        try:
            field = Patient._meta.get_field(name)
        except FieldDoesNotExist:
            items.append((_label(name), _shown(value, zone)))
            continue
        raw = getattr(patient, name)
        choices = dict(field.flatchoices) if field.choices else {}
        items.append((_label(name, Patient), choices.get(raw, _shown(raw, zone))))
    return items


def patient_export(patient: Patient) -> dict:
    """Every record of the patient's, as plain data (one query per section)."""
    profile = {name: _plain(getattr(patient, name)) for name in PROFILE_FIELDS}
    profile["centre"] = patient.centre.name
    profile["calendar_subscription"] = bool(patient.calendar_token)
    zone = ZoneInfo(patient.timezone)
    sections = [_section(section, patient, zone) for section in SECTIONS]
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": timezone.now().isoformat(),
        "profile": profile,
        "profile_items": _profile_shown(patient, profile, zone),  # for the readable page
        "sections": sections,
    }


def as_json(export: dict) -> dict:
    """The export as a JSON document: the profile, then each section's rows under its key."""
    return {
        "format_version": export["format_version"],
        "exported_at": export["exported_at"],
        "profile": export["profile"],
        **{section.key: section.rows for section in export["sections"]},
    }
