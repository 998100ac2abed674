"""Browser tests: Debian Chromium driven by Playwright against pytest-django's live server.

Playwright cannot download browsers here, so the system Chromium is launched directly. Its sync API keeps an
event loop running in the test thread, which Django's async-safety check would otherwise refuse for ORM calls.
"""

import os
from pathlib import Path

import pytest
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


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        service_unavailable(f"Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, transactional_db):
    """A fresh desktop-sized page; its own browser context, so no cookies leak between tests."""
    context = browser.new_context(base_url=live_server.url, **VIEWPORTS["desktop"])
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


def screenshot(page, name: str, then=None) -> list[Path]:
    """Save full-page PNGs of the page's URL as var/screenshots/<name>-phone.png and <name>-desktop.png.

    Each is taken in a fresh context of that size carrying the page's cookies (so the same user is signed in).
    `then(new_page)`, if given, runs after loading, to reach a state a plain GET does not show.
    Fails if the page scrolls sideways at either size (content wider than a phone's screen).
    """
    directory = Path(settings.VAR_DIR) / "screenshots"
    directory.mkdir(parents=True, exist_ok=True)
    state = page.context.storage_state()
    saved = []
    for label, options in VIEWPORTS.items():
        context = page.context.browser.new_context(storage_state=state, **options)
        try:
            shot = context.new_page()
            shot.goto(page.url)
            if then is not None:
                then(shot)
            path = directory / f"{name}-{label}.png"
            shot.screenshot(path=str(path), full_page=True)
            saved.append(path)
            overflow = shot.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} scrolls sideways by {overflow} px at {label} size; see {path}"
        finally:
            context.close()
    return saved
