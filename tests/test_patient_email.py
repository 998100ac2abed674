"""Issue 14 item 6: a patient's login e-mail changes only through the patient (password, then a link to the new
address; the old one is told) or an administrator (audited, both addresses told). Staff and the API cannot
change it once the login is active, and cannot re-invite an active login."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.urls import reverse

from accounts.models import Role
from recovery.models import AuditEvent, Patient
from tests.factories import PatientFactory, UserFactory

PASSWORD = "correct horse battery staple"  # the factories' password


@pytest.fixture
def mail_sent(django_capture_on_commit_callbacks):
    """Run the on-commit callbacks (the e-mails are sent after commit) of what the test does inside it."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def active(patient):
    """A patient whose login is in use, with the record and the login on the same address."""
    patient.user.email = patient.email
    patient.user.save(update_fields=["email"])
    return patient


def _invited(centre, email="greta@example.org"):
    """A patient invited but who has not chosen a password yet."""
    user = UserFactory(role=Role.PATIENT, email=email)
    user.set_unusable_password()
    user.save()
    return PatientFactory(centre=centre, email=email, first_name="Greta", user=user)


# Staff: the edit form and the API ------------------------------------------------------------------------


def test_staff_form_shows_an_active_patients_email_read_only_with_the_reason(client_for, coordinator, active):
    """The e-mail field is disabled and says why; a posted address is ignored."""
    url = reverse("recovery:patient-edit", args=[active.uuid])
    client = client_for(coordinator)
    page = client.get(url).content.decode()
    field = re.search(r"<input[^>]*name=\"email\"[^>]*>", page).group(0)
    assert "disabled" in field
    assert "can only be changed by the patient" in page
    form = {
        name: getattr(active, name) or ""
        for name in ("first_name", "last_name", "sex", "hospital_number", "phone", "timezone", "ms_type")
    }
    form.update(date_of_birth="1990-05-17", preferred_language="en", status="active", email="thief@example.org")
    response = client.post(url, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    active.refresh_from_db()
    active.user.refresh_from_db()
    assert active.email == active.user.email == "pia@example.org"


def test_api_refuses_to_change_an_active_patients_email(api_for, coordinator, active):
    """A PATCH of the address is a 400 naming the field with the reason; nothing changes, nobody is mailed."""
    response = api_for(coordinator).patch(
        f"/api/v1/patients/{active.uuid}/", {"email": "thief@example.org"}, format="json"
    )
    assert response.status_code == 400
    assert "active login" in response.json()["email"][0]
    active.refresh_from_db()
    assert active.email == "pia@example.org"
    assert mail.outbox == []
    # the same address sent back is not a change and is accepted
    same = api_for(coordinator).patch(f"/api/v1/patients/{active.uuid}/", {"email": active.email}, format="json")
    assert same.status_code == 200


def test_staff_can_edit_the_contact_email_of_a_patient_without_a_login(api_for, coordinator, centre, mail_sent):
    """No login: the address is only a contact address; staff change it and nobody is mailed."""
    patient = PatientFactory(centre=centre, email="old@example.org")
    with mail_sent():
        response = api_for(coordinator).patch(
            f"/api/v1/patients/{patient.uuid}/", {"email": "new@example.org"}, format="json"
        )
    assert response.status_code == 200
    patient.refresh_from_db()
    assert patient.email == "new@example.org"
    assert mail.outbox == []
    audit = AuditEvent.objects.get(patient=patient, action="patient.email_change")
    assert (audit.detail["old"], audit.detail["new"]) == ("old@example.org", "new@example.org")


def test_changing_an_invited_patients_email_moves_the_login_and_tells_both(api_for, coordinator, centre, mail_sent):
    """A login never used follows the record's address; the old invitation link stops working; both are told."""
    patient = _invited(centre)
    old_token = default_token_generator.make_token(patient.user)
    with mail_sent():
        response = api_for(coordinator).patch(
            f"/api/v1/patients/{patient.uuid}/", {"email": "greta.new@example.org"}, format="json"
        )
    assert response.status_code == 200
    patient.user.refresh_from_db()
    assert patient.user.email == "greta.new@example.org"
    assert not default_token_generator.check_token(patient.user, old_token)
    assert sorted(m.to[0] for m in mail.outbox) == ["greta.new@example.org", "greta@example.org"]
    assert all("greta@example.org to greta.new@example.org" in m.body for m in mail.outbox)


# Invitations ---------------------------------------------------------------------------------------------


def test_reinviting_an_active_login_is_refused(client_for, coordinator, active, mail_sent):
    """The page says why and points to "Forgotten your password?"; a POST sends nothing."""
    url = reverse("recovery:patient-invite", args=[active.uuid])
    client = client_for(coordinator)
    assert "already uses their login" in client.get(url).content.decode()
    with mail_sent():
        response = client.post(url, follow=True)
    assert "Forgotten your password?" in response.content.decode()
    assert mail.outbox == []
    assert not AuditEvent.objects.filter(patient=active, action="patient.invite").exists()


def test_reinviting_a_login_never_used_still_works_and_says_it_is_new(client_for, coordinator, centre, mail_sent):
    """A patient who never chose a password can be sent a fresh link; the e-mail says it is a new invitation."""
    patient = _invited(centre)
    with mail_sent():
        response = client_for(coordinator).post(reverse("recovery:patient-invite", args=[patient.uuid]))
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["greta@example.org"]]
    assert "This is a new invitation" in mail.outbox[0].body


