"""Security headers: an enforced Content-Security-Policy, Permissions-Policy, Cross-Origin-Opener-Policy, and
`Cache-Control: no-store` on everything that may carry patient data, and pages the strict policy does not break.

The policy allows no inline script, inline style or event-handler attribute, so the second half renders every page
of the app (every URL of the access matrix for each role, and the demo crawl of tests/test_every_page.py) and
fails on any of them in the HTML. The browser side (no violation reported, charts drawn, htmx refresh working)
is tests/e2e/test_csp_browser.py.
"""

import io
import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import RequestFactory
from django.urls import reverse

from recovery.views.common import error_500
from tests import test_access_matrix, test_every_page
from tests.factories import UserFactory

# Fixtures of the modules whose URL lists this one reuses: the access matrix's cast, the demo's phases.
_module_cast = test_access_matrix._module_cast
cast = test_access_matrix.cast
phase_of = test_every_page.phase_of

ROOT = Path(__file__).resolve().parent.parent

STRICT = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
    "connect-src": {"'self'"},
}


def policy(response) -> dict[str, set[str]]:
    """The enforced Content-Security-Policy header as {directive: sources}."""
    header = response.get("Content-Security-Policy")
    assert header, f"no Content-Security-Policy header (headers: {dict(response.headers)})"
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = set(sources)
    return directives


def assert_strict_policy(response):
    directives = policy(response)
    for name, sources in STRICT.items():
        assert directives.get(name) == sources, f"{name}: {directives.get(name)}, expected {sources}"
    assert "Content-Security-Policy-Report-Only" not in response, "the policy must be enforced, not report-only"


def assert_no_store(response):
    cache_control = {part.strip() for part in response.get("Cache-Control", "").split(",")}
    assert "no-store" in cache_control, f"Cache-Control: {response.get('Cache-Control')!r}"
    assert response.get("Pragma") == "no-cache"


def assert_feature_headers(response):
    features = dict(item.strip().split("=", 1) for item in response["Permissions-Policy"].split(","))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb"):
        assert features[feature] == "()", f"{feature}={features.get(feature)}"
    assert features["publickey-credentials-get"] == "(self)"
    assert features["publickey-credentials-create"] == "(self)"
    assert "interest-cohort" not in features  # FLoC is gone; browsers warn about the name
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_a_staff_page_is_under_the_strict_policy_and_not_stored(client_for, coordinator, patient):
    response = client_for(coordinator).get(reverse("recovery:patient-detail", args=[patient.uuid]))

    assert response.status_code == 200
    assert_strict_policy(response)
    assert_feature_headers(response)
    assert_no_store(response)


def test_a_patient_page_is_under_the_strict_policy_and_not_stored(client_for, patient):
    response = client_for(patient.user).get(reverse("recovery:my-recovery"))

    assert response.status_code == 200
    assert_strict_policy(response)
    assert_feature_headers(response)
    assert_no_store(response)


def test_an_api_answer_is_not_stored_with_a_token_or_without_credentials(api_for, coordinator, patient):
    """A token signs the request in only inside the view: the /api/ prefix alone decides, so a 401 is covered."""
    url = reverse("api:patient-detail", args=[patient.uuid])

    signed_in = api_for(coordinator).get(url)
    refused = api_for(None).get(url)

    assert signed_in.status_code == 200
    assert_no_store(signed_in)
    assert refused.status_code == 401
    assert_no_store(refused)


def test_a_static_file_may_be_cached(client_for, coordinator):
    """Static files (WhiteNoise) carry no patient data: they keep their caching and get no page headers."""
    response = client_for(coordinator).get("/static/css/app.css")

    assert response.status_code == 200
    assert "no-store" not in response.get("Cache-Control", "")
    assert "Pragma" not in response
    assert "Content-Security-Policy" not in response


def test_the_sign_in_page_is_under_the_strict_policy(client):
    response = client.get(reverse("accounts:login"))

    assert response.status_code == 200
    assert_strict_policy(response)
    assert_feature_headers(response)


def test_a_redirect_to_a_signed_in_page_is_not_stored_either(client_for, coordinator):
    response = client_for(coordinator).get(reverse("recovery:home"))

    assert response.status_code == 302
    assert_no_store(response)


def test_the_admin_may_use_inline_styles_but_never_inline_scripts(client, db):
    admin = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(admin)

    response = client.get(reverse("admin:index"))

    directives = policy(response)
    assert response.status_code == 200
    assert directives["style-src"] == {"'self'", "'unsafe-inline'"}
    assert directives["script-src"] == {"'self'"}
    assert_no_store(response)


def test_only_debugs_browsable_api_page_may_run_inline_code(client_for, coordinator, settings):
    """DRF's browsable API (an HTML page for developers) needs its inline script; it gets it with DEBUG on only,
    and the API's JSON answers keep the strict policy either way."""
    client = client_for(coordinator)
    url = reverse("api:me")

    settings.DEBUG = True
    debug_page = client.get(url, HTTP_ACCEPT="text/html")
    debug_json = client.get(url, HTTP_ACCEPT="application/json")
    settings.DEBUG = False
    production_page = client.get(url, HTTP_ACCEPT="text/html")

    assert debug_page["Content-Type"].startswith("text/html")
    assert "'unsafe-inline'" in policy(debug_page)["script-src"]
    assert_strict_policy(debug_json)
    assert_strict_policy(production_page)


def test_the_swagger_page_runs_under_the_strict_policy(client, db):
    """The split view serves Swagger's start-up script as a file; its style is a file too (no inline anything)."""
    page = client.get(reverse("api:docs"))
    html = page.content.decode()

    assert_strict_policy(page)
    assert inline_offences(html) == []
    script = client.get(reverse("api:docs") + "?script=")
    assert script.status_code == 200
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_the_system_checks_accept_the_policy_settings():
    """django-csp's check refuses settings in its old (pre-4.0) form, e.g. any setting named CSP_*."""
    call_command("check", stdout=io.StringIO())


