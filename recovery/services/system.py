from django.utils import timezone

from recovery.models import Heartbeat


def record_heartbeat(*, name: str = "beat", worker: str = "") -> Heartbeat:
    heartbeat, _ = Heartbeat.objects.update_or_create(
        name=name, defaults={"beat_at": timezone.now(), "worker": worker[:255]}
    )
    return heartbeat
