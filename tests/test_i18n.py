"""Swedish and English (issue 16 item 1): which language a page is in, the switch in the navigation, and decimals
typed with a comma."""

import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from accounts.models import Role
from recovery.forms.checkin import TemperatureForm
from recovery.forms.outcomes import EDSSForm
from recovery.models import AuditEvent
from tests.factories import UserFactory

LOGIN = reverse("accounts:login")
SWITCH = reverse("accounts:set-language")


def html_lang(response) -> str:
    return re.search(r'<html lang="([^"]+)"', response.content.decode()).group(1)


@pytest.mark.django_db
def test_it_shows_english_without_a_preference(client):
    response = client.get(LOGIN)
    assert html_lang(response) == "en"
    assert "Forgotten your password?" in response.content.decode()


@pytest.mark.django_db
def test_it_follows_the_browsers_language_when_signed_out(client):
    response = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="sv-SE,sv;q=0.9,en;q=0.5")
    page = response.content.decode()
    assert html_lang(response) == "sv"
    assert "Glömt ditt lösenord?" in page
    assert "Logga in" in page
    assert "Forgotten your password?" not in page


@pytest.mark.django_db
def test_the_language_cookie_wins_over_the_browser(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="sv")
    assert html_lang(response) == "en"


@pytest.mark.django_db
def test_a_patients_preferred_language_wins_over_cookie_and_browser(client, patient):
    patient.preferred_language = "sv"
    patient.save(update_fields=["preferred_language"])
    client.force_login(patient.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("accounts:password-change"), HTTP_ACCEPT_LANGUAGE="en")
    assert html_lang(response) == "sv"
    assert "Logga ut" in response.content.decode()


@pytest.mark.django_db
def test_a_patient_who_prefers_english_gets_english_in_a_swedish_browser(client, patient):
    client.force_login(patient.user)  # preferred_language is "en" by default
    response = client.get(reverse("accounts:password-change"), HTTP_ACCEPT_LANGUAGE="sv")
    assert html_lang(response) == "en"


@pytest.mark.django_db
def test_staff_without_a_language_follow_the_browser(client, coordinator):
    client.force_login(coordinator)
    assert html_lang(client.get(reverse("accounts:password-change"), HTTP_ACCEPT_LANGUAGE="sv")) == "sv"
    assert html_lang(client.get(reverse("accounts:password-change"), HTTP_ACCEPT_LANGUAGE="en")) == "en"


@pytest.mark.django_db
def test_staffs_own_language_wins_over_the_browser(client, centre):
    user = UserFactory(role=Role.CLINICIAN, centres=[centre], language="sv")
    client.force_login(user)
    response = client.get(reverse("accounts:password-change"), HTTP_ACCEPT_LANGUAGE="en")
    assert html_lang(response) == "sv"
    page = response.content.decode()
    assert "Översikt" in page  # the navigation's "Dashboard"
    assert "Logga ut" in page


@pytest.mark.django_db
def test_the_switch_on_the_login_page_offers_the_other_language(client):
    page = client.get(LOGIN).content.decode()
    assert f'action="{SWITCH}"' in page
    assert 'value="sv" lang="sv"' in page
    assert 'name="language" value="en"' not in page
    page = client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert 'value="en" lang="en"' in page
    assert 'name="language" value="sv"' not in page


