"""WCAG 2.2 AA, checked by axe-core on every page of every role, at phone and desktop sizes.

The pages are the ones tests/test_every_page.py crawls: on the seeded demo, each role's links followed from its
home, three clicks deep (that module's `crawl`, so a new page is checked without editing this one). Of the HTML
pages the crawl opened, one per URL pattern and set of query keys is checked (the others show the same template
with other rows), and the patient's page once per phase, the page whose content most depends on it. Each role
signs in once through the real login page; its two browser contexts (VIEWPORTS) share that session.

axe-core (tests/e2e/vendor/, never served by the app) is added to every document as a Playwright init script,
which the page's Content-Security-Policy does not govern, so the policy is tested as it is. axe runs with the
WCAG 2.0, 2.1 and 2.2 A and AA rules; any serious or critical violation fails the test, each listed with its rule,
element and page. At phone size each page is also narrowed to 320 px, where it must not scroll sideways (a wide
table becomes stacked cards, `.rt-stack` in app.css).

Two journeys complete the check: tabbing through the check-in on a small phone never leaves the focused control
behind the sticky "Call the unit" bar (2.4.11), and a form sent with an error puts focus on its error summary.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from accounts.models import Role, User
from recovery.queries.timeline import patient_today
from tests.conftest import seed
from tests.e2e.conftest import TIMEOUT_MS, VIEWPORTS
from tests.e2e.test_login_per_role import PASSWORD, open_login, sign_in
from tests.e2e.test_patient_home import UNIT_PHONE
from tests.e2e.test_patient_home import sign_in as patient_sign_in
from tests.factories import CentreFactory, PatientFactory, UserFactory, transplant
from tests.test_every_page import ROLES, _resolve, crawl, phases_of_patients

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
FAILING_IMPACTS = {"serious", "critical"}
PER_PHASE = {"recovery:patient-detail"}
# The API's documentation for developers is Swagger UI, a third-party page drf-spectacular serves as it is: its
# nested controls and small targets are Swagger UI's markup, not the app's, so it is left out of the check (the
# README says so). Every page a patient or a member of staff uses is checked.
THIRD_PARTY = {"api:docs"}
NARROW = 320  # CSS pixels: WCAG 1.4.10's width, at which nothing but wide content (tables) may scroll sideways
SIDEWAYS = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
AFTER_RESIZE = "() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(done))))"
RUN_AXE = """(tags) => axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]})
  .then((result) => result.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map((node) => node.target.join(" ")),
  })))"""


class RecordingClient:
    """A test client that remembers each answer's Content-Type, so only the HTML pages of a crawl are checked."""

    def __init__(self, user):
        self.client = Client()
        self.client.force_login(user)
        self.content_types: dict[str, str] = {}

    def get(self, url):
        response = self.client.get(url)
        self.content_types[url] = response.get("Content-Type", "")
        return response


def pages_of(role_user, phase_of: dict[str, str]) -> list[str]:
    """The HTML pages the role's crawl opened: one per URL pattern and query keys (and phase, for PER_PHASE)."""
    client = RecordingClient(role_user)
    result = crawl(client, phase_of)
    assert not result.failures, "\n".join(result.failures)
    chosen: dict[tuple, str] = {}
    for url, status in result.statuses.items():
        if status != 200 or not client.content_types[url].startswith("text/html"):
            continue
        match = _resolve(url)
        name = match.view_name if match else urlsplit(url).path
        if name in THIRD_PARTY:
            continue
        phase = phase_of.get(str(match.kwargs.get("patient_id")), "") if name in PER_PHASE else ""
        keys = tuple(sorted({key for key, _ in parse_qsl(urlsplit(url).query)}))
        chosen.setdefault((name, keys, phase), url)
    return list(chosen.values())


@pytest.fixture
def demo_site(transactional_db):
    """The demo (`seed_demo`), its three logins with a known password."""
    seed("seed_demo")
    users = {user.username: user for user in User.objects.filter(username__in=ROLES)}
    for user in users.values():
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    return users


def signed_in_contexts(browser, live_server, username: str) -> list[tuple[str, object]]:
    """One page per size of VIEWPORTS, each with axe added to every document, sharing one signed-in session."""
    pages = []
    for size, options in VIEWPORTS.items():
        context = browser.new_context(base_url=live_server.url, **options)
        context.add_init_script(path=str(AXE))
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        pages.append((size, page))
    first = pages[0][1]
    open_login(first)
    sign_in(first, username, PASSWORD)
    first.wait_for_load_state("load")
    for _, page in pages[1:]:
        page.context.add_cookies(first.context.cookies())
    return pages


