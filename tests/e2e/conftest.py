"""Browser tests: Debian Chromium driven by Playwright against pytest-django's live server.

Playwright cannot download browsers here, so the system Chromium is launched directly. Its sync API keeps an
event loop running in the test thread, which Django's async-safety check would otherwise refuse for ORM calls.

Every browser test runs at the same time of day (`fixed_time_of_day`), and writes only under var/: its
screenshots go to var/screenshots/. The README's screenshots (docs/screenshots/) are copied from there only by
`make screenshots` (see tests/e2e/docs_screenshots.py).
"""

import os
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings

from tests.conftest import service_unavailable

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "device_scale_factor": 2},
    "desktop": {"viewport": {"width": 1366, "height": 900}},
}
TIMEOUT_MS = 10_000

# The zone of the centres and patients that tests/factories.py makes, and the wall time the browser tests run at.
PATIENT_ZONE = ZoneInfo("Europe/Stockholm")
TIME_OF_DAY = time(13, 0)


def screenshots_dir() -> Path:
    directory = Path(settings.VAR_DIR) / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def nearest_wall_time(at: time, zone: ZoneInfo, now: datetime) -> datetime:
    """The moment nearest to `now` at which the clock in `zone` shows `at` (so at most about 12 hours away)."""
    local = now.astimezone(zone)
    candidates = [datetime.combine(local.date() + timedelta(days=days), at, tzinfo=zone) for days in (-1, 0, 1)]
    return min(candidates, key=lambda moment: abs(moment - now))


@pytest.fixture(autouse=True)
def fixed_time_of_day(request):
    """Run each browser test at 13:00 in the patients' zone, on the day nearest to the real clock; time ticks on.

    What the pages show depends on the hour: which check-ins have been missed by now, the local date near midnight,
    the Day number. time_machine moves the clock of every thread, so the fixtures, the test and the live server
    all see the same time. Chromium keeps the real clock; the nearest such day is at most about 12 hours away, so a
    cookie that the server dates (the session lasts SESSION_COOKIE_AGE, 12 hours) stays valid in the browser too.
    """
    if "live_server" not in request.fixturenames:
        yield None
        return
    # In UTC: given a datetime in a ZoneInfo zone, time_machine would also switch the process's local zone (TZ).
    at = nearest_wall_time(TIME_OF_DAY, PATIENT_ZONE, datetime.now(UTC)).astimezone(UTC)
    with time_machine.travel(at, tick=True):
        yield at


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        service_unavailable(f"Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _page(browser, live_server, size: str):
    context = browser.new_context(base_url=live_server.url, **VIEWPORTS[size])
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    return context, page


# The screenshot tabs of the session, one per size of VIEWPORTS, while `screenshot_tabs` is set up.
_SCREENSHOT_TABS: dict = {}


@pytest.fixture(scope="session")
def screenshot_tabs(browser, live_server):
    """The tabs `screenshot` loads pages in, one per size, opened when first used and kept for the session.

    A browser context per screenshot would start a renderer process each time. They are closed before the live
    server stops: an open tab keeps connections to it, and so server threads and their database connections.
    """
    yield _SCREENSHOT_TABS
    for tab in _SCREENSHOT_TABS.values():
        tab.context.close()
    _SCREENSHOT_TABS.clear()


@pytest.fixture
def page(browser, live_server, transactional_db, screenshot_tabs):
    """A fresh desktop-sized page; its own browser context, so no cookies leak between tests."""
    context, page = _page(browser, live_server, "desktop")
    yield page
    context.close()


@pytest.fixture
def phone(browser, live_server, transactional_db, screenshot_tabs):
    """A fresh phone-sized page, in its own browser context."""
    context, page = _page(browser, live_server, "phone")
    yield page
    context.close()


def charts_drawn(page) -> None:
    """Wait until every canvas on the page (there is at least one) holds a drawn Chart.js chart."""
    page.wait_for_function(
        "() => window.Chart && document.querySelectorAll('canvas').length > 0 && "
        "[...document.querySelectorAll('canvas')].every((c) => Chart.getChart(c))"
    )


def _no_sideways_scroll(page, name: str, size: str, path: Path) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{name} scrolls sideways by {overflow} px at {size} size; see {path}"


def _screenshot_tab(browser, size: str):
    tab = _SCREENSHOT_TABS.get(size)
    if tab is None or tab.is_closed():
        tab = browser.new_context(**VIEWPORTS[size]).new_page()
        tab.set_default_timeout(TIMEOUT_MS)
        _SCREENSHOT_TABS[size] = tab
    return tab


def screenshot(page, name: str, then=None, sizes: tuple[str, ...] = tuple(VIEWPORTS)) -> list[Path]:
    """Save full-page PNGs of the page's URL as var/screenshots/<name>-phone.png and <name>-desktop.png.

    Each is a fresh load of the URL in the session's tab of that size (`screenshot_tabs`, which the `page` and
    `phone` fixtures set up), carrying the page's cookies and no others, so the same user is signed in. `sizes`
    limits them to some of VIEWPORTS. `then(tab)`, if given, runs after loading, to reach a state a plain GET does
    not show. Fails if the page scrolls sideways at any of the sizes (content wider than the screen).
    """
    directory = screenshots_dir()
    cookies = page.context.cookies()
    saved = []
    for size in sizes:
        tab = _screenshot_tab(page.context.browser, size)
        tab.context.clear_cookies()
        tab.context.add_cookies(cookies)
        tab.goto(page.url)
        if then is not None:
            then(tab)
        path = directory / f"{name}-{size}.png"
        tab.screenshot(path=str(path), full_page=True)
        saved.append(path)
        _no_sideways_scroll(tab, name, size, path)
    return saved


def screenshot_in_place(page, name: str, size: str, *, full_page: bool = True) -> Path:
    """Save a PNG of the page as it is now (no reload, so a form's errors stay) as var/screenshots/<name>-<size>.png.

    The page must be at that size of VIEWPORTS. Fails if it scrolls sideways.
    """
    assert page.viewport_size == VIEWPORTS[size]["viewport"], f"{name}: the page is not {size}-sized"
    path = screenshots_dir() / f"{name}-{size}.png"
    page.screenshot(path=str(path), full_page=full_page)
    _no_sideways_scroll(page, name, size, path)
    return path
