"""The main pages served as in production, at scale: throughput against a trivial page, and a patient's report
latency while others load the cohort dashboard.

    .venv/bin/python bench/web.py [--patients 5000[,50000]] [--seconds 5] [--clients 4]
        [--gunicorn-args "--workers 2"] [--reports 200] [--markdown FILE] [--write-readme]

For each N in --patients: the PostgreSQL database `recovery_benchweb_<N>` (`--postgres` says where) is reused if
it holds N transplanted patients (hospital numbers TX-), else created, migrated and seeded with
`manage.py seed_demo --patients N --transplanted` (the demo and its logins, then N patients over 20 years; about
80 s for 5,000, 15 minutes for 50,000; `--fresh` drops and seeds it again). The sweeps that the seed leaves to
the workers (outcome summaries, reminder planning) are run to the end first, as the workers would have.

Then the README's Production section, on this machine: `DEBUG=0`, `collectstatic`, gunicorn on 127.0.0.1 (a free
port; its arguments after the bind are `--gunicorn-args`, so `--gunicorn-args "--workers 2 --threads 4
--worker-class gthread"` tries threads), a Celery worker (concurrency 2) and beat, Redis database 8 as the broker
and the cache (emptied at the start). Requests come as from the TLS proxy (X-Forwarded-Proto, X-Forwarded-For).
Staff sign in with their authenticator app, as production requires: a TOTP device named "bench" is added to the
demo coordinator and clinician, and the codes are computed here (RFC 6238). The patient is the demo patient
(Day +9); staff pages about a patient show the demo patient, or TX-00001 (20 years of records) for immune
recovery.

(a) Each page is fetched by --clients threads (standard library, one HTTP connection each) for --seconds;
requests/s, p50 and p99 are printed, and requests/s as a share of the trivial page's (/healthz: the database,
the broker and the heartbeat, no template), measured the same way at the start and the end of the run (the
mean of the two is the reference, which evens out a machine shared with other work). Any answer other than the
expected status counts as an error and fails the page.

(b) A patient's check-in (POST /api/v1/patients/{id}/symptom-reports/, temperature and symptoms, with an API
token) --reports times one after another: alone, then while two clients load the cohort dashboard without
pause (the analytics load). At most --report-seconds each (default 12 x --seconds).

Targets (PASS/FAIL): every page at least 0.05 of the trivial page's requests/s, the two dashboards (the
clinician's high-risk dashboard and the cohort dashboard) at least 0.08; a report's p99 under the analytics load
below 300 ms. An export (the cohort CSV) is timed without a ratio target: a download of every patient's row.
Figures are printed; --markdown FILE writes them as Markdown; --write-readme puts them in README.md between the
`bench-web` markers (section "Performance at scale").
"""

import argparse
import hashlib
import hmac
import http.client
import json
import math
import os
import platform
import secrets
import shlex
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import redis

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
README = ROOT / "README.md"
README_START = "<!-- bench-web:start -->"
README_END = "<!-- bench-web:end -->"
REDIS_URL = "redis://127.0.0.1:6379/8"
DATABASE_NAME = "recovery_benchweb_{n}"
TX_PREFIX = "TX-"  # seed_transplanted's hospital numbers
CELERY_CONCURRENCY = 2
HEARTBEAT_SECONDS = 10  # beat's heartbeat, so that /healthz is healthy soon after the start
ANALYTICS_CLIENTS = 2
BENCH_NOTE = "bench-web"  # the note of the check-ins the bench posts

RATIO_TARGET = 0.05
DASHBOARD_RATIO_TARGET = 0.08
REPORT_P99_TARGET_MS = 300.0


@dataclass(frozen=True)
class Page:
    name: str
    role: str  # coordinator, clinician or patient: whose session (or token) fetches it
    path: str  # may name {demo} (the demo patient's id) or {tx1} (TX-00001's id)
    dashboard: bool = False  # the stricter ratio target
    export: bool = False  # a download of the whole data set: its time grows with it; timed, no ratio target
    method: str = "GET"