def violations_on(page, path: str, size: str) -> list[str]:
    """axe's serious and critical findings on the page; on a phone, also any sideways scrolling at 320 px (1.4.10)."""
    response = page.goto(path)
    assert response is not None
    assert response.status < 400, f"GET {path}: {response.status}"
    page.wait_for_load_state("load")
    found = []
    if size == "phone":
        viewport = page.viewport_size
        page.set_viewport_size({"width": NARROW, "height": viewport["height"]})
        page.evaluate(AFTER_RESIZE)  # Chart.js redraws its canvas on the frames after a resize
        overflow = page.evaluate(SIDEWAYS)
        if overflow > 0:
            found.append(f"reflow: scrolls sideways by {overflow} px at {NARROW} px wide")
        page.set_viewport_size(viewport)
    for violation in page.evaluate(RUN_AXE, TAGS):
        if violation["impact"] in FAILING_IMPACTS:
            for target in violation["targets"]:
                found.append(f"{violation['id']} ({violation['impact']}: {violation['help']}) at {target}")
    return found


def test_no_page_of_any_role_has_a_serious_or_critical_axe_violation(browser, live_server, demo_site):
    """Every HTML page each role reaches from its home passes axe's WCAG 2.2 AA rules, on a phone and a desktop."""
    phase_of = phases_of_patients()
    problems, checked = [], 0
    for role in ROLES:
        paths = pages_of(demo_site[role], phase_of)
        pages = signed_in_contexts(browser, live_server, role)
        for path in paths:
            for size, page in pages:
                checked += 1
                problems += [f"{role} {size} {path}: {found}" for found in violations_on(page, path, size)]
        for _, page in pages:
            page.context.close()

    assert checked > 100, f"only {checked} pages checked"
    assert not problems, f"{len(problems)} serious or critical violations on {checked} pages:\n" + "\n".join(problems)


@pytest.fixture
def pia_on_day_9(transactional_db):
    """Pia, a patient with a login on Day +9 (in aplasia), her unit's number known: the call bar is shown."""
    centre = CentreFactory(name="Uppsala Transplant Centre", phone_24h=UNIT_PHONE)
    user = UserFactory(username="pia", first_name="Pia", role=Role.PATIENT, password=PASSWORD)
    patient = PatientFactory(user=user, centre=centre, first_name="Pia", last_name="Holmgren")
    transplant(patient, patient_today(patient) - timedelta(days=9), mobilised_days_before=35, collected_days_before=25)
    return patient


# Where the focused element is, and whether the sticky call bar covers any of it.
FOCUS_UNDER_BAR = """() => {
  const focused = document.activeElement;
  const bar = document.querySelector(".rt-call-bar");
  if (!focused || focused === document.body || !bar || bar.contains(focused)) return null;
  const f = focused.getBoundingClientRect(), b = bar.getBoundingClientRect();
  const label = focused.id || focused.getAttribute("name") || focused.textContent.trim().slice(0, 40);
  return {label, covered: f.bottom > b.top + 1 && f.top < b.bottom, bottom: f.bottom, barTop: b.top};
}"""


def test_the_sticky_call_bar_never_hides_the_field_in_focus_on_a_phone(phone, live_server, pia_on_day_9):
    """Tabbing through the whole check-in on a phone, no focused control is behind "Call the unit" (WCAG 2.4.11)."""
    phone.set_viewport_size({"width": 320, "height": 568})
    patient_sign_in(phone)
    phone.goto(reverse("recovery:checkin"))
    assert phone.locator(".rt-call-bar").count() == 1

    visited, covered = 0, []
    for _ in range(120):
        phone.keyboard.press("Tab")
        where = phone.evaluate(FOCUS_UNDER_BAR)
        if where is None:
            if phone.evaluate("document.querySelector('.rt-call-bar').contains(document.activeElement)"):
                break
            continue
        visited += 1
        if where["covered"]:
            covered.append(f"{where['label']}: bottom {where['bottom']:.0f} px, bar from {where['barTop']:.0f} px")

    assert visited >= 10, f"only {visited} controls reached by Tab before the call button"
    assert not covered, "focused controls hidden by the call bar:\n" + "\n".join(covered)


def test_a_form_with_errors_moves_focus_to_the_summary_and_its_link_to_the_field(phone, live_server, pia_on_day_9):
    """After a wrong temperature the error summary has focus; its link focuses the temperature field."""
    patient_sign_in(phone)
    phone.goto(reverse("recovery:temperature"))
    phone.get_by_label("Temperature").fill("warm")
    phone.get_by_role("button", name="Save").click()

    summary = phone.get_by_test_id("error-summary")
    expect(summary).to_be_focused()
    assert phone.title().startswith("Error: ")
    summary.get_by_role("link").first.click()
    expect(phone.locator("#id_temperature")).to_be_focused()
    expect(phone.locator("#id_temperature")).to_have_value("warm")
