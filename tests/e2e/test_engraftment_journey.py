"""A clinician enters the day's panel, confirms the proposed engraftment date and sees the phase change.

Karl opens Pia's "Labs & engraftment" page on Day +12: the counts so far show the nadir and two days with ANC
>= 0.5, so nothing is proposed yet. He enters today's panel (ANC 0.9): the third day completes the rule and the
page proposes Day +10. He confirms it; Pia leaves aplasia. Then the immune reconstitution page, and Pia's own
"your immune system's recovery" page on her phone.

Screenshots (var/screenshots/): labs-engraftment (proposal shown; phone and desktop), labs-engraftment-confirmed and
immune-reconstitution (desktop), my-immune (phone and desktop).
"""

from datetime import datetime, time, timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Role
from recovery.models import LabResult
from recovery.queries.labs import engraftment_proposal
from recovery.queries.timeline import patient_today
from tests.e2e.conftest import charts_drawn, screenshot
from tests.e2e.test_login_per_role import PASSWORD, open_login, sign_in
from tests.factories import CentreFactory, UserFactory, patient_with_login, transplant

pytestmark = pytest.mark.e2e

ANC = {-3: 3.1, 0: 2.0, 1: 1.3, 2: 0.7, 3: 0.3, 4: 0.12, 5: 0.04, 6: 0.02, 7: 0.02, 8: 0.08, 9: 0.3, 10: 0.6, 11: 0.8}
PLATELETS = {-3: 210, 0: 150, 1: 120, 2: 85, 3: 50, 4: 30, 5: 18, 6: 12, 7: 9, 8: 14, 9: 17, 10: 19, 11: 22}


@pytest.fixture
def cast(transactional_db):
    centre = CentreFactory(name="Uppsala Transplant Centre", phone_24h="+46 18 611 00 00")
    karl = UserFactory(
        username="karl", first_name="Karl", last_name="Wiberg", role=Role.CLINICIAN, centres=[centre], password=PASSWORD
    )
    pia = patient_with_login(centre=centre, first_name="Pia", last_name="Holmgren", hospital_number="UAS-1001")
    pia.user.set_password(PASSWORD)
    pia.user.save()
    day0 = patient_today(pia) - timedelta(days=12)
    transplant(pia, day0)
    for offset in sorted(ANC):
        at = datetime.combine(day0 + timedelta(days=offset), time(6, 30), tzinfo=pia.tz)
        LabResult.objects.create(patient=pia, test="anc", value=str(ANC[offset]), unit="x10^9/L", collected_at=at)
        LabResult.objects.create(
            patient=pia, test="platelets", value=str(PLATELETS[offset]), unit="x10^9/L", collected_at=at
        )
        LabResult.objects.create(
            patient=pia, test="wbc", value=str(round(ANC[offset] + 0.2, 2)), unit="x10^9/L", collected_at=at
        )
    return {"karl": karl, "pia": pia, "day0": day0}