TRIVIAL = Page("Trivial page (/healthz)", "anonymous", "/healthz")
REPORT = Page("Patient's check-in (API POST)", "patient", "/api/v1/patients/{demo}/symptom-reports/", method="POST")
PAGES = [
    Page("Patient list (coordinator home)", "coordinator", "/patients/"),
    Page("Patient list, phase aplasia", "coordinator", "/patients/?phase=aplasia"),
    Page("Patient list, phase follow-up", "coordinator", "/patients/?phase=follow_up"),
    Page("Patient list, needs attention", "coordinator", "/patients/?attention=1"),
    Page("Patient workspace", "coordinator", "/patients/{demo}/"),
    Page("This week", "coordinator", "/week/"),
    Page("Vaccinations due", "coordinator", "/vaccinations/due/"),
    Page("High-risk dashboard (clinician home)", "clinician", "/dashboard/", dashboard=True),
    Page("Alert queue", "clinician", "/alerts/queue/"),
    Page("Labs (Day +9)", "clinician", "/patients/{demo}/labs/"),
    Page("Immune recovery (TX-00001)", "clinician", "/patients/{tx1}/immune/"),
    Page("Cohort dashboard", "clinician", "/cohort/", dashboard=True),
    Page("Cohort CSV (a download of every patient's row)", "clinician", "/cohort/export.csv", export=True),
    Page("Patient home (/my/)", "patient", "/my/"),
    Page("API patients", "coordinator", "/api/v1/patients/"),
    Page("API alerts", "clinician", "/api/v1/alerts/"),
    Page("API labs", "clinician", "/api/v1/patients/{demo}/labs/"),
    Page("API symptom reports", "clinician", "/api/v1/patients/{demo}/symptom-reports/"),
    Page("API cohort outcomes", "clinician", "/api/v1/cohort/outcomes/"),
    REPORT,
]
COHORT = next(page for page in PAGES if page.path == "/cohort/")

# Run by `manage.py shell` on the bench database once it is seeded: the sweeps the seed leaves to the workers,
# run to the end; a TOTP device for each demo staff login; the ids the pages name. Prints JSON.
SETUP_CODE = """
import json
from django_otp.plugins.otp_totp.models import TOTPDevice
from accounts.models import User
from recovery.models import Patient, SymptomReport
from recovery.services.outcome_summaries import refresh_stale_outcome_summaries
from recovery.services.reminders.planning import plan_stale_reminders

SymptomReport.objects.filter(patient__user__username="patient", notes="bench-web").delete()  # the last run's
while refresh_stale_outcome_summaries():
    pass
while plan_stale_reminders():
    pass
keys = {}
for username in ("coordinator", "clinician"):
    user = User.objects.get(username=username)
    device = TOTPDevice.objects.filter(user=user, name="bench").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    keys[username] = device.key
print(json.dumps({
    "totp": keys,
    "demo": str(Patient.objects.get(user__username="patient").uuid),
    "tx1": str(Patient.objects.get(hospital_number="TX-00001").uuid),
}))
"""


# Figures -----------------------------------------------------------------------------------------------------


