"""The enforced Content-Security-Policy in a real browser: the main pages, as staff and as a patient, on the demo.

Chromium reports each resource or inline code the policy blocks as a `securitypolicyviolation` event and a console
error. Every page below is opened with a listener for both; any report fails the test, as does a script error.
Each chart (Chart.js styles its canvas through the CSSOM, which the policy allows) must be drawn at a non-zero
size, and the triage queue's htmx refresh must still swap in a fresh queue. One check shows the policy really is
enforced here: an inline script injected into a page does not run and is reported.
"""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Role, User
from recovery.models import Alert, Patient
from tests.conftest import seed
from tests.e2e.test_login_per_role import PASSWORD, open_login, sign_in
from tests.factories import UserFactory

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

# Set before any page script runs (Playwright's init scripts are not subject to the page's policy).
LISTEN = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__violations.push(`${e.effectiveDirective} blocked ${e.blockedURI || "inline"} at ${where}`);
});
"""


class Watch:
    """What the browser reported on the pages opened: policy violations, script errors, header complaints."""

    def __init__(self, page):
        self.page = page
        self.problems: list[str] = []
        page.add_init_script(LISTEN)
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.problems.append(f"{page.url}: script error: {error}"))

    def _console(self, message):
        text = message.text
        if "Content Security Policy" in text or "Content-Security-Policy" in text or "Permissions-Policy" in text:
            self.problems.append(f"{self.page.url}: console {message.type}: {text}")

    def open(self, path: str) -> None:
        response = self.page.goto(path)
        assert response is not None
        assert response.status < 400, f"GET {path}: {response.status}"
        assert "content-security-policy" in response.headers, f"GET {path}: no Content-Security-Policy header"
        self.page.wait_for_load_state("load")
        self.charts_drawn(path)
        self.collect()

    def charts_drawn(self, path: str) -> None:
        """Every canvas on the page holds a Chart.js chart and is laid out at a non-zero size."""
        canvases = self.page.locator("canvas").count()
        if not canvases:
            return
        self.page.wait_for_function(
            "() => window.Chart && [...document.querySelectorAll('canvas')].every((c) => Chart.getChart(c))"
        )
        sizes = self.page.evaluate("[...document.querySelectorAll('canvas')].map((c) => [c.id, c.width, c.height])")
        for canvas_id, width, height in sizes:
            assert min(width, height) > 0, f"{path}: chart {canvas_id} is {width}x{height}"

    def collect(self) -> None:
        self.problems += [f"{self.page.url}: {v}" for v in self.page.evaluate("window.__violations || []")]
        self.page.evaluate("window.__violations = []")

    def assert_clean(self, opened: int) -> None:
        self.collect()
        assert not self.problems, f"{len(self.problems)} reported on {opened} pages:\n" + "\n".join(self.problems)


@pytest.fixture
def demo_site(transactional_db):
    """The demo (`seed_demo`) with known passwords, and an administrator."""
    seed("seed_demo")
    for user in User.objects.filter(username__in=("coordinator", "clinician", "patient")):
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    UserFactory(username="root", is_staff=True, is_superuser=True, password=PASSWORD)
    return {"patient": Patient.objects.get(user__username="patient")}


def _signed_in(page, username: str) -> Watch:
    watch = Watch(page)
    open_login(page)
    sign_in(page, username, PASSWORD)
    page.wait_for_load_state("load")
    return watch


def test_staff_pages_run_under_the_policy_with_charts_and_the_queue_refresh(page, browser, live_server, demo_site):
    patient = demo_site["patient"]
    pages = [
        reverse("recovery:dashboard"),
        reverse("recovery:patient-list"),
        reverse("recovery:patient-detail", args=[patient.uuid]),
        reverse("recovery:patient-review", args=[patient.uuid]),
        reverse("recovery:patient-outcomes", args=[patient.uuid]),
        reverse("recovery:patient-labs", args=[patient.uuid]),
        reverse("recovery:patient-immune", args=[patient.uuid]),
        reverse("recovery:patient-vaccinations", args=[patient.uuid]),
        reverse("recovery:patient-prophylaxis", args=[patient.uuid]),
        reverse("recovery:patient-reminders", args=[patient.uuid]),
        reverse("recovery:patient-access-log", args=[patient.uuid]),
        reverse("recovery:eligibility", args=[patient.uuid]),
        reverse("recovery:cohort"),
        reverse("recovery:this-week"),
        reverse("recovery:tasks"),
        reverse("recovery:inbox"),
        reverse("recovery:vaccinations-due"),
        reverse("recovery:lab-import"),
        reverse("accounts:password-change"),
    ]
    alert = Alert.objects.filter(patient__centre=patient.centre).first()
    if alert is not None:
        pages.append(reverse("recovery:alert-detail", args=[alert.uuid]))
    watch = _signed_in(page, "clinician")

    for path in pages:
        watch.open(path)
    watch.open(reverse("api:docs"))
    expect(page.locator("#swagger-ui .info .title")).to_contain_text("Recovery tracker API")  # Swagger drew itself

    # The triage queue: htmx swaps in a fresh copy (what the 30-second trigger does, without the wait).
    watch.open(reverse("recovery:dashboard"))
    page.wait_for_function("() => window.htmx !== undefined")
    page.evaluate("window.__notReloaded = true; document.getElementById('alert-queue').dataset.stale = 'yes'")
    rows = page.get_by_test_id("queue-row").count()
    with page.expect_response(lambda r: r.url.endswith(reverse("recovery:alert-queue"))) as refreshed:
        page.evaluate(
            "htmx.ajax('GET', document.getElementById('alert-queue').getAttribute('hx-get'),"
            " {target: '#alert-queue', swap: 'outerHTML'})"
        )
    assert refreshed.value.status == 200
    page.wait_for_function("() => document.getElementById('alert-queue').dataset.stale === undefined")
    expect(page.get_by_test_id("queue-row")).to_have_count(rows)
    assert rows > 0
    assert page.evaluate("window.__notReloaded === true")
    assert page.evaluate("document.querySelectorAll('head style').length") == 0, "htmx injected its <style>"

    # The coordinator's forms.
    coordinator = browser.new_context(base_url=live_server.url).new_page()
    coordinator_watch = _signed_in(coordinator, "coordinator")
    for path in (
        reverse("recovery:patient-list"),
        reverse("recovery:patient-create"),
        reverse("recovery:patient-edit", args=[patient.uuid]),
        reverse("recovery:episode-edit", args=[patient.uuid]),
        reverse("recovery:event-add", args=[patient.uuid]),
        reverse("recovery:patient-invite", args=[patient.uuid]),
        reverse("recovery:reminder-hold", args=[patient.uuid]),
        reverse("recovery:tasks"),
    ):
        coordinator_watch.open(path)

    # The admin site: inline styles allowed there, scripts still not.
    admin = browser.new_context(base_url=live_server.url).new_page()
    admin_watch = Watch(admin)
    admin.goto(reverse("admin:login"))
    admin.get_by_label("Username").fill("root")
    admin.get_by_label("Password").fill(PASSWORD)
    admin.get_by_role("button", name="Sign in").click()
    admin.wait_for_load_state("load")
    for path in (reverse("admin:index"), reverse("admin:recovery_patient_changelist")):
        admin_watch.open(path)

    watch.assert_clean(len(pages) + 2)
    coordinator_watch.assert_clean(8)
    admin_watch.assert_clean(2)
    coordinator.context.close()
    admin.context.close()


def test_patient_pages_run_under_the_policy_with_the_chart(phone, live_server, demo_site):
    watch = _signed_in(phone, "patient")
    pages = [
        reverse("recovery:my-recovery"),
        reverse("recovery:checkin"),
        reverse("recovery:temperature"),
        reverse("recovery:my-history"),
        reverse("recovery:my-calendar"),
        reverse("recovery:my-reminders"),
        reverse("recovery:my-vaccinations"),
        reverse("recovery:my-immune"),
        reverse("recovery:inbox"),
    ]
    for path in pages:
        watch.open(path)
    # The history page's temperature chart is drawn at a real size.
    watch.open(reverse("recovery:my-history"))
    box = phone.locator("#temperature-chart").bounding_box()
    assert box is not None
    assert min(box["width"], box["height"]) > 0

    # The calendar page's copy button (its script is a file now) still works.
    watch.open(reverse("recovery:my-calendar"))
    create = phone.get_by_role("button", name="Create my calendar address")
    if create.count():
        create.click()
        phone.wait_for_load_state("load")
    phone.context.grant_permissions(["clipboard-read", "clipboard-write"])
    phone.locator("#copy-feed-url").click()
    expect(phone.locator("#copy-status")).to_contain_text("Copied")

    watch.assert_clean(len(pages) + 2)


def test_the_browser_enforces_the_policy_an_injected_inline_script_does_not_run(page, live_server, transactional_db):
    UserFactory(username="pia", role=Role.PATIENT, password=PASSWORD)
    watch = _signed_in(page, "pia")
    watch.open(reverse("accounts:password-change"))

    page.evaluate(
        "() => { const s = document.createElement('script'); s.textContent = 'window.__ran = true';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_function("() => window.__violations.length > 0")

    assert page.evaluate("window.__ran === undefined")
    assert any("script-src" in v for v in page.evaluate("window.__violations"))
