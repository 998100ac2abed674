"""Sign-in, lockout after repeated failures, sign-out and password reset."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from tests.factories import UserFactory

PASSWORD = "correct horse battery staple"


@pytest.fixture
def login_user(centre):
    return UserFactory(username="nurse", centres=[centre])


def _try(client, username, password):
    return client.post(reverse("accounts:login"), {"username": username, "password": password})


def test_login_page_explains_the_lockout_rule(client, db):
    """Before anything goes wrong, the login page says in plain words what happens after 5 wrong passwords."""
    content = client.get(reverse("accounts:login")).content.decode()
    assert "after 5 wrong passwords in a row, signing in is paused for 15 minutes" in content


def test_wrong_password_keeps_the_username_and_says_why(client, login_user):
    """A wrong password shows a message a person understands and keeps what they typed."""
    response = _try(client, "nurse", "wrong")
    content = response.content.decode()
    assert response.status_code == 200
    assert "That username and password do not match" in content
    assert 'value="nurse"' in content


def test_correct_password_lands_on_the_role_home(client, login_user):
    """A coordinator who signs in is sent to the patient list."""
    response = _try(client, "nurse", PASSWORD)
    assert response.status_code == 302
    assert client.get(response["Location"]).url == reverse("recovery:patient-list")


def test_five_failures_lock_the_username_from_that_address_for_fifteen_minutes(client, login_user, time_machine):
    """After 5 failures even the right password is refused, with a plain message; after 15 minutes it works."""
    time_machine.move_to("2026-11-22 10:00:00+00:00", tick=False)
    for _ in range(4):
        assert _try(client, "nurse", "wrong").status_code == 200
    locked = _try(client, "nurse", "wrong")
    assert locked.status_code == 429
    assert "paused for 15 minutes" in locked.content.decode()
    assert _try(client, "nurse", PASSWORD).status_code == 429

    time_machine.move_to("2026-11-22 10:14:00+00:00", tick=False)
    assert _try(client, "nurse", PASSWORD).status_code == 429
    time_machine.move_to("2026-11-22 10:16:00+00:00", tick=False)
    assert _try(client, "nurse", PASSWORD).status_code == 302


def test_lockout_is_per_username_and_address(client, login_user, centre):
    """Another username from the same address, and the same username from another address, are not locked."""
    UserFactory(username="colleague", centres=[centre])
    for _ in range(5):
        _try(client, "nurse", "wrong")
    assert _try(client, "colleague", PASSWORD).status_code == 302
    client.logout()
    response = client.post(
        reverse("accounts:login"), {"username": "nurse", "password": PASSWORD}, REMOTE_ADDR="10.9.8.7"
    )
    assert response.status_code == 302


def test_api_token_failures_count_towards_the_same_lockout(client, api_for, login_user):
    """Five wrong passwords through the API lock the web login too, and the API answers 429 in JSON."""
    api = api_for(None)
    for _ in range(4):
        response = api.post("/api/v1/auth/token/", {"username": "nurse", "password": "wrong"}, format="json")
        assert response.status_code == 400
    response = api.post("/api/v1/auth/token/", {"username": "nurse", "password": "wrong"}, format="json")
    assert response.status_code == 429
    assert "paused for 15 minutes" in response.json()["detail"]
    assert _try(client, "nurse", PASSWORD).status_code == 429


def test_api_token_for_good_credentials(api_for, login_user):
    """The right username and password give a token that authenticates /api/v1/me/."""
    response = api_for(None).post("/api/v1/auth/token/", {"username": "nurse", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    api = api_for(None)
    api.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    me = api.get("/api/v1/me/").json()
    assert me == {"id": str(login_user.uuid), "username": "nurse", "role": "coordinator", "patient": None}


@pytest.mark.parametrize(
    ("payload", "field"),
    [({}, "username"), ({"username": "nurse"}, "password"), ({"username": "", "password": "x"}, "username")],
    ids=["nothing", "no-password", "blank-username"],
)
def test_api_token_missing_fields_are_400_with_the_field(api_for, login_user, payload, field):
    """Missing credentials are a 400 naming the field, not a 500."""
    response = api_for(None).post("/api/v1/auth/token/", payload, format="json")
    assert response.status_code == 400
    assert field in response.json()


def test_me_names_the_patient_record_of_a_patient_login(api_for, patient):
    """A patient's /me/ carries their own patient id."""
    me = api_for(patient.user).get("/api/v1/me/").json()
    assert me["role"] == "patient"
    assert me["patient"] == str(patient.uuid)


def test_sign_out_is_a_post_and_ends_the_session(client_for, coordinator):
    """Signing out ends the session; the next page asks to sign in again."""
    client = client_for(coordinator)
    assert client.post(reverse("accounts:logout")).status_code == 302
    assert client.get(reverse("recovery:patient-list")).status_code == 302


def test_password_reset_sends_a_working_link(client, login_user, celery_eager, django_capture_on_commit_callbacks):
    """A reset e-mail goes to the account's address; its link lets the user choose a validated new password."""
    with django_capture_on_commit_callbacks(execute=True):  # the e-mail is sent by a task, after commit
        response = client.post(reverse("accounts:password-reset"), {"email": login_user.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^/]+(/accounts/password/reset/\S+/)", mail.outbox[0].body).group(1)
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    set_url = form_page.redirect_chain[-1][0]
    weak = client.post(set_url, {"new_password1": "123", "new_password2": "123"})
    assert "This password is too short" in weak.content.decode()
    strong = client.post(set_url, {"new_password1": "a-Much-better-one-42", "new_password2": "a-Much-better-one-42"})
    assert strong.status_code == 302
    login_user.refresh_from_db()
    assert login_user.check_password("a-Much-better-one-42")


def test_password_reset_for_an_unknown_address_reveals_nothing(
    client, db, celery_eager, django_capture_on_commit_callbacks
):
    """An unknown e-mail address gets the same answer and no e-mail is sent."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:password-reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302
    assert mail.outbox == []


def test_password_change_enforces_the_validators(client_for, coordinator):
    """Changing a password applies Django's validators and says what is wrong."""
    client = client_for(coordinator)
    response = client.post(
        reverse("accounts:password-change"),
        {"old_password": PASSWORD, "new_password1": "password", "new_password2": "password"},
    )
    assert "This password is too common" in response.content.decode()