@dataclass
class Figures:
    name: str
    path: str
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)  # seconds
    first_error: str = ""

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, share: float) -> float:
        """Nearest rank, in milliseconds."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return 1000 * ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


# HTTP --------------------------------------------------------------------------------------------------------


class Client:
    """One HTTP/1.1 connection to gunicorn, as from the TLS proxy; reconnects when the server closes (the sync
    workers close after each answer)."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None, token: str | None = None):
        self.port = port
        self.cookies = dict(cookies or {})
        self.token = token
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        headers = {
            "Host": f"127.0.0.1:{self.port}",
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": "198.51.100.20",
            "User-Agent": "bench-web",
            **(headers or {}),
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if self.token:
            headers["Authorization"] = f"Token {self.token}"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=body, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.connection.close()
                if attempt == 2:
                    raise
        if response.will_close:
            self.connection.close()
        return response.status, data, response.headers

    def close(self) -> None:
        self.connection.close()


class Browser(Client):
    """A signed-in person: cookies kept, CSRF token sent, redirects followed."""

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None):
        status, data, reply = super().request(method, path, body, headers)
        for header in reply.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value == '""' or "Max-Age=0" in header:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return status, data, reply

    def go(self, method: str, path: str, form: dict | None = None):
        """A page, following redirects; returns (status, text, final path)."""
        body, headers = None, {}
        if form is not None:
            form = {**form, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
            body = urllib.parse.urlencode(form).encode()
            origin = f"https://127.0.0.1:{self.port}"
            headers = {
                "Content-Type": "application/x-www-form-urlencoded",
                "Origin": origin,
                "Referer": origin + urllib.parse.urlsplit(path).path,
            }
        status, data, reply = self.request(method, path, body, headers)
        if status in (301, 302, 303) and reply.get("Location"):
            location = urllib.parse.urlsplit(reply["Location"])
            return self.go("GET", location.path + (f"?{location.query}" if location.query else ""))
        return status, data.decode(errors="replace"), path


def totp(hex_key: str, at: float | None = None) -> str:
    """RFC 6238 as django-otp computes it: SHA-1, 30-second steps, 6 digits."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(bytes.fromhex(hex_key), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def sign_in(port: int, username: str, password: str, totp_key: str | None) -> dict[str, str]:
    """The sign-in page, then the authenticator app's code for staff; returns the session's cookies."""
    browser = Browser(port)
    browser.go("GET", "/accounts/login/")
    status, _, path = browser.go("POST", "/accounts/login/", {"username": username, "password": password})
    if totp_key is not None:
        if "/accounts/verify/" not in path:
            sys.exit(f"{username}: no second step after the password (at {path}, {status})")
        for _ in range(2):  # a code is accepted once: if this step's code was used, wait for the next step
            status, _, after = browser.go("POST", path, {"code": totp(totp_key)})
            if "/accounts/verify/" not in after:
                break
            time.sleep(31 - time.time() % 30)
        path = after
    if status != 200 or "/accounts/" in path:
        sys.exit(f"{username}: not signed in ({status} at {path})")
    browser.close()
    return {k: v for k, v in browser.cookies.items() if k in ("sessionid", "csrftoken")}


def api_token(port: int, username: str, password: str) -> str:
    client = Client(port)
    body = json.dumps({"username": username, "password": password}).encode()
    status, data, _ = client.request("POST", "/api/v1/auth/token/", body, {"Content-Type": "application/json"})
    client.close()
    if status != 200:
        sys.exit(f"{username}: no API token ({status}: {data[:200]!r})")
    return json.loads(data)["token"]


def report_body() -> bytes:
    """An 'I'm fine' check-in taken a minute ago (the everyday report): stored and triaged, no alert. The note
    names the bench, whose reports the next run deletes first (SETUP_CODE), so the demo patient's pages stay
    the same from run to run."""
    recorded = (datetime.now(UTC) - timedelta(minutes=1)).isoformat(timespec="seconds")
    symptoms = {"fatigue": 0, "nausea": 0, "chills": 0}
    body = {"recorded_at": recorded, "temperature_c": 36.8, "symptoms": symptoms, "notes": BENCH_NOTE}
    return json.dumps(body).encode()


class Session:
    """How each role is signed in: cookies for the pages, a token for the patient's check-ins."""

    def __init__(self, port: int, ids: dict):
        self.port = port
        self.ids = ids
        self.cookies = {"anonymous": {}}
        for role in ("coordinator", "clinician"):
            self.cookies[role] = sign_in(port, role, "demo", ids["totp"][role])
        self.cookies["patient"] = sign_in(port, "patient", "demo", None)
        self.patient_token = api_token(port, "patient", "demo")

    def client(self, page: Page) -> Client:
        if page.method == "POST":
            return Client(self.port, token=self.patient_token)
        return Client(self.port, cookies=self.cookies[page.role])

    def path(self, page: Page) -> str:
        return page.path.format(demo=self.ids["demo"], tx1=self.ids["tx1"])


def fetch_once(client: Client, page: Page, path: str) -> tuple[bool, float, str]:
    started = time.perf_counter()
    if page.method == "POST":
        status, data, _ = client.request("POST", path, report_body(), {"Content-Type": "application/json"})
        good = status == 201
    else:
        status, data, _ = client.request("GET", path)
        good = status == 200 or (page is TRIVIAL and status == 503)
    elapsed = time.perf_counter() - started
    return good, elapsed, "" if good else f"{status}: {data[:120]!r}"


def load(session: Session, page: Page, clients: int, seconds: float) -> Figures:
    """`clients` threads fetch the page without pause for `seconds` (each at least once)."""
    path = session.path(page)
    figures = Figures(page.name, path)
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def run() -> None:
        client = session.client(page)
        try:
            while True:
                good, elapsed, error = fetch_once(client, page, path)
                with lock:
                    figures.requests += 1
                    figures.latencies.append(elapsed)
                    if not good:
                        figures.errors += 1
                        figures.first_error = figures.first_error or error
                if time.perf_counter() >= deadline:
                    return
        finally:
            client.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=run) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    figures.seconds = time.perf_counter() - started
    return figures


