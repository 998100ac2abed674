"""The release smoke test: a client from outside, against gunicorn, a Celery worker and beat started by
`.ci/release-smoke` exactly as the README's Production section says (DEBUG off, PostgreSQL, Redis, static
files from the manifest, behind a TLS proxy). Standard library only.

Usage: release_smoke.py BASE_URL CREDENTIALS_JSON SMS_LOG MANAGE_PY_PYTHON
"""

import hashlib
import hmac
import json
import re
import struct
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

BASE, CREDENTIALS, SMS_LOG, PYTHON = sys.argv[1:5]
with open(CREDENTIALS, encoding="utf-8") as _handle:
    PEOPLE = json.load(_handle)
HOST = urllib.parse.urlsplit(BASE).netloc
ORIGIN = f"https://{HOST}"  # what the browser sees: the TLS proxy's address
checks = 0


def ok(condition: bool, what: str) -> None:
    global checks
    if not condition:
        print(f"release smoke: FAILED: {what}")
        sys.exit(1)
    checks += 1
    print(f"release smoke: ok: {what}")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Browser:
    """Cookies, CSRF and the proxy's headers, handled by hand: the session cookie is Secure (as in
    production) and the proxy in front of gunicorn is the one that speaks TLS."""

    def __init__(self, client_ip: str):
        self.cookies: dict[str, str] = {}
        self.client_ip = client_ip
        self.opener = urllib.request.build_opener(NoRedirect)

    def request(self, method: str, path: str, data: dict | None = None, follow: bool = True):
        url = urllib.parse.urljoin(BASE, path)
        headers = {
            "X-Forwarded-Proto": "https",
            "X-Forwarded-For": self.client_ip,
            "User-Agent": "release-smoke",
        }
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if data is not None:
            data = {**data, "csrfmiddlewaretoken": self.cookies.get("csrftoken", "")}
            body = urllib.parse.urlencode(data).encode()
            headers.update(
                {
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Origin": ORIGIN,
                    "Referer": ORIGIN + urllib.parse.urlsplit(url).path,
                }
            )
        request = urllib.request.Request(url, data=body, method=method, headers=headers)  # noqa: S310
        try:
            response = self.opener.open(request, timeout=30)
            status, text, reply_headers = response.status, response.read().decode(), response.headers
        except urllib.error.HTTPError as exc:
            status, text, reply_headers = exc.code, exc.read().decode(errors="replace"), exc.headers
        for header in reply_headers.get_all("Set-Cookie") or []:
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0]
            if value == '""' or "Max-Age=0" in header:
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        if follow and status in (301, 302, 303) and reply_headers.get("Location"):
            location = urllib.parse.urlsplit(reply_headers["Location"])
            return self.request("GET", location.path + (f"?{location.query}" if location.query else ""))
        return status, text, reply_headers, path

    def get(self, path: str):
        return self.request("GET", path)

    def post(self, path: str, data: dict):
        return self.request("POST", path, data)


