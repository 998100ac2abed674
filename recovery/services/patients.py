"""Writes to patient records. Every write validates first and leaves an audit record."""

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy

from accounts.models import Centre
from recovery.models import Patient
from recovery.services.audit import AuditContext, record_event, snapshot
from recovery.services.audit import changes as _changes
from recovery.services.login_email import EMAIL_LOCKED, contact_email_changed, has_active_login
from recovery.services.outcome_summaries import request_outcome_refresh
from recovery.services.phases import store_phase
from recovery.services.reminders.replan import request_replan
from recovery.validators import normalise_phone

EDITABLE_FIELDS = (
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "hospital_number",
    "email",
    "phone",
    "timezone",
    "ms_type",
    "ms_onset_date",
    "baseline_edss",
    "previous_treatments",
    "preferred_language",
    "contact_name",
    "contact_phone",
    "status",
)

DUPLICATE_HOSPITAL_NUMBER = "Another patient at this centre already has this hospital number."


def _check_hospital_number(patient: Patient) -> None:
    clash = Patient.objects.filter(centre=patient.centre, hospital_number__iexact=patient.hospital_number)
    if patient.pk:
        clash = clash.exclude(pk=patient.pk)
    if clash.exists():
        raise ValidationError({"hospital_number": DUPLICATE_HOSPITAL_NUMBER})


def _validate_and_save(patient: Patient) -> None:
    patient.hospital_number = patient.hospital_number.strip()
    patient.phone = normalise_phone(patient.phone)
    patient.contact_phone = normalise_phone(patient.contact_phone)
    patient.full_clean(exclude=["centre", "user"], validate_constraints=False)
    _check_hospital_number(patient)
    try:
        with transaction.atomic():
            patient.save()
    except IntegrityError:
        # Two saves raced past the check above; the database constraint settled it.
        raise ValidationError({"hospital_number": DUPLICATE_HOSPITAL_NUMBER}) from None


SEVERAL_CENTRES = gettext_lazy("You belong to several centres: say which one this patient belongs to.")
NO_CENTRE = gettext_lazy("You are not a member of any centre yet. Ask an administrator to add you to one.")


@transaction.atomic
def create_patient(
    *, context: AuditContext, centres: list[Centre], centre: Centre | None = None, fields: dict[str, Any]
) -> Patient:
    """Enrol a patient in `centre`, one of the enrolling user's `centres`; when it is not given, their only
    centre. The same rule for the page and the API."""
    if centre is None:
        if len(centres) != 1:
            raise ValidationError({"centre": SEVERAL_CENTRES if centres else NO_CENTRE})
        centre = centres[0]
    elif centre.pk not in {c.pk for c in centres}:
        raise ValidationError({"centre": "You can only enrol patients in your own centres."})
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    patient = Patient(centre=centre, **fields)
    _validate_and_save(patient)
    store_phase(patient)
    record_event(context=context, action="patient.create", patient=patient)
    return patient


@transaction.atomic
def update_patient(*, context: AuditContext, patient: Patient, changes: dict[str, Any]) -> Patient:
    """Change the patient's record; the audit row has each changed field's value before and after (masked where
    personal, see services.audit.MASKED_FIELDS)."""
    new_values = changes
    unknown = set(new_values) - set(EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"Not editable: {sorted(unknown)}")
    old_email = patient.email
    if "email" in new_values and new_values["email"] != old_email and has_active_login(patient):
        # the login's password resets go to this address: only the patient or an administrator moves it
        raise ValidationError({"email": EMAIL_LOCKED})
    before = snapshot(patient, EDITABLE_FIELDS)
    for name, value in new_values.items():
        setattr(patient, name, value)
    _validate_and_save(patient)
    changed = _changes(before, patient, EDITABLE_FIELDS)
    if "email" in changed:
        contact_email_changed(context=context, patient=patient, old_email=old_email)
    if changed:
        record_event(context=context, action="patient.update", patient=patient, detail={"changes": changed})
        # status (withdrawn, deceased), time zone and addresses all change what reminders are due and where
        request_replan(patient)
        if "timezone" in changed:  # another local today: store the phase for it
            store_phase(patient)
        if {"status", "baseline_edss"} & set(changed):  # the cohort's deaths; the recorded baseline EDSS
            request_outcome_refresh(patient)
    return patient
