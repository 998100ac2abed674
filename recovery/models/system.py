from django.db import models


class Heartbeat(models.Model):
    """The last time a periodic task ran on a worker: proof that beat and a worker are alive."""

    name = models.CharField(max_length=64, unique=True)
    beat_at = models.DateTimeField()
    worker = models.CharField(max_length=255, blank=True)

    def __str__(self) -> str:
        return f"{self.name} at {self.beat_at:%Y-%m-%d %H:%M:%S}"
