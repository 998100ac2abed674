"""The lab CSV import in the browser: the upload's page shows the import waiting, polls its progress (htmx) and,
once the task (run here as the worker runs it) has finished, refreshes itself into the report."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from recovery.models import LabImport, LabResult
from recovery.services.lab_import import run_lab_import
from tests.e2e.test_login_per_role import PASSWORD, open_login, sign_in
from tests.factories import CentreFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.e2e


@pytest.fixture
def centre(transactional_db):
    return CentreFactory(name="Uppsala Transplant Centre")


def test_the_import_page_follows_the_task_and_shows_the_report_when_it_is_done(page, live_server, centre, tmp_path):
    UserFactory(username="cora", first_name="Cora", role=Role.COORDINATOR, centres=[centre], password=PASSWORD)
    patient = PatientFactory(centre=centre, hospital_number="UAS-1042")
    taken = timezone.localtime(timezone.now() - timedelta(days=1), patient.tz)
    csv_file = tmp_path / "results.csv"
    csv_file.write_text(
        "hospital_number,test,value,unit,collected_at\n"
        f"UAS-1042,anc,0.4,x10^9/L,{taken:%Y-%m-%d %H:%M}\n"
        f"UAS-1042,platelets,18,x10^9/L,{taken:%Y-%m-%d %H:%M}\n"
    )
    open_login(page)
    sign_in(page, "cora", PASSWORD)
    page.goto("/labs/import/")
    page.get_by_label("CSV file").set_input_files(str(csv_file))
    page.get_by_role("button", name="Check and import").click()

    expect(page.get_by_test_id("import-progress")).to_contain_text("Waiting for the import to start")
    assert not LabResult.objects.exists()

    run_lab_import(LabImport.objects.get().pk)  # what the worker does

    expect(page.get_by_test_id("import-counts")).to_contain_text("2 accepted", timeout=10_000)
    expect(page.get_by_test_id("import-progress")).to_have_count(0)
    expect(page.get_by_test_id("import-report")).to_contain_text("Platelets 18")