def reports_one_by_one(session: Session, count: int, max_seconds: float, name: str) -> Figures:
    path = session.path(REPORT)
    figures = Figures(name, path)
    client = session.client(REPORT)
    started = time.perf_counter()
    while figures.requests < count and time.perf_counter() - started < max_seconds:
        good, elapsed, error = fetch_once(client, REPORT, path)
        figures.requests += 1
        figures.latencies.append(elapsed)
        if not good:
            figures.errors += 1
            figures.first_error = figures.first_error or error
    figures.seconds = time.perf_counter() - started
    client.close()
    return figures


def reports_under_analytics(session: Session, count: int, max_seconds: float) -> tuple[Figures, Figures]:
    """The check-ins while ANALYTICS_CLIENTS threads load the cohort dashboard; (reports, dashboard load)."""
    path = session.path(COHORT)
    background = Figures(f"{COHORT.name} (the load)", path)
    lock = threading.Lock()
    stop = threading.Event()

    def run() -> None:
        client = session.client(COHORT)
        while not stop.is_set():
            good, elapsed, error = fetch_once(client, COHORT, path)
            with lock:
                background.requests += 1
                background.latencies.append(elapsed)
                background.errors += 0 if good else 1
                background.first_error = background.first_error or error
        client.close()

    threads = [threading.Thread(target=run) for _ in range(ANALYTICS_CLIENTS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    time.sleep(1.0)  # the dashboard requests are in the server first
    reports = reports_one_by_one(session, count, max_seconds, "Check-in under analytics load")
    stop.set()
    for thread in threads:
        thread.join()
    background.seconds = time.perf_counter() - started
    return reports, background


# The server ---------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def server_environment(database_url: str, var_dir: Path) -> dict[str, str]:
    """The production settings (README, Production): only the secrets are throwaway."""
    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_WRITE_URL", "CELERY_BROKER_READ_URL")}
    env.update(
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(50),
        RESEARCH_PSEUDONYM_KEY=secrets.token_hex(32),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        DATABASE_URL=database_url,
        CELERY_BROKER_URL=REDIS_URL,
        CACHE_URL=REDIS_URL,  # production gives the cache its own database number; the bench has one
        BEHIND_TLS_PROXY="1",
        TRUSTED_PROXY_COUNT="1",
        VAR_DIR=str(var_dir),
        SMS_BACKEND="disabled",
        EMAIL_BACKEND="disabled",
        HEARTBEAT_INTERVAL_SECONDS=str(HEARTBEAT_SECONDS),
        LOG_LEVEL="WARNING",
    )
    return env


def manage(env: dict, *args: str, stdin: str | None = None) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True
    )
    if result.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}")
    return result.stdout


