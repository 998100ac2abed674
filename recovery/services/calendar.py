"""The patient's calendar feed token: created and revoked (the feed itself is read in queries/calendar.py)."""

import secrets

from recovery.models import Patient

TOKEN_BYTES = 32


def create_calendar_token(patient: Patient) -> str:
    """Give the patient a new secret feed token, replacing (and so disabling) any old one."""
    patient.calendar_token = secrets.token_urlsafe(TOKEN_BYTES)
    patient.save(update_fields=["calendar_token", "updated_at"])
    return patient.calendar_token


def revoke_calendar_token(patient: Patient) -> None:
    """Stop the feed: the old URL answers 404 from now on."""
    patient.calendar_token = None
    patient.save(update_fields=["calendar_token", "updated_at"])