# The patient's own change --------------------------------------------------------------------------------


def _link(message) -> str:
    return re.search(r"https?://[^\s]+/my/email/confirm/[^\s]+/", message.body).group(0)


def test_patient_changes_their_email_with_both_addresses(client_for, active, mail_sent):
    """Password, link to the new address, change on opening it, notice to the old address; audited."""
    client = client_for(active.user)
    url = reverse("recovery:my-email")
    assert "pia@example.org" in client.get(url).content.decode()
    with mail_sent():
        response = client.post(url, {"new_email": "pia.new@example.org", "password": PASSWORD})
    assert response.status_code == 302
    assert [m.to for m in mail.outbox] == [["pia.new@example.org"]]
    active.refresh_from_db()
    assert active.email == "pia@example.org"  # nothing changes until the link is opened

    link = _link(mail.outbox[0])
    assert "pia.new@example.org" in client.get(link).content.decode()
    with mail_sent():
        done = client.post(link)
    assert done.status_code == 302
    active.refresh_from_db()
    active.user.refresh_from_db()
    assert active.email == active.user.email == "pia.new@example.org"
    assert mail.outbox[1].to == ["pia@example.org"]
    assert "from pia@example.org to pia.new@example.org" in mail.outbox[1].body
    audit = AuditEvent.objects.get(patient=active, action="account.email_change")
    assert audit.detail == {"old": "pia@example.org", "new": "pia.new@example.org", "by": "patient"}
    # the link works once: the address it replaced is gone
    assert "does not work" in client.get(link).content.decode()


def test_a_wrong_password_sends_nothing(client_for, active, mail_sent):
    """Without the current password nothing is sent, and the form says which field is wrong."""
    with mail_sent():
        response = client_for(active.user).post(
            reverse("recovery:my-email"), {"new_email": "thief@example.org", "password": "guess"}
        )
    assert response.status_code == 200
    assert "That is not your current password." in response.content.decode()
    assert mail.outbox == []


def test_a_link_for_another_patient_or_an_old_link_does_not_work(
    client_for, active, other_patient, mail_sent, time_machine
):
    """The link works only for the patient who asked, and only within its time."""
    client = client_for(active.user)
    with mail_sent():
        client.post(reverse("recovery:my-email"), {"new_email": "pia.new@example.org", "password": PASSWORD})
    link = _link(mail.outbox[0])
    other = client_for(other_patient.user)
    assert "does not work" in other.post(link).content.decode()
    other_patient.refresh_from_db()
    assert other_patient.user.email != "pia.new@example.org"

    time_machine.move_to(Patient.objects.get(pk=active.pk).updated_at + timedelta(hours=2))
    client = client_for(active.user)
    assert "does not work" in client.post(link).content.decode()
    active.refresh_from_db()
    assert active.email == "pia@example.org"


def test_staff_cannot_use_the_patients_page(client_for, coordinator):
    assert client_for(coordinator).get(reverse("recovery:my-email")).status_code == 403


# The administrator ---------------------------------------------------------------------------------------


def test_admin_changes_a_patients_login_email_audited_and_both_told(client, active, mail_sent):
    """Changing the login's address in the admin site moves the record too, audits old and new, tells both."""
    admin = UserFactory(username="root", role="", is_staff=True, is_superuser=True)
    client.force_login(admin)
    user = active.user
    form = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": "pia.admin@example.org",
        "is_active": "on",
        "role": "patient",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    with mail_sent():
        response = client.post(reverse("admin:accounts_user_change", args=[user.pk]), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    active.refresh_from_db()
    assert active.email == "pia.admin@example.org"
    audit = AuditEvent.objects.get(patient=active, action="account.email_change")
    assert audit.detail == {"old": "pia@example.org", "new": "pia.admin@example.org", "by": "admin"}
    assert audit.actor == admin
    assert sorted(m.to[0] for m in mail.outbox) == ["pia.admin@example.org", "pia@example.org"]
    assert all("by an administrator" in m.body for m in mail.outbox)


def test_a_swedish_patient_is_told_in_swedish_where_the_link_went_and_that_the_login_moved(
    client_for, active, mail_sent
):
    active.preferred_language = "sv"
    active.save(update_fields=["preferred_language"])
    client = client_for(active.user)
    url = reverse("recovery:my-email")
    with mail_sent():
        response = client.post(url, {"new_email": "pia.new@example.org", "password": PASSWORD}, follow=True)
    page = response.content.decode()
    assert "Vi har skickat en länk till pia.new@example.org." in page
    assert "We sent a link" not in page
    with mail_sent():
        page = client.post(_link(mail.outbox[0]), follow=True).content.decode()
    assert "Du loggar nu in med pia.new@example.org. Vi har meddelat din gamla adress." in page
    assert "Your login now uses" not in page
