import csv

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from recovery import access
from recovery.models import Heartbeat
from recovery.queries.reminders import stalled_count


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return redirect(access.home_url(request.user))


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:
        return False


def _broker_ok() -> bool:
    from recovery.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=2)
        return True
    except Exception:
        return False


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, broker and the age of the last heartbeat; 200 when all are healthy, 503 when not.

    `messages_overdue` counts reminders and messages due more than five minutes ago and not yet sent, for
    monitoring (the dispatcher is not keeping up); it does not change the status."""
    database = _database_ok()
    broker = _broker_ok()
    age = None
    backlog = None
    if database:
        backlog = stalled_count()  # due over five minutes ago and still not sent
        beat_at = Heartbeat.objects.filter(name="beat").values_list("beat_at", flat=True).first()
        if beat_at is not None:
            age = round((timezone.now() - beat_at).total_seconds(), 1)
    heartbeat = age is not None and age <= settings.HEARTBEAT_MAX_AGE_SECONDS
    healthy = database and broker and heartbeat
    body = {
        "status": "ok" if healthy else "unhealthy",
        "database": "ok" if database else "unavailable",
        "broker": "ok" if broker else "unavailable",
        "heartbeat_age_seconds": age,
        "heartbeat_max_age_seconds": settings.HEARTBEAT_MAX_AGE_SECONDS,
        "messages_overdue": backlog,
    }
    return JsonResponse(body, status=200 if healthy else 503)


def error_404(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "404.html", status=404)


def error_403(request: HttpRequest, exception=None) -> HttpResponse:
    return render(request, "403.html", status=403)


def error_500(request: HttpRequest) -> HttpResponse:
    return render(request, "500.html", status=500)


class _Echo:
    """A file-like object whose write returns the line, for streaming csv.writer output."""

    def write(self, value):
        return value


def csv_download(rows, filename: str) -> StreamingHttpResponse:
    """Rows streamed as a CSV attachment (a long access log is never held in memory whole)."""
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse((writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def safe_next(request: HttpRequest, default: str = "") -> str:
    """The `next` page given with the request (POST, else GET) when it is a page of this site, else `default`."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
