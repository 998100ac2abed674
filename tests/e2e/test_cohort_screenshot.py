"""A clinician opens the cohort dashboard of a generated cohort of 40 transplanted patients.

Karl signs in, opens /cohort/ and sees the three Kaplan-Meier charts drawn (Chart.js on each canvas), the
number-at-risk tables, the safety table and the export link; then narrows the cohort to BEAM/ATG.

Screenshots (phone and desktop): cohort-dashboard, cohort-dashboard-filtered, cohort-dashboard-empty.
"""

import pytest
from playwright.sync_api import expect

from accounts.models import Role
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_per_role import PASSWORD, open_login, sign_in
from tests.factories import CentreFactory, UserFactory
from tests.test_cohort import generated_cohort

pytestmark = pytest.mark.e2e


@pytest.fixture
def karl(transactional_db):
    centre = CentreFactory(name="Uppsala Transplant Centre")
    generated_cohort(centre, 40)
    return UserFactory(username="karl", first_name="Karl", role=Role.CLINICIAN, centres=[centre], password=PASSWORD)


def _charts_drawn(page) -> None:
    page.wait_for_function(
        "() => ['neda3', 'progression_free', 'relapse_free'].every("
        "(key) => window.Chart && Chart.getChart(document.getElementById(`km-${key}-chart`)))"
    )


def test_a_clinician_reads_the_cohort_dashboard(page, live_server, karl):
    open_login(page)
    sign_in(page, "karl", PASSWORD)
    page.goto("/cohort/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Cohort outcomes")
    expect(page.get_by_test_id("cohort-summary")).to_contain_text("40 patients with a Day 0")
    for key in ("neda3", "progression_free", "relapse_free"):
        expect(page.get_by_test_id(f"km-{key}-counts")).to_contain_text("n = 40")
        expect(page.get_by_test_id(f"km-{key}-at-risk")).to_contain_text("At risk")
    _charts_drawn(page)
    expect(page.get_by_test_id("safety")).to_contain_text("Febrile neutropenia")
    expect(page.get_by_test_id("export-link")).to_be_visible()
    screenshot(page, "cohort-dashboard", then=_charts_drawn)

    page.get_by_label("Regimen").select_option("beam_atg")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("cohort-summary")).to_contain_text("10 patients with a Day 0 in this selection")
    _charts_drawn(page)
    screenshot(page, "cohort-dashboard-filtered", then=_charts_drawn)

    page.get_by_label("Regimen").select_option("bu_cy_atg")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_test_id("cohort-empty")).to_contain_text("No transplanted patient matches these filters.")
    screenshot(page, "cohort-dashboard-empty")
