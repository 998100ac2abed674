"""The range picker changes what a chart shows: Karl opens Pia's labs at Day +200; the counts show the first 100
days by default, and "All" redraws the chart out to today, keyboard only."""

from datetime import datetime, time, timedelta

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from recovery.models import LabResult
from recovery.queries.timeline import patient_today
from tests.e2e.conftest import charts_drawn
from tests.e2e.test_login_per_role import PASSWORD, open_login, sign_in
from tests.factories import CentreFactory, UserFactory, patient_with_login, transplant

pytestmark = pytest.mark.e2e


@pytest.fixture
def cast(transactional_db):
    centre = CentreFactory(name="Uppsala Transplant Centre")
    UserFactory(username="karl", role=Role.CLINICIAN, centres=[centre], password=PASSWORD)
    pia = patient_with_login(centre=centre, first_name="Pia", last_name="Holmgren")
    day0 = patient_today(pia) - timedelta(days=200)
    transplant(pia, day0)
    for offset, value in ((10, "0.4"), (11, "0.6"), (12, "0.8"), (180, "3.2")):
        at = datetime.combine(day0 + timedelta(days=offset), time(6, 30), tzinfo=pia.tz)
        LabResult.objects.create(patient=pia, test="anc", value=value, unit="x10^9/L", collected_at=at)
    return pia


def _x_max(page) -> float:
    return page.evaluate("Chart.getChart(document.getElementById('anc-chart')).scales.x.max")


def test_the_range_picker_changes_the_charts_range(page, live_server, cast):
    open_login(page)
    sign_in(page, "karl", PASSWORD)
    page.goto(f"/patients/{cast.uuid}/labs/")
    charts_drawn(page)
    picker = page.get_by_test_id("chart-range")
    expect(picker.locator('[aria-current="true"]')).to_have_attribute("data-range", "100d")
    assert _x_max(page) <= 100
    picker.locator('[data-range="all"]').focus()
    page.keyboard.press("Enter")
    page.wait_for_url("**range=all**")
    charts_drawn(page)
    expect(page.get_by_test_id("chart-range").locator('[aria-current="true"]')).to_have_attribute("data-range", "all")
    assert _x_max(page) >= 200
