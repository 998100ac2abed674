"""The patient's check-in with the keyboard only: from the sign-in page to the result, not one click.

Sara, engrafted and on Day +20 (early recovery, still in the high-risk window), signs in, opens "How I feel",
sends nothing chosen (and is told what to do, the error summary focused), chooses shivers and nausea, answers one
question per screen with the arrow keys, goes Back (her answer is still there), adds a temperature and a note,
changes an answer from "Check your answers" and sends. Shivers are a red flag: the result says call the unit now.
Every step is reached with a few Tab presses (the old form needed 40 to reach Send), and the whole way runs
without a mouse. Screenshots: patient-checkin-picker, -question and -answers (phone and desktop), and
-details (phone).
"""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from accounts.models import Role
from recovery.queries.timeline import patient_today
from tests.e2e.conftest import screenshot
from tests.e2e.test_login_per_role import PASSWORD, UNIT_PHONE
from tests.factories import CentreFactory, PatientFactory, UserFactory, transplant

pytestmark = pytest.mark.e2e

SHORT_PATH = 12  # Tab presses from the top of a step (skip link, menu, Back) to what is to be done there


@pytest.fixture
def sara(transactional_db):
    centre = CentreFactory(name="Uppsala Transplant Centre", phone_24h=UNIT_PHONE)
    user = UserFactory(username="sara", first_name="Sara", role=Role.PATIENT, password=PASSWORD)
    patient = PatientFactory(user=user, centre=centre, first_name="Sara", last_name="Lind")
    day0 = patient_today(patient) - timedelta(days=20)
    transplant(patient, day0, engrafted=day0 + timedelta(days=12))
    return patient


def focused(page: Page, selector: str) -> bool:
    return page.evaluate("(s) => document.activeElement !== null && document.activeElement.matches(s)", selector)


def tab_to(page: Page, selector: str, limit: int = SHORT_PATH) -> int:
    """Press Tab until the element matching `selector` has the focus; how many presses it took (at most `limit`)."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if focused(page, selector):
            return presses
    raise AssertionError(f"{selector} not reached with {limit} Tab presses on {page.url}")


def enter(page: Page) -> None:
    """Press Enter on what has the focus (a link or a form's button) and wait for the page it leads to."""
    with page.expect_navigation():
        page.keyboard.press("Enter")


def test_the_check_in_from_sign_in_to_the_result_with_the_keyboard_only(phone, live_server, sara):
    phone.goto("/accounts/login/")
    tab_to(phone, "#id_username")
    phone.keyboard.type("sara")
    phone.keyboard.press("Tab")
    phone.keyboard.type(PASSWORD)
    enter(phone)
    expect(phone).to_have_url(re.compile(r"/my/$"))

    tab_to(phone, "a[href='/my/check-in/']")
    enter(phone)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Is anything new or worse since you last told us?")
    screenshot(phone, "patient-checkin-picker")

    # Continue with nothing chosen: the error summary at the top has the focus and says what to do.
    tab_to(phone, "[data-testid=picker-form] button[type=submit]", limit=40)
    enter(phone)
    expect(phone).to_have_title(re.compile(r"^Error: "))
    summary = phone.get_by_test_id("error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Choose the symptoms that are new or worse, or choose I feel fine.")
    tab_to(phone, "[data-testid=error-summary] a", limit=1)
    phone.keyboard.press("Enter")  # to the first checkbox's place on the page (no new page)

    tab_to(phone, "#symptom-chills")
    phone.keyboard.press("Space")
    tab_to(phone, "#symptom-nausea")
    phone.keyboard.press("Space")
    tab_to(phone, "[data-testid=picker-form] button[type=submit]", limit=25)
    enter(phone)

    # One question per screen: the arrow keys choose within the group, Tab goes on to Continue.
    expect(phone.get_by_test_id("progress")).to_contain_text("Question 1 of 3")
    expect(phone.locator("progress")).to_have_attribute("value", "1")
    tab_to(phone, "input[name=grade]")
    phone.keyboard.press("ArrowDown")  # None -> Mild
    expect(phone.get_by_role("radio", name=re.compile(r"^Mild"))).to_be_checked()
    screenshot(phone, "patient-checkin-question")
    tab_to(phone, "main button[type=submit]", limit=1)
    enter(phone)

    expect(phone.get_by_test_id("progress")).to_contain_text("Question 2 of 3")
    tab_to(phone, "input[name=grade]")
    phone.keyboard.press("ArrowDown")
    phone.keyboard.press("ArrowDown")  # Moderate
    tab_to(phone, "main button[type=submit]", limit=1)
    enter(phone)

    # Back keeps the answer; on again.
    expect(phone.get_by_test_id("progress")).to_contain_text("Question 3 of 3")
    tab_to(phone, "[data-testid=back]")
    enter(phone)
    expect(phone.get_by_role("radio", name=re.compile(r"^Moderate"))).to_be_checked()
    tab_to(phone, "main button[type=submit]")
    enter(phone)

    tab_to(phone, "#id_temperature")
    phone.keyboard.type("37,6")
    tab_to(phone, "#id_notes", limit=4)
    phone.keyboard.type("Shivery since lunch")
    screenshot(phone, "patient-checkin-details", sizes=("phone",))
    tab_to(phone, "main button[type=submit]", limit=3)
    enter(phone)

    expect(phone.get_by_role("heading", level=1)).to_have_text("Check your answers")
    answers = phone.get_by_test_id("answer")
    expect(answers).to_have_count(2)
    expect(answers.nth(0)).to_contain_text("Shivering or shaking chills")
    expect(answers.nth(0)).to_contain_text("Mild")
    expect(answers.nth(1)).to_contain_text("Moderate")
    expect(phone.get_by_test_id("answer-temperature")).to_have_text("37.6 °C")
    expect(phone.get_by_test_id("answer-notes")).to_have_text("Shivery since lunch")
    screenshot(phone, "patient-checkin-answers")

    # Change the nausea: its question with the answer chosen, then straight back to the answers.
    tab_to(phone, "a[href='/my/check-in/symptom/nausea/?change=1']")
    enter(phone)
    tab_to(phone, "input[name=grade]")
    expect(phone.get_by_role("radio", name=re.compile(r"^Moderate"))).to_be_focused()
    phone.keyboard.press("ArrowDown")  # Severe
    tab_to(phone, "main button[type=submit]", limit=1)
    enter(phone)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Check your answers")
    expect(phone.get_by_test_id("answer").nth(1)).to_contain_text("Severe")
    assert not sara.symptom_reports.exists()  # nothing is sent before Send

    tab_to(phone, "[data-testid=send]", limit=20)
    enter(phone)
    expect(phone.get_by_role("heading", name="Call the unit now")).to_be_visible()
    report = sara.symptom_reports.get()
    assert report.symptoms == {"chills": 1, "nausea": 3}
    assert (str(report.temperature_c), report.notes, report.triage_level) == ("37.6", "Shivery since lunch", "urgent")


def test_i_feel_fine_is_a_few_tab_presses_and_one_key(phone, live_server, sara):
    phone.goto("/accounts/login/")
    tab_to(phone, "#id_username")
    phone.keyboard.type("sara")
    phone.keyboard.press("Tab")
    phone.keyboard.type(PASSWORD)
    enter(phone)
    expect(phone).to_have_url(re.compile(r"/my/$"))
    phone.goto("/my/check-in/")
    tab_to(phone, "[data-testid=fine]", limit=6)
    enter(phone)
    expect(phone.get_by_text("Your report is saved.")).to_be_visible()
    assert sara.symptom_reports.get().triage_level == "none"
