"""Real `celery -A recovery worker/beat` subprocesses (and a private Redis) for the integration and fault tests.

The data must be committed for the worker to see it, hence `transactional_db`. The worker is pointed at the
very database this test process uses, so a row it writes is visible here.
"""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.db import connection

DEADLINE_SECONDS = 30


def database_url_of_test_db() -> str:
    """A DATABASE_URL for the test database this process uses (not the development one)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return "sqlite:///" + str(Path(db["NAME"]).resolve())
    if connection.vendor == "postgresql":
        credentials = quote(db["USER"] or "", safe="")
        if db["PASSWORD"]:
            credentials += ":" + quote(db["PASSWORD"], safe="")
        host = db["HOST"] or "localhost"
        port = db["PORT"] or 5432
        return f"postgres://{credentials}@{host}:{port}/{db['NAME']}"
    raise AssertionError(f"No DATABASE_URL recipe for {connection.vendor}")


class Service:
    """A subprocess in its own process group whose combined output goes to a file, for failure messages.

    By default it is `python -m celery -A recovery <args>`; `command` runs something else (redis-server).
    """

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path, command: list[str] | None = None) -> None:
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            command or [sys.executable, "-m", "celery", "-A", "recovery", *args],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: kill() reaches a prefork worker's children too
        )
        self.name = " ".join(args)

    @property
    def ended(self) -> bool:
        """Stopped or killed by the test (its log is closed)."""
        return self._log.closed

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group (a worker and its pool children): no cleanup, no acknowledgements."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self._reap_group()
        self._log.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._reap_group()
        self._log.close()

    def _reap_group(self) -> None:
        # Pool children left behind by a parent that died are ended with it.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


class Launcher:
    """Starts Celery processes against one broker and the test database; `stop_all()` ends them, newest first."""

    def __init__(self, broker_url: str, log_dir: Path) -> None:
        self.broker_url = broker_url
        self.log_dir = log_dir
        self.started: list[Service] = []

    def __call__(self, *args: str, **extra_env: str) -> Service:
        env = {
            **os.environ,
            "CELERY_BROKER_URL": self.broker_url,
            "DATABASE_URL": database_url_of_test_db(),
            "DEBUG": "1",
            "PYTHONUNBUFFERED": "1",
            "SECRET_KEY": os.environ["SECRET_KEY"],
            **extra_env,
        }
        env.pop("CELERY_BROKER_WRITE_URL", None)
        env.pop("CELERY_BROKER_READ_URL", None)
        service = Service(list(args), env, self.log_dir / f"celery-{args[0]}-{len(self.started)}.log")
        self.started.append(service)
        return service

    def stop_all(self, *, kill: bool = False) -> None:
        """Stop (or kill -9, faster, when nothing after them matters) every process still running."""
        for service in reversed(self.started):
            if service.ended:
                continue
            if kill:
                service.kill()
            else:
                service.stop()


@pytest.fixture(name="start_celery")
def start_celery_fixture(redis_url, transactional_db, tmp_path) -> Iterator[Callable[..., Service]]:
    """Start `celery -A recovery <args>` against Redis and the test database; stopped at teardown."""
    launcher = Launcher(redis_url, tmp_path)
    yield launcher
    launcher.stop_all()


def start_worker(start_celery, *options: str, **extra_env: str) -> Service:
    """A worker with the solo pool unless `options` say otherwise (e.g. "--pool=prefork", "--concurrency=2")."""
    pool = () if any(o.startswith("--pool") for o in options) else ("--pool=solo",)
    return start_celery(
        "worker", *pool, *options, "--without-mingle", "--without-gossip", "--loglevel=INFO", **extra_env
    )


def outputs(*services: Service) -> str:
    return "\n".join(f"----- {s.name} -----\n{s.output()}" for s in services)


def wait_for(
    condition: Callable[[], object], *services: Service, what: str, timeout: float = DEADLINE_SECONDS, every=0.2
):
    """Poll until `condition()` is truthy; fail with the subprocesses' output at the deadline or if one dies."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        for service in services:
            if service.process.poll() is not None:
                pytest.fail(f"{what}: {service.name} exited with {service.process.returncode}.\n{outputs(*services)}")
        time.sleep(every)
    pytest.fail(f"{what}: not within {timeout} s.\n{outputs(*services)}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class PrivateRedis:
    """A redis-server of this test's own, without persistence, that it may kill and start again on the same port."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.log_dir = log_dir
        self.service: Service | None = None

    def start(self) -> None:
        import redis

        command = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        command += ["--dir", str(self.log_dir)]
        self.service = Service(["redis-server"], dict(os.environ), self.log_dir / "redis.log", command=command)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.RedisError:
                return False

        wait_for(answers, self.service, what="The private redis-server answering", every=0.05)

    def run_id(self) -> str:
        import redis

        return redis.Redis.from_url(self.url).info("server")["run_id"]

    def kill(self) -> None:
        self.service.kill()

    def stop(self) -> None:
        if self.service is not None and not self.service.ended:
            self.service.stop()