def prepare_database(postgres: str, n: int, fresh: bool, env: dict) -> tuple[str, str]:
    """The seeded database for N: reused, or created and seeded. Returns (url, what was done)."""
    name = DATABASE_NAME.format(n=n)
    url = f"{postgres}/{name}"
    with psycopg.connect(f"{postgres}/postgres", autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and fresh:
            admin.execute(f'DROP DATABASE "{name}"')
            exists = None
        if not exists:
            admin.execute(f'CREATE DATABASE "{name}"')
    have = 0
    if exists:
        with psycopg.connect(url) as db:
            table = db.execute("SELECT to_regclass('recovery_patient')").fetchone()[0]
            if table:
                query = "SELECT count(*) FROM recovery_patient WHERE hospital_number LIKE %s"
                have = db.execute(query, [TX_PREFIX + "%"]).fetchone()[0]
    if have > n:
        with psycopg.connect(f"{postgres}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE "{name}"')
            admin.execute(f'CREATE DATABASE "{name}"')
        have = 0
    manage(env, "migrate", "--no-input")
    if have == n:
        return url, f"reused {name} ({n} transplanted patients)"
    print(f"Seeding {name}: seed_demo --patients {n} --transplanted (the demo, then {n - have} patients) ...")
    started = time.monotonic()
    seed_env = {**env, "DEBUG": "1"}  # seed_demo refuses with DEBUG off; nothing is served by it
    command = [sys.executable, "manage.py", "seed_demo", "--patients", str(n), "--transplanted"]
    if subprocess.run(command, cwd=ROOT, env=seed_env, stdout=subprocess.DEVNULL).returncode:
        sys.exit("seed_demo failed")
    return url, f"seeded {name} in {time.monotonic() - started:.0f} s"


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_healthy(port: int, processes: list[subprocess.Popen], logs: Path, seconds: int = 90) -> None:
    client = Client(port)
    deadline = time.monotonic() + seconds
    status = None
    while time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            sys.exit(f"A server process ended; see the logs in {logs}")
        try:
            status, _, _ = client.request("GET", "/healthz")
            if status == 200:
                client.close()
                return
        except OSError:
            client.close()
        time.sleep(1)
    sys.exit(f"/healthz did not answer 200 within {seconds} s (last: {status}); see the logs in {logs}")


def settle(broker: redis.Redis, seconds: int) -> float:
    """Wait until no task is queued or running (late acknowledgement: a running task is in 'unacked') three
    checks in a row; returns the seconds waited."""
    started = time.monotonic()
    quiet = 0
    while quiet < 3 and time.monotonic() - started < seconds:
        busy = broker.llen("celery") or broker.hlen("unacked")
        quiet = 0 if busy else quiet + 1
        time.sleep(1)
    return time.monotonic() - started


# One run ------------------------------------------------------------------------------------------------------


@dataclass
class Run:
    n: int
    database: str
    gunicorn_args: str
    clients: int
    seconds: float
    load_before: float
    load_after: float = 0.0
    trivial: list[Figures] = field(default_factory=list)
    pages: list[tuple[Page, Figures]] = field(default_factory=list)
    report_alone: Figures | None = None
    report_loaded: Figures | None = None
    analytics: Figures | None = None

    @property
    def reference(self) -> float:
        return sum(f.rate for f in self.trivial) / len(self.trivial)

    def ratio(self, figures: Figures) -> float:
        return figures.rate / self.reference if self.reference else 0.0

    def verdict(self, page: Page, figures: Figures) -> tuple[float | None, bool]:
        if page.export:
            return None, figures.errors == 0
        target = DASHBOARD_RATIO_TARGET if page.dashboard else RATIO_TARGET
        return target, figures.errors == 0 and self.ratio(figures) >= target

    def report_passes(self) -> bool:
        loaded = self.report_loaded
        return loaded is not None and loaded.errors == 0 and loaded.percentile(0.99) < REPORT_P99_TARGET_MS


def measure(n: int, options, var_dir: Path) -> Run:
    postgres = options.postgres.rstrip("/")
    env = server_environment(f"{postgres}/{DATABASE_NAME.format(n=n)}", var_dir)
    database_url, how = prepare_database(postgres, n, options.fresh, env)
    print(f"N = {n}: {how}")
    ids = json.loads(manage(env, "shell", "--no-imports", stdin=SETUP_CODE).strip().splitlines()[-1])
    manage(env, "collectstatic", "--no-input")
    broker = redis.Redis.from_url(REDIS_URL)
    broker.flushdb()
    (var_dir / "celerybeat-schedule").unlink(missing_ok=True)

    port = free_port()
    logs = var_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    gunicorn = [str(BIN / "gunicorn"), "recovery.wsgi:application", "--bind", f"127.0.0.1:{port}"]
    gunicorn += shlex.split(options.gunicorn_args)
    celery = [sys.executable, "-m", "celery", "-A", "recovery"]
    worker = [*celery, "worker", "--loglevel=WARNING", f"--concurrency={CELERY_CONCURRENCY}", "--hostname=bench@%h"]
    beat = [*celery, "beat", "--loglevel=WARNING", "--schedule", str(var_dir / "celerybeat-schedule")]
    processes = [
        start(gunicorn, env, logs / "gunicorn.log"),
        start(worker, env, logs / "worker.log"),
        start(beat, env, logs / "beat.log"),
    ]
    try:
        wait_healthy(port, processes, logs)
        waited = settle(broker, options.settle_seconds)
        print(f"Serving on 127.0.0.1:{port} (gunicorn {options.gunicorn_args}); the queue settled in {waited:.0f} s")
        session = Session(port, ids)
        run = Run(
            n,
            database_url.rsplit("/", 1)[1],
            options.gunicorn_args,
            options.clients,
            options.seconds,
            os.getloadavg()[0],
        )
        for page in [TRIVIAL, *PAGES]:  # each once first: the right answer, and every worker warm
            client = session.client(page)
            good, _, error = fetch_once(client, page, session.path(page))
            client.close()
            if not good:
                sys.exit(f"{page.name} ({session.path(page)}) answered {error}")
        load(session, TRIVIAL, options.clients, 1.0)
        run.trivial.append(load(session, TRIVIAL, options.clients, options.seconds))
        print("  (ratios here: to this first /healthz run; the table at the end: to the mean of both)")
        print_row(run, TRIVIAL, run.trivial[0], trivial=True)
        for page in PAGES:
            figures = load(session, page, options.clients, options.seconds)
            run.pages.append((page, figures))
            print_row(run, page, figures)
        run.trivial.append(load(session, TRIVIAL, options.clients, options.seconds))
        print_row(run, TRIVIAL, run.trivial[1], trivial=True)
        run.report_alone = reports_one_by_one(session, options.reports, options.report_seconds, "Check-in alone")
        run.report_loaded, run.analytics = reports_under_analytics(session, options.reports, options.report_seconds)
        run.load_after = os.getloadavg()[0]
        return run
    finally:
        stop(processes)
        broker.flushdb()


# Output -------------------------------------------------------------------------------------------------------


def print_row(run: Run, page: Page, figures: Figures, trivial: bool = False) -> None:
    if trivial:
        verdict = ""
        ratio = ""
    else:
        target, passed = run.verdict(page, figures)
        ratio = f"{run.ratio(figures):6.3f}"
        verdict = f">= {target:.2f} {'PASS' if passed else 'FAIL'}" if target is not None else "(export)"
    errors = f" ({figures.errors} errors, first: {figures.first_error})" if figures.errors else ""
    print(
        f"  {figures.name:<38} {figures.rate:8.1f} req/s {ratio:>6} p50 {figures.percentile(0.5):7.0f} ms "
        f"p99 {figures.percentile(0.99):7.0f} ms n={figures.requests:<5} {verdict}{errors}"
    )


def markdown(runs: list[Run]) -> str:
    first = runs[0]
    lines = [
        f"Run on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `make bench-web` (`bench/web.py`): "
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, {postgres_version()}, "
        f"PostgreSQL and Redis on the same machine; gunicorn `{first.gunicorn_args}`, a Celery worker "
        f"(concurrency {CELERY_CONCURRENCY}) and beat; {first.clients} client threads for {first.seconds:g} s per "
        "page, one connection each.",
        "",
    ]
    for run in runs:
        lines += [
            f"**{run.n:,} transplanted patients** (database `{run.database}`; load average {run.load_before:.1f} "
            f"at the start, {run.load_after:.1f} at the end). Trivial page (/healthz): "
            + " and ".join(f"{f.rate:.1f}" for f in run.trivial)
            + f" requests/s at the start and the end; the ratio is against their mean, {run.reference:.1f}.",
            "",
            "| Page | Path | Role | Requests/s | Ratio | p50 ms | p99 ms | Requests | Target | |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for page, figures in run.pages:
            target, passed = run.verdict(page, figures)
            result = "PASS" if passed else "FAIL"
            if target is None:
                result = "export" if passed else "FAIL"
            if figures.errors:
                result += f" ({figures.errors} errors)"
            lines.append(
                f"| {page.name} | `{page.method + ' ' if page.method != 'GET' else ''}{page.path}` | {page.role} | "
                f"{figures.rate:.1f} | {run.ratio(figures):.3f} | {figures.percentile(0.5):.0f} | "
                f"{figures.percentile(0.99):.0f} | {figures.requests} | {'' if target is None else f'{target:.2f}'} | "
                f"{result} |"
            )
        lines += ["", "| A patient's check-in (one after another) | Reports | p50 ms | p99 ms | Target | |"]
        lines.append("|---|---:|---:|---:|---:|---|")
        for figures, target in ((run.report_alone, None), (run.report_loaded, REPORT_P99_TARGET_MS)):
            if target is None:
                target_text, result = "", ""
            else:
                target_text = f"p99 < {target:.0f}"
                result = "PASS" if run.report_passes() else "FAIL"
            lines.append(
                f"| {figures.name} | {figures.requests} | {figures.percentile(0.5):.0f} | "
                f"{figures.percentile(0.99):.0f} | {target_text} | {result} |"
            )
        analytics = run.analytics
        lines += [
            "",
            f"The analytics load: {ANALYTICS_CLIENTS} clients on the cohort dashboard without pause, "
            f"{analytics.rate:.2f} requests/s (p50 {analytics.percentile(0.5):.0f} ms) while the check-ins ran.",
            "",
        ]
    lines.append(
        "`{demo}` is the demo patient (Day +9), `{tx1}` TX-00001 (Day 0 twenty years ago). Targets: every page at "
        f"least {RATIO_TARGET} of the trivial page's requests/s, the two dashboards {DASHBOARD_RATIO_TARGET}; a "
        f"check-in's p99 under the analytics load below {REPORT_P99_TARGET_MS:.0f} ms. An export (the cohort CSV: "
        "every patient's row, each read audited) is a download whose time grows with the data set: it is timed "
        "here, with no ratio target, and served by a pool of its own (README, Production)."
    )
    # Prose wrapped as the README is (tables are left whole)
    lines = [line if line.startswith("|") else textwrap.fill(line, 115, break_on_hyphens=False) for line in lines]
    return "\n".join(lines) + "\n"


def postgres_version() -> str:
    try:
        with psycopg.connect("postgres://postgres@127.0.0.1:5432/postgres") as db:
            return "PostgreSQL " + db.execute("SHOW server_version").fetchone()[0].split()[0]
    except psycopg.Error:
        return "PostgreSQL"


def write_readme(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    if README_START not in readme or README_END not in readme:
        sys.exit(f"README.md has no {README_START} ... {README_END} markers")
    before, rest = readme.split(README_START, 1)
    _, after = rest.split(README_END, 1)
    README.write_text(f"{before}{README_START}\n{text}{README_END}{after}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--patients", default="5000", help="N transplanted patients, comma-separated: 5000,50000")
    parser.add_argument("--seconds", type=float, default=5.0, help="seconds of load per page")
    parser.add_argument("--clients", type=int, default=4, help="client threads per page")
    parser.add_argument("--gunicorn-args", default="--workers 2 --timeout 120", help="gunicorn's options after --bind")
    parser.add_argument("--reports", type=int, default=200, help="check-ins posted alone and under analytics load")
    parser.add_argument(
        "--report-seconds", type=float, help="at most this long for each series (default 12 x --seconds)"
    )
    parser.add_argument("--settle-seconds", type=int, default=300, help="at most this long for the queue to empty")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:5432", help="where the databases are")
    parser.add_argument("--fresh", action="store_true", help="drop the database and seed it again")
    parser.add_argument("--markdown", type=Path, help="write the figures as Markdown to this file")
    parser.add_argument("--write-readme", action="store_true", help="put the figures in README.md's markers")
    options = parser.parse_args()
    sizes = [int(part) for part in options.patients.split(",") if part.strip()]
    if options.report_seconds is None:
        options.report_seconds = 12 * options.seconds

    var_dir = ROOT / "var" / "bench-web"  # static files, beat's schedule, the processes' logs
    var_dir.mkdir(parents=True, exist_ok=True)
    runs = [measure(n, options, var_dir) for n in sizes]
    text = markdown(runs)
    print()
    print(text)
    if options.markdown:
        options.markdown.write_text(text, encoding="utf-8")
        print(f"Written to {options.markdown}")
    if options.write_readme:
        write_readme(text)
        print("Written to README.md")
    failed = sum(not run.verdict(page, figures)[1] for run in runs for page, figures in run.pages) + sum(
        not run.report_passes() for run in runs
    )
    print(f"{failed} target(s) missed" if failed else "All targets met")


if __name__ == "__main__":
    main()
