"""Thin Celery tasks: take ids, call a service."""

from celery import shared_task

from recovery.services.system import record_heartbeat as record_heartbeat_service


@shared_task(name="recovery.tasks.record_heartbeat", bind=True)
def record_heartbeat(self) -> None:
    record_heartbeat_service(worker=self.request.hostname or "")
