"""A patient's record for the FHIR tests: a transplant with its procedures, relapses and alerts, `n` of each
repeated kind, so that a test can compare 1 with many rows."""

from datetime import date, datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from recovery.models import Alert, ApheresisSession, Relapse, TimelineEvent
from recovery.models.symptoms import AlertSeverity, AlertStatus
from tests.factories import transplant

DAY0 = date(2026, 10, 1)


def full_record(patient, n: int = 1, day0: date = DAY0):
    """Give `patient` a transplant on `day0` (cd34 dose, `n` apheresis sessions, `n` hand-added procedures),
    `n` relapses of each classification and `n` open, acknowledged and resolved alerts."""
    engrafted = day0 + timedelta(days=10)
    episode = transplant(patient, day0, engrafted=engrafted if engrafted <= timezone.localdate() else None)
    episode.cd34_dose = Decimal("5.20")
    episode.save(update_fields=["cd34_dose"])
    for i in range(n):
        ApheresisSession.objects.create(
            episode=episode, collected_on=day0 - timedelta(days=20 - i), cd34_per_kg=Decimal("2.60")
        )
        TimelineEvent.objects.create(
            episode=episode,
            kind="procedure",
            title=f"Central line insertion {i + 1}",
            planned_date=day0 - timedelta(days=6),
            actual_date=day0 - timedelta(days=6),
            status="done",
        )
    onset = day0 + timedelta(days=30)
    for i in range(n):
        for classification in ("", "relapse", "pseudo_relapse"):
            Relapse.objects.create(
                patient=patient,
                onset_date=onset + timedelta(days=i),
                classification=classification,
                domains=["visual", "sensory"],
                treated_with_steroids=True,
                possible_pseudo_relapse=classification == "pseudo_relapse",
                description="Blurred vision, left eye",
            )
    raised = timezone.make_aware(datetime.combine(day0 + timedelta(days=3), datetime.min.time()))
    for i in range(n):
        for status, severity in (
            (AlertStatus.OPEN, AlertSeverity.URGENT),
            (AlertStatus.ACKNOWLEDGED, AlertSeverity.SAME_DAY),
            (AlertStatus.RESOLVED, AlertSeverity.ROUTINE),
        ):
            Alert.objects.create(
                patient=patient,
                kind=f"{status}-{i}",
                severity=severity,
                severity_rank=3,
                status=status,
                reason="Temperature 38.6 °C in the aplasia",
                rule="fever",
                created_at=raised + timedelta(hours=i),
                acknowledged_at=raised + timedelta(hours=i + 1) if status != AlertStatus.OPEN else None,
            )
    return episode