def test_a_clinician_enters_a_panel_and_confirms_engraftment(page, live_server, cast):
    pia, day0 = cast["pia"], cast["day0"]
    open_login(page)
    sign_in(page, "karl", PASSWORD)
    page.goto(f"/patients/{pia.uuid}/")
    page.get_by_test_id("labs-link").click()

    expect(page.get_by_role("heading", level=1)).to_contain_text("Labs & engraftment")
    expect(page.get_by_test_id("phase")).to_have_text("Aplasia")
    expect(page.get_by_test_id("engraftment-neutrophil-status")).to_contain_text("Not yet")

    # Today's panel, entered as the lab reported it; a typing slip first (platelets in cells/uL).
    now = timezone.localtime(timezone.now(), pia.tz) - timedelta(minutes=5)
    page.get_by_label("Sample taken").fill(now.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_role("textbox", name="Neutrophils (ANC)").fill("0.9")
    page.get_by_role("textbox", name="Platelets", exact=True).fill("24000")
    page.get_by_role("textbox", name="White cells (WBC)").fill("1.4")
    page.get_by_role("textbox", name="Haemoglobin").fill("92")
    page.get_by_test_id("panel-submit").click()
    expect(page.get_by_test_id("error-platelets")).to_contain_text("did you mean 24?")
    expect(page.get_by_role("textbox", name="Neutrophils (ANC)")).to_have_value("0.9")  # what was typed is kept
    page.get_by_role("textbox", name="Platelets", exact=True).fill("24")
    page.get_by_test_id("panel-submit").click()
    expect(page.get_by_role("alert").first).to_contain_text("4 results saved")

    status = page.get_by_test_id("engraftment-neutrophil-status")
    expect(status).to_contain_text("Proposed")
    expect(status).to_contain_text("Day +10")
    assert engraftment_proposal(pia).neutrophil.proposed == day0 + timedelta(days=10)
    charts_drawn(page)
    screenshot(page, "labs-engraftment", then=charts_drawn)

    page.get_by_test_id("confirm-neutrophil").click()
    expect(page.get_by_role("alert").first).to_contain_text("Neutrophil engraftment confirmed")
    expect(page.get_by_test_id("engraftment-neutrophil-status")).to_contain_text("Engrafted on")
    expect(page.get_by_test_id("phase")).to_have_text("Early recovery")
    pia.refresh_from_db()
    assert pia.episode.neutrophil_engraftment_date == day0 + timedelta(days=10)
    screenshot(page, "labs-engraftment-confirmed", then=charts_drawn, sizes=("desktop",))

    page.goto(f"/patients/{pia.uuid}/")
    expect(page.get_by_test_id("phase")).to_have_text("Early recovery")


@pytest.fixture
def followed(transactional_db):
    """Pia, two years after Day 0, with CD4, CD19, IgG and viral loads recorded along the way."""
    centre = CentreFactory(name="Uppsala Transplant Centre", phone_24h="+46 18 611 00 00")
    karl = UserFactory(username="karl", first_name="Karl", role=Role.CLINICIAN, centres=[centre], password=PASSWORD)
    pia = patient_with_login(centre=centre, first_name="Pia", last_name="Holmgren", hospital_number="UAS-1001")
    pia.user.set_password(PASSWORD)
    pia.user.save()
    day0 = patient_today(pia) - timedelta(days=400)
    transplant(pia, day0, engrafted=day0 + timedelta(days=11))
    immune = [(91, 0.07, 0.01, 4.4), (182, 0.12, 0.1, 5.2), (273, 0.15, 0.2, 6.0), (365, 0.17, 0.27, 6.6)]
    for day, cd4, cd19, igg in immune:
        at = datetime.combine(day0 + timedelta(days=day), time(9), tzinfo=pia.tz)
        for test, value in (("cd4", cd4), ("cd19", cd19), ("igg", igg)):
            LabResult.objects.create(patient=pia, test=test, value=str(value), unit="x", collected_at=at)
    for week in range(1, 15):
        at = datetime.combine(day0 + timedelta(days=7 * week), time(9), tzinfo=pia.tz)
        ebv = {4: 2500, 5: 18000, 6: 42000, 7: 9000}.get(week, 0)
        LabResult.objects.create(patient=pia, test="ebv_pcr", value=str(ebv), unit="copies/mL", collected_at=at)
        LabResult.objects.create(patient=pia, test="cmv_pcr", value="0", unit="copies/mL", collected_at=at)
    return {"karl": karl, "pia": pia}


def test_immune_reconstitution_for_the_clinician_and_in_plain_words_for_the_patient(page, live_server, followed):
    pia = followed["pia"]
    open_login(page)
    sign_in(page, "karl", PASSWORD)
    page.goto(f"/patients/{pia.uuid}/immune/")
    expect(page.get_by_test_id("cd4-status")).to_contain_text("below 0.2")
    charts_drawn(page)
    screenshot(page, "immune-reconstitution", then=charts_drawn, sizes=("desktop",))

    page.context.clear_cookies()
    open_login(page)
    sign_in(page, pia.user.username, PASSWORD)
    page.goto("/my/")
    page.get_by_test_id("my-immune-link").click()
    expect(page.get_by_test_id("my-cd4-text")).to_contain_text("Your CD4 cells, which fight infections, are at 0.17")
    expect(page.get_by_test_id("my-cd4-text")).to_contain_text("waits for 0.2")
    screenshot(page, "my-immune", then=charts_drawn)