@pytest.mark.django_db
def test_the_switch_sets_the_cookie_and_goes_back(client):
    response = client.post(SWITCH, {"language": "sv", "next": "/accounts/password/reset/"})
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password/reset/"
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "sv"
    assert html_lang(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en")) == "sv"


@pytest.mark.django_db
@pytest.mark.parametrize("next_url", ["https://evil.example.org/", "//evil.example.org/x", "javascript:alert(1)", ""])
def test_the_switch_never_redirects_to_another_site(client, next_url):
    response = client.post(SWITCH, {"language": "sv", "next": next_url})
    assert response.status_code == 302
    assert response["Location"] == LOGIN


@pytest.mark.django_db
def test_the_switch_refuses_an_unknown_language(client):
    response = client.post(SWITCH, {"language": "xx", "next": LOGIN})
    assert response.status_code == 302
    assert settings.LANGUAGE_COOKIE_NAME not in response.cookies


@pytest.mark.django_db
def test_the_switch_is_a_post(client):
    assert client.get(SWITCH).status_code == 405


@pytest.mark.django_db
def test_the_switch_saves_a_patients_preferred_language_and_audits_it(client, patient):
    client.force_login(patient.user)
    since = timezone.now()
    response = client.post(SWITCH, {"language": "sv", "next": reverse("accounts:password-change")})
    assert response["Location"] == reverse("accounts:password-change")
    patient.refresh_from_db()
    assert patient.preferred_language == "sv"
    event = AuditEvent.objects.get(action="patient.update", patient=patient, at__gte=since)
    assert event.actor == patient.user
    assert event.detail["changes"] == {"preferred_language": {"old": "en", "new": "sv"}}
    # the session follows at once, whatever the browser says
    assert html_lang(client.get(reverse("accounts:password-change"), HTTP_ACCEPT_LANGUAGE="en")) == "sv"


@pytest.mark.django_db
def test_the_switch_saves_a_staff_members_language(client, coordinator):
    client.force_login(coordinator)
    client.post(SWITCH, {"language": "sv", "next": "/"})
    coordinator.refresh_from_db()
    assert coordinator.language == "sv"
    assert AuditEvent.objects.filter(action="account.language", actor=coordinator).exists()
    # and the next sign-in starts in Swedish, in a browser that asks for English
    client.logout()
    client.force_login(coordinator)
    assert html_lang(client.get(reverse("accounts:password-change"), HTTP_ACCEPT_LANGUAGE="en")) == "sv"


@pytest.mark.django_db
def test_signing_out_keeps_the_switched_language_in_this_browser(client, coordinator):
    client.force_login(coordinator)
    client.post(SWITCH, {"language": "sv", "next": "/"})
    client.post(reverse("accounts:logout"))
    assert html_lang(client.get(LOGIN, HTTP_ACCEPT_LANGUAGE="en")) == "sv"


def _temperature(value: str) -> TemperatureForm:
    return TemperatureForm(
        data={"temperature": value, "unit": "C", "recorded_at": "2026-12-03T08:00"}, patient_timezone="Europe/Stockholm"
    )


@pytest.mark.parametrize(
    ("language", "typed"), [("sv", "37,8"), ("sv", "37.8"), ("en", "37.8"), ("en", "37,8"), ("sv", " 37,8 ")]
)
def test_a_temperature_is_accepted_with_a_decimal_comma_or_point(language, typed):
    with translation.override(language):
        form = _temperature(typed)
        assert form.is_valid(), form.errors
        assert form.temperature_c() == Decimal("37.8")


def test_a_temperature_that_is_no_number_is_refused_in_swedish_words():
    with translation.override("sv"):
        form = _temperature("tjugo")
        assert not form.is_valid()
        assert form.errors["temperature"] == ["Skriv temperaturen som ett tal, till exempel 37,8."]


@pytest.mark.parametrize(("language", "typed"), [("sv", "3,5"), ("sv", "3.5"), ("en", "3.5"), ("en", "3,5")])
def test_a_decimal_field_accepts_a_comma_or_a_point(language, typed):
    with translation.override(language):
        form = EDSSForm(data={"assessed_on": "2026-12-01", "score": typed})
        assert form.is_valid(), form.errors
        assert form.cleaned_data["score"] == Decimal("3.5")


@pytest.mark.parametrize(("language", "shown"), [("sv", 'value="3,5"'), ("en", 'value="3.5"')])
def test_a_decimal_field_shows_the_languages_decimal_mark_in_a_text_box(language, shown):
    with translation.override(language):
        html = str(EDSSForm(initial={"score": Decimal("3.5")})["score"])
    assert shown in html
    assert 'type="text"' in html
    assert 'inputmode="decimal"' in html


@pytest.mark.django_db
def test_staff_choose_their_language_or_the_browsers_on_the_security_page(client, centre):
    user = UserFactory(role=Role.COORDINATOR, centres=[centre], language="sv")
    client.force_login(user)
    page = client.get(reverse("accounts:security")).content.decode()
    assert 'data-testid="language-setting"' in page
    assert "Webbläsarens språk" in page
    client.post(SWITCH, {"language": "", "next": reverse("accounts:security")})
    user.refresh_from_db()
    assert user.language == ""
    assert html_lang(client.get(reverse("accounts:security"), HTTP_ACCEPT_LANGUAGE="en")) == "en"


@pytest.mark.django_db
def test_a_patient_cannot_choose_no_language(client, patient):
    patient.preferred_language = "sv"
    patient.save(update_fields=["preferred_language"])
    client.force_login(patient.user)
    client.post(SWITCH, {"language": "", "next": "/"})
    patient.refresh_from_db()
    assert patient.preferred_language == "sv"


@pytest.mark.django_db
def test_a_password_reset_email_is_in_the_patients_language(patient, mailoutbox):
    from accounts.tasks import send_password_reset

    patient.preferred_language = "sv"
    patient.save(update_fields=["preferred_language"])
    patient.user.email = "pia@example.org"
    patient.user.save(update_fields=["email"])
    assert send_password_reset("pia@example.org") == 1
    assert mailoutbox[0].subject == "Välj ett nytt lösenord för återhämtningsappen"
    assert "Länken fungerar en gång, i 1 timme." in mailoutbox[0].body