def totp(hex_key: str, at: float | None = None) -> str:
    """RFC 6238 as django-otp computes it: SHA-1, 30-second steps, 6 digits."""
    counter = int((time.time() if at is None else at) // 30)
    digest = hmac.new(bytes.fromhex(hex_key), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    code = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{code:06d}"


def orm(code: str) -> str:
    """A step only the clock or the database can take (time passing for a reminder), run as the app runs."""
    command = [PYTHON, "manage.py", "shell", "--no-imports", "-c", code]
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=120)
    return result.stdout.strip()


def sign_in(role: str, client_ip: str) -> Browser:
    person = PEOPLE[role]
    browser = Browser(client_ip)
    status, page, _, _ = browser.get("/accounts/login/")
    ok(status == 200 and "csrftoken" in browser.cookies, f"{role}: the sign-in page answers with a CSRF cookie")
    status, page, _, path = browser.post(
        "/accounts/login/", {"username": person["username"], "password": person["password"]}
    )
    if "totp_key" in person:
        ok(
            "/accounts/verify/" in path,
            f"{role}: a correct password alone is not enough for staff (asked for a second factor at {path})",
        )
        status, page, _, path = sign_in_second_factor(browser, person, path, page)
    ok(status == 200 and "/accounts/login/" not in path, f"{role}: signed in, at {path}")
    return browser


def sign_in_second_factor(browser: Browser, person: dict, path: str, page: str):
    """The second step (accounts/mfa_views.py verify): the code from the authenticator app, posted back to the
    page that asked for it."""
    ok('name="code"' in page, "staff: the second step asks for the code from the authenticator app")
    status, page, _, after = browser.post(path, {"code": "000000" if totp(person["totp_key"]) != "000000" else "1"})
    ok(status == 200 and "/accounts/verify/" in after, "staff: a wrong code is refused and the second step stays")
    time.sleep(1.1)  # django-otp makes the device wait a second after a wrong code
    return browser.post(path, {"code": totp(person["totp_key"])})


def wait_for(what: str, probe, seconds: int = 90, diagnose=None):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(2)
    ok(False, f"{what} within {seconds} s" + (f" ({diagnose()})" if diagnose else ""))
    return None


def main() -> None:
    anonymous = Browser("203.0.113.9")

    def healthy():
        status, text, _, _ = anonymous.get("/healthz")
        return status == 200 and json.loads(text)

    health = wait_for("/healthz is healthy (database, broker and beat's heartbeat)", healthy)
    ok(bool(health), f"/healthz: {health}")

    status, page, headers, _ = anonymous.get("/accounts/login/")
    stylesheet = re.search(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page)
    ok(stylesheet is not None, "pages name static files by their hashed manifest names")
    status, _, static_headers, _ = anonymous.get(stylesheet.group(1))
    ok(status == 200 and "max-age" in (static_headers.get("Cache-Control") or ""), "WhiteNoise serves static files")
    ok("Strict-Transport-Security" in headers and headers.get("X-Frame-Options") == "DENY", "HTTPS hardening headers")

    patient = sign_in("patient", "198.51.100.10")
    status, page, headers, path = patient.get("/")
    ok(status == 200 and path.startswith("/my/") and "Day +5" in page, "patient: home shows Day +5")
    policy = headers.get("Content-Security-Policy") or ""
    ok("script-src 'self'" in policy and "unsafe-inline" not in policy, f"an enforced strict CSP: {policy}")
    ok("no-store" in (headers.get("Cache-Control") or ""), "a page with patient data is not stored by the browser")
    ok("camera=()" in (headers.get("Permissions-Policy") or ""), "a Permissions-Policy")
    status, page, _, _ = patient.get("/my/temperature/")
    recorded = re.search(r'name="recorded_at"[^>]*value="([^"]+)"', page)
    ok(status == 200 and recorded is not None, "patient: the temperature form opens with the time filled in")
    status, page, _, path = patient.post(
        "/my/temperature/", {"temperature": "38.6", "unit": "C", "recorded_at": recorded.group(1)}
    )
    ok(status == 200 and "/my/check-in/" in path, f"patient: a fever is recorded ({path})")
    ok("call" in page.lower(), "patient: a fever on Day +5 is told to call the unit")

    clinician = sign_in("clinician", "198.51.100.11")
    status, page, _, path = clinician.get("/")
    ok(status == 200, f"clinician: home answers ({path})")
    status, page, _, _ = clinician.get("/alerts/queue/")
    ok(status == 200 and "Smoke" in page, "clinician: the fever is in the alert queue")

    coordinator = sign_in("coordinator", "198.51.100.12")
    status, page, _, path = coordinator.get("/")
    ok(status == 200, f"coordinator: home answers ({path})")
    status, page, _, _ = coordinator.get("/patients/")
    ok(status == 200 and "SMOKE-1" in page and "SMOKE-2" in page, "coordinator: both patients are listed")

    # A text-message reminder planned by the worker for the patient without a login, brought forward to now
    # (time passing), must be sent by the dispatcher that beat wakes, to the provider, exactly once.
    patient_2 = PEOPLE["patient_2"]
    query = (
        "from recovery.models import Notification as N;"
        f"q=N.objects.filter(patient__uuid='{patient_2}', channel='sms', status='pending').order_by('due_at');"
    )
    planned = wait_for(
        "the worker plans text-message reminders for the patient without a login",
        lambda: orm(query + "print(q.count())") not in ("", "0"),
    )
    ok(bool(planned), "the worker planned text-message reminders after the transplant dates were saved")
    reference = orm(
        query + "from django.utils import timezone;n=q.first();"
        "N.objects.filter(pk=n.pk).update(due_at=timezone.now(), next_attempt_at=timezone.now());print(n.uuid)"
    )

    def delivered():
        try:
            with open(SMS_LOG, encoding="utf-8") as handle:
                lines = [json.loads(line) for line in handle]
        except FileNotFoundError:
            return None
        return [line for line in lines if line.get("reference") == reference] or None

    row = (
        f"from recovery.models import Notification as N;n=N.objects.get(uuid='{reference}');"
        "print(n.kind, n.status, n.status_reason, n.due_at, n.attempts)"
    )
    sent = wait_for("the due reminder reaches the SMS provider", delivered, diagnose=lambda: orm(row))
    ok(len(sent) == 1 and sent[0]["to"] == "+46701234567", f"the provider got the reminder once: {sent[0]['text']!r}")
    status_row = wait_for(
        "the reminder is recorded as sent",
        lambda: (
            orm(f"from recovery.models import Notification as N;print(N.objects.get(uuid='{reference}').status)")
            == "sent"
        ),
    )
    ok(bool(status_row), "the reminder's row says sent")
    print(f"release smoke: all {checks} checks passed")


if __name__ == "__main__":
    main()
