"""The language a signed-in person chose with the switch in the navigation, kept for their next sign-in."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from recovery.models import Patient
from recovery.services.audit import AuditContext, record_event
from recovery.services.patients import update_patient


@transaction.atomic
def set_own_language(*, context: AuditContext, user: User, language: str) -> None:
    """A patient's preferred language (their record: reminders and e-mails follow it too, and the change is
    audited as any change to the record), or a member of staff's own language ("": the browser's)."""
    patient = Patient.objects.filter(user=user).first()
    if language not in dict(settings.LANGUAGES) and (language or patient is not None):
        raise ValidationError({"language": _("Choose one of the languages offered.")})
    if patient is not None:
        update_patient(context=context, patient=patient, changes={"preferred_language": language})
        return
    if user.language != language:
        before = user.language
        user.language = language
        user.save(update_fields=["language"])
        record_event(context=context, action="account.language", detail={"before": before, "after": language})