def _settings_with(**env):
    clean = {k: v for k, v in os.environ.items() if k not in {"CSP_REPORT_URI"}}
    clean.update({"DEBUG": "1", **env})
    return subprocess.run(
        [sys.executable, "-c", "import recovery.settings as s; print(s.CONTENT_SECURITY_POLICY['DIRECTIVES'])"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
    )


def test_a_report_address_is_added_to_the_policy_and_a_malformed_one_stops_start_up():
    reported = _settings_with(CSP_REPORT_URI="https://reports.example.org/csp")
    unset = _settings_with()
    injected = _settings_with(CSP_REPORT_URI="/csp; script-src *")

    assert reported.returncode == 0, reported.stderr
    assert "'report-uri': ['https://reports.example.org/csp']" in reported.stdout
    assert "report-uri" not in unset.stdout
    assert injected.returncode != 0
    assert "CSP_REPORT_URI must be an http(s) address" in injected.stderr


# --- Every page: nothing inline that the policy would block ---------------------------------------------------


class _Inline(HTMLParser):
    """Inline <script> and <style> elements, style="..." and on...="..." attributes, javascript: links."""

    DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}  # data blocks: the policy does not run them

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.offences: list[str] = []
        self.in_script = False

    def handle_starttag(self, tag, attrs):
        named = dict(attrs)
        if tag == "script" and not named.get("src") and named.get("type") not in self.DATA_SCRIPT_TYPES:
            self.offences.append(f"<script> without src at line {self.getpos()[0]}")
        if tag == "style":
            self.offences.append(f"<style> at line {self.getpos()[0]}")
        for name, value in attrs:
            if name == "style" or name.startswith(("on", "hx-on")):
                self.offences.append(f'<{tag} {name}="{value}"> at line {self.getpos()[0]}')
            if name in {"href", "src", "action", "formaction"} and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.offences.append(f'<{tag} {name}="{value}"> at line {self.getpos()[0]}')


def inline_offences(html: str) -> list[str]:
    parser = _Inline()
    parser.feed(html)
    parser.close()
    return parser.offences


def test_the_checker_finds_each_kind_of_inline_code():
    """The checker itself: each construct the policy blocks is found, and what the policy allows is not."""
    blocked = (
        '<script>alert(1)</script><div style="color:red"></div><button onclick="x()">x</button>'
        '<style>p{}</style><a href="javascript:x()">x</a><div hx-on:click="x()"></div>'
    )
    allowed = (
        '<script src="/static/js/a.js" defer></script><script type="application/json" id="d">{}</script>'
        '<div class="style" data-online="1">onclick="not an attribute"</div>'
    )

    assert len(inline_offences(blocked)) == 6
    assert inline_offences(allowed) == []


def _html_of(response) -> str | None:
    if response.status_code != 200 or not response.get("Content-Type", "").startswith("text/html"):
        return None
    return response.content.decode(response.charset or "utf-8")


@pytest.mark.slow
def test_no_page_of_the_access_matrix_has_inline_code(cast, client_for):
    """Every URL of tests/test_access_matrix.py, opened by each role it answers 200 to, has no inline code."""
    offences, checked = [], 0
    for name, (kind, expected_by_role) in sorted(test_access_matrix.MATRIX.items()):
        if name.startswith("api:") and name != "api:docs":
            continue
        url = test_access_matrix._url(name, kind, cast)
        for role in ("anonymous", "coordinator", "clinician", "patient"):
            if expected_by_role[role] != 200:
                continue
            html = _html_of(client_for(cast[role]).get(url))
            if html is None:
                continue
            checked += 1
            offences += [f"{role} GET {url}: {offence}" for offence in inline_offences(html)]

    assert not offences, "\n".join(offences)
    assert checked >= 50, f"only {checked} pages checked"


@pytest.mark.slow
def test_the_error_pages_have_no_inline_code(client_for, patient, settings):
    """The 403, 404 and 500 pages the app shows when DEBUG is off."""
    settings.DEBUG = False
    client = client_for(patient.user)
    forbidden = client.get(reverse("recovery:patient-list"))
    missing = client.get("/no-such-page/")
    broken = error_500(RequestFactory().get("/"))

    assert (forbidden.status_code, missing.status_code, broken.status_code) == (403, 404, 500)
    for response in (forbidden, missing, broken):
        assert inline_offences(response.content.decode()) == [], response.status_code


class _CheckingClient:
    """A test client that checks every HTML page it is given for inline code (for the crawl of every page)."""

    def __init__(self, client):
        self.client = client
        self.pages = 0
        self.offences: list[str] = []

    def get(self, url, *args, **kwargs):
        response = self.client.get(url, *args, **kwargs)
        html = _html_of(response)
        if html is not None:
            self.pages += 1
            self.offences += [f"GET {url}: {offence}" for offence in inline_offences(html)]
        return response


@pytest.mark.slow
@pytest.mark.parametrize("role", ["coordinator", "clinician", "patient"])
def test_no_page_a_role_reaches_on_the_demo_has_inline_code(role, demo, db, client, phase_of):
    """The crawl of tests/test_every_page.py (three clicks from each demo login's home, every phase): no page has an
    inline script, an inline style or an event-handler attribute."""
    client.force_login(demo[role])
    checking = _CheckingClient(client)

    test_every_page.crawl(checking, phase_of)

    assert not checking.offences, "\n".join(checking.offences)
    assert checking.pages >= 8, f"only {checking.pages} pages checked"
