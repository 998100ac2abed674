"""Forms as GOV.UK builds them: a page whose form has errors says "Error:" in its title, opens with an error
summary linking to each field, and ties each field's message to it with aria-describedby.
"""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from tests.factories import UserFactory, transplant
from tests.test_checkin import DAY0, NOW
from tests.test_patient_pages import FORM


class Elements(HTMLParser):
    """The page's title, every element's attributes by id, the error summary's links and text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.by_id: dict[str, dict[str, str]] = {}
        self.text_of: dict[str, str] = {}
        self.title = ""
        self.summary_links: list[str] = []
        self._open: list[tuple[str, str | None]] = []  # (tag, id) of the open elements
        self._in_title = False
        self._in_summary = 0
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        if "id" in attrs:
            self.by_id[attrs["id"]] = attrs
            self.text_of.setdefault(attrs["id"], "")
        if tag == "title":
            self._in_title = True
        if attrs.get("data-testid") == "error-summary" or self._in_summary:
            self._in_summary += 1 if tag not in {"input", "br", "img"} else 0
            if tag == "a":
                self.summary_links.append(attrs["href"])
        if tag not in {"input", "br", "img", "meta", "link", "hr"}:
            self._open.append((tag, attrs.get("id")))

    def handle_endtag(self, tag):
        if tag == "title":
            self._in_title = False
        if self._in_summary:
            self._in_summary -= 1
        while self._open:
            open_tag, _ = self._open.pop()
            if open_tag == tag:
                break

    def handle_data(self, data):
        if self._in_title:
            self.title += data
        for _, element_id in self._open:
            if element_id:
                self.text_of[element_id] += data


def assert_tied(page: Elements, field_id: str, message: str) -> None:
    """The field's aria-describedby names an element that holds the message."""
    described = page.by_id[field_id].get("aria-describedby", "").split()
    texts = [" ".join(page.text_of.get(element_id, "").split()) for element_id in described]
    assert any(message in text for text in texts), f"#{field_id} is described by {described}: {texts}"
    assert page.by_id[field_id].get("aria-invalid") == "true"


def test_a_wrong_password_gives_an_error_title_and_a_summary_linking_to_the_form(client, centre):
    """The sign-in error is about the whole form: "Error: Sign in", and the summary links to the username."""
    UserFactory(username="nurse", centres=[centre])

    response = client.post(reverse("accounts:login"), {"username": "nurse", "password": "wrong"})

    page = Elements(response.content.decode())
    assert response.status_code == 200
    assert page.title.startswith("Error: Sign in")
    assert "There is a problem" in page.text_of["error-summary-title"]
    assert page.summary_links == ["#id_username"]
    assert "id_username" in page.by_id
    assert page.by_id["id_username"]["value"] == "nurse"


def test_the_sign_in_page_without_errors_has_no_summary(client, db):
    """No error, no summary and a plain title."""
    page = Elements(client.get(reverse("accounts:login")).content.decode())

    assert page.title.startswith("Sign in")
    assert page.summary_links == []
    assert "error-summary-title" not in page.by_id


def test_an_enrolment_form_with_errors_links_each_error_to_its_field(client_for, coordinator):
    """Two fields wrong: two links in page order, each field described by its own message, typing kept."""
    response = client_for(coordinator).post(
        reverse("recovery:patient-create"), {**FORM, "first_name": "", "ms_onset_date": "last spring"}
    )

    page = Elements(response.content.decode())
    assert response.status_code == 200
    assert page.title.startswith("Error: ")
    assert page.summary_links == ["#id_first_name", "#id_ms_onset_date"]
    assert_tied(page, "id_first_name", "This field is required.")
    assert_tied(page, "id_ms_onset_date", "Enter a valid date.")
    assert page.by_id["id_last_name"]["value"] == "Lind"
    assert "aria-invalid" not in page.by_id["id_last_name"]


@pytest.fixture
def on_day_five(patient, time_machine):
    time_machine.move_to(NOW, tick=False)
    transplant(patient, DAY0)
    return patient


def test_a_temperature_in_words_links_to_the_temperature_field(client_for, on_day_five):
    """A temperature that is not a number: the summary links to the field, which its message describes."""
    response = client_for(on_day_five.user).post(
        reverse("recovery:temperature"), {"temperature": "warm", "unit": "C", "recorded_at": "2026-11-20T10:15"}
    )

    page = Elements(response.content.decode())
    assert response.status_code == 200
    assert page.title.startswith("Error: Log a temperature")
    assert page.summary_links == ["#id_temperature"]
    assert_tied(page, "id_temperature", "Enter the temperature as a number, for example 37.8.")
    assert "temperature-help" in page.by_id["id_temperature"]["aria-describedby"].split()
    assert page.by_id["id_temperature"]["value"] == "warm"


def test_the_error_summary_script_is_a_file_the_policy_allows(client, db):
    """Focus moves to the summary from static/js/error-summary.js, not an inline script."""
    html = client.get(reverse("accounts:login")).content.decode()

    assert '<script src="/static/js/error-summary.js" defer></script>' in html
    assert "<script>" not in html


def test_crispy_forms_leave_checking_to_the_server(client_for, coordinator):
    """A crispy form's tag says novalidate, so no browser bubble stands in for the server's messages."""
    html = client_for(coordinator).get(reverse("recovery:patient-create")).content.decode()

    forms = re.findall(r"<form\b[^>]*>", html)
    posted = [tag for tag in forms if 'method="post"' in tag and "logout" not in tag]
    assert posted, "no form on the enrolment page"
    assert all("novalidate" in tag for tag in posted), posted


def test_a_link_is_an_in_page_id_or_a_url_as_given():
    """An id links within the page (and focuses its input); a path ("/...") is another page, linked as is."""
    from django.template import Context
    from django.template.loader import render_to_string

    from recovery.templatetags.form_errors import error_links

    given = [
        {"message": "On this page", "href": "#id_notes"},
        {"message": "On the step", "href": "/my/check-in/more/?change=1"},
        {"message": "Nowhere", "href": ""},
    ]
    links = error_links(Context({"error_summary": given}))
    assert [link.href for link in links] == ["#id_notes", "/my/check-in/more/?change=1", ""]
    page = Elements(f"<html><body>{render_to_string('_error_summary.html', {'error_links': links})}</body></html>")
    assert page.summary_links == ["#id_notes", "/my/check-in/more/?change=1"]
    html = render_to_string("_error_summary.html", {"error_links": links})
    assert 'data-error-link="id_notes"' in html
    assert 'href="#/my' not in html
    assert html.count("data-error-link") == 1  # the script focuses an input only for an in-page link


def test_a_check_in_refused_when_sent_links_to_the_step_to_change(client_for, on_day_five, monkeypatch):
    """The answers page's errors (the service refused the check-in) link to the last step, a URL, not "#/my/..."."""
    from django.core.exceptions import ValidationError

    from recovery.views import checkin as views

    def refuse(**kwargs):
        raise ValidationError({"recorded_at": ["That time is in the future."]})

    monkeypatch.setattr(views, "record_symptom_report", refuse)
    client = client_for(on_day_five.user)
    client.post("/my/check-in/", {"symptoms": ["nausea"]})
    client.post("/my/check-in/symptom/nausea/", {"grade": "1"})
    client.post("/my/check-in/more/", {"temperature": "", "unit": "C", "recorded_at": "2026-11-20T10:00", "notes": ""})
    response = client.post("/my/check-in/answers/")
    assert response.status_code == 200
    page = Elements(response.content.decode())
    assert page.summary_links == ["/my/check-in/more/?change=1"]
