"""The coordinator's workspace: the list's Day and phase, filters, transplant dates, timeline changes, this week."""

import re
from datetime import date, timedelta

import pytest
from django.core import mail
from django.urls import reverse

from recovery.models import AuditEvent, EligibilityReview, ProtocolTemplate, TimelineEvent
from tests.factories import PatientFactory, transplant

TODAY = date(2026, 11, 20)
NOON = "2026-11-20 12:00:00+00:00"


def _episode(patient, day0: date, engrafted: date | None = None, protocol="cy_atg"):
    return transplant(patient, day0, engrafted=engrafted, protocol=protocol)


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOON, tick=False)


def test_list_shows_day_and_phase_of_each_patient(client_for, coordinator, centre, now):
    """Each row shows the patient's Day and phase as the pure rule computes them."""
    _episode(PatientFactory(centre=centre, last_name="Aplastic"), TODAY - timedelta(days=9))
    _episode(
        PatientFactory(centre=centre, last_name="Recovering"), TODAY - timedelta(days=120), TODAY - timedelta(days=108)
    )
    PatientFactory(centre=centre, last_name="Evaluated")
    content = client_for(coordinator).get(reverse("recovery:patient-list")).content.decode()
    assert "Day +9" in content
    assert "Aplasia" in content
    assert "Day +120" in content
    assert "Recovery (3-6 months)" in content
    assert "Evaluation" in content


def test_phase_filter_and_needs_attention(client_for, coordinator, centre, now):
    """The phase filter keeps only that phase; 'needs attention' keeps delayed engraftment and overdue events."""
    late = PatientFactory(centre=centre, last_name="Late")
    _episode(late, TODAY - timedelta(days=23))  # aplasia on Day +23: delayed engraftment
    fine = PatientFactory(centre=centre, last_name="Fine")
    _episode(fine, TODAY - timedelta(days=200), TODAY - timedelta(days=188))
    TimelineEvent.objects.filter(episode__patient=fine).update(status="done")
    overdue = PatientFactory(centre=centre, last_name="Overdue")
    _episode(overdue, TODAY - timedelta(days=200), TODAY - timedelta(days=188))
    client = client_for(coordinator)

    aplasia = client.get(reverse("recovery:patient-list"), {"phase": "aplasia"}).content.decode()
    assert "Late" in aplasia
    assert "Fine" not in aplasia
    attention = client.get(reverse("recovery:patient-list"), {"attention": "1"}).content.decode()
    assert "Late" in attention
    assert "Delayed engraftment" in attention
    assert "Overdue" in attention
    assert "Fine" not in attention
    assert "No patient matches" in client.get(reverse("recovery:patient-list"), {"phase": "nonsense"}).content.decode()


@pytest.mark.parametrize("count", [2, 500])
def test_list_query_count_is_the_same_for_2_and_500_patients(
    client_for, coordinator, centre, count, now, django_assert_max_num_queries
):
    """The filtered list costs a fixed number of queries whatever the number of patients."""
    patients = PatientFactory.create_batch(count, centre=centre)
    for patient in patients[:2]:
        _episode(patient, TODAY - timedelta(days=9))
    client = client_for(coordinator)
    # at most 15 whatever the count (the attention filter finds who is behind their plan in two indexed queries;
    # the centres the coordinator works at are one query of their own)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("recovery:patient-list"), {"attention": "1", "phase": "aplasia"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        (
            {"reinfusion_date": "2026-11-01", "conditioning_start_date": "2026-11-05"},
            "reinfusion_date",
            "after conditioning starts",
        ),
        ({"neutrophil_engraftment_date": "2026-11-09"}, "neutrophil_engraftment_date", "after Day 0"),
        ({"apheresis_date": "2026-09-01"}, "apheresis_date", "after mobilisation"),
        ({"mobilisation_date": "1850-01-01"}, "mobilisation_date", "not plausible"),
        (
            {"reinfusion_date": "2031-01-01", "conditioning_start_date": "2030-12-27"},
            "reinfusion_date",
            "too far in the future",
        ),
        ({"neutrophil_engraftment_date": "2026-11-30"}, "neutrophil_engraftment_date", "once it has happened"),
        ({"conditioning_start_date": "2026-10-12"}, "conditioning_start_date", "at most 14 days before Day 0"),
    ],
    ids=[
        "day0-before-conditioning",
        "engraftment-before-day0",
        "apheresis-before-mobilisation",
        "year-1850",
        "far-future",
        "engraftment-in-future",
        "long-conditioning",
    ],
)
def test_episode_form_explains_each_date_error_and_keeps_the_input(
    client_for, coordinator, patient, now, changes, field, message
):
    """An impossible set of dates is refused with a message beside the field; every typed date stays."""
    form = {
        "protocol": ProtocolTemplate.objects.get(code="cy_atg").pk,
        "mobilisation_date": "2026-10-01",
        "apheresis_date": "2026-10-10",
        "conditioning_start_date": "2026-11-05",
        "reinfusion_date": "2026-11-10",
        **changes,
    }
    response = client_for(coordinator).post(reverse("recovery:episode-edit", args=[patient.uuid]), form)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert response.context["form"].errors.get(field), response.context["form"].errors
    for value in changes.values():
        assert f'value="{value}"' in response.content.decode()
    assert not TimelineEvent.objects.exists()


def test_saving_dates_generates_the_timeline_and_moving_day0_moves_it(client_for, coordinator, patient, now):
    """Dates generate the protocol's events; moving Day 0 moves planned events and keeps hand-made changes."""
    client = client_for(coordinator)
    url = reverse("recovery:episode-edit", args=[patient.uuid])
    form = {
        "protocol": ProtocolTemplate.objects.get(code="cy_atg").pk,
        "mobilisation_date": "2026-10-01",
        "apheresis_date": "2026-10-10",
        "conditioning_start_date": "2026-11-05",
        "reinfusion_date": "2026-11-10",
        "cd34_dose": "1.6",
    }
    response = client.post(url, form, follow=True)
    assert "below the usual minimum of 2.0" in response.content.decode()
    visit = TimelineEvent.objects.get(episode__patient=patient, template_key="visit-d30")
    assert visit.planned_date == date(2026, 12, 10)
    done = TimelineEvent.objects.get(episode__patient=patient, template_key="visit-d100")
    client.post(
        reverse("recovery:event-change", args=[patient.uuid, done.uuid]), {"action": "move", "on": "2027-02-20"}
    )
    total = TimelineEvent.objects.filter(episode__patient=patient).count()

    moved = {**form, "conditioning_start_date": "2026-11-07", "reinfusion_date": "2026-11-12"}
    asked = client.post(url, moved)  # after Day 0, moving Day 0 is confirmed first
    assert asked.status_code == 200
    assert "Confirm" in asked.content.decode()
    visit.refresh_from_db()
    assert visit.planned_date == date(2026, 12, 10)
    seen = re.search(r'name="seen" value="([^"]*)"', asked.content.decode()).group(1)
    client.post(url, {**moved, "confirm": "yes", "seen": seen})
    visit.refresh_from_db()
    done.refresh_from_db()
    assert visit.planned_date == date(2026, 12, 12)
    assert done.planned_date == date(2027, 2, 20)
    assert TimelineEvent.objects.filter(episode__patient=patient).count() == total
    assert AuditEvent.objects.filter(patient=patient, action="transplant.update").exists()


def test_completing_cancelling_and_adding_events_by_hand(client_for, coordinator, patient, now):
    """A coordinator completes, cancels and adds events; each is audited and shows on the patient's page."""
    _episode(patient, TODAY - timedelta(days=9))
    client = client_for(coordinator)
    lab = TimelineEvent.objects.filter(episode__patient=patient, kind="lab").first()
    client.post(
        reverse("recovery:event-change", args=[patient.uuid, lab.uuid]), {"action": "complete", "on": "2026-11-18"}
    )
    lab.refresh_from_db()
    assert (lab.status, lab.actual_date, lab.manually_changed) == ("done", date(2026, 11, 18), True)
    response = client.post(
        reverse("recovery:event-add", args=[patient.uuid]),
        {"kind": "visit", "title": "Dietitian", "planned_date": "2026-11-25"},
    )
    assert response.status_code == 302
    page = client.get(reverse("recovery:patient-detail", args=[patient.uuid])).content.decode()
    assert "Dietitian" in page
    assert "Day +9" in page
    assert {"timeline.complete", "timeline.add"} <= set(
        AuditEvent.objects.filter(patient=patient).values_list("action", flat=True)
    )


def test_move_without_a_date_is_refused(client_for, coordinator, patient, now):
    """Moving an event needs the new date; the form says so."""
    _episode(patient, TODAY - timedelta(days=9))
    event = TimelineEvent.objects.filter(episode__patient=patient).first()
    response = client_for(coordinator).post(
        reverse("recovery:event-change", args=[patient.uuid, event.uuid]), {"action": "move"}
    )
    assert "Give the new date" in response.content.decode()


def test_event_of_another_patient_is_404(client_for, coordinator, patient, other_patient, now):
    """An event id is only found under its own patient."""
    _episode(other_patient, TODAY - timedelta(days=9))
    event = TimelineEvent.objects.filter(episode__patient=other_patient).first()
    response = client_for(coordinator).get(reverse("recovery:event-change", args=[patient.uuid, event.uuid]))
    assert response.status_code == 404


def test_this_week_lists_overdue_then_the_next_seven_days(
    client_for, coordinator, centre, now, django_assert_max_num_queries
):
    """This week shows planned events due within 7 days and overdue ones, in a fixed number of queries."""
    _episode(PatientFactory(centre=centre, last_name="Soon"), TODAY - timedelta(days=3))
    client = client_for(coordinator)
    with django_assert_max_num_queries(10):
        content = client.get(reverse("recovery:this-week")).content.decode()
    assert "Soon" in content
    assert "overdue" in content  # the conditioning days before Day 0 were never marked done


def test_invite_sends_a_link_to_choose_a_password(client_for, coordinator, centre, django_capture_on_commit_callbacks):
    """Inviting creates the patient's login and e-mails them a link; the link lets them set a password."""
    patient = PatientFactory(centre=centre, email="greta@example.org", first_name="Greta")
    client = client_for(coordinator)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("recovery:patient-invite", args=[patient.uuid]))
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.user.role == "patient"
    assert not patient.user.has_usable_password()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["greta@example.org"]
    assert "Hello Greta" in mail.outbox[0].body
    assert "/accounts/password/reset/" in mail.outbox[0].body


def test_invite_without_an_email_says_what_to_do(client_for, coordinator, centre):
    """Without an e-mail address nothing is sent and the page says to add one."""
    patient = PatientFactory(centre=centre, email="")
    response = client_for(coordinator).post(reverse("recovery:patient-invite", args=[patient.uuid]), follow=True)
    assert "Add the patient&#x27;s e-mail address first" in response.content.decode()
    assert mail.outbox == []


def test_eligibility_checklist_and_decision(client_for, clinician, centre, now):
    """The checklist shows which criteria are met; the decision is stored with who made it and when."""
    patient = PatientFactory(
        centre=centre, date_of_birth=date(1990, 1, 1), ms_onset_date=date(2020, 1, 1), baseline_edss="6.5"
    )
    client = client_for(clinician)
    page = client.get(reverse("recovery:eligibility", args=[patient.uuid])).content.decode()
    assert "Age under 50" in page
    assert "EDSS 6.5" in page
    response = client.post(
        reverse("recovery:eligibility", args=[patient.uuid]),
        {"relapsing_with_breakthrough": "yes", "edss": "5.5", "decision": "eligible", "decided_on": "2026-11-20"},
    )
    assert response.status_code == 302
    review = EligibilityReview.objects.get()
    assert review.decided_by == clinician
    assert {c["code"]: c["met"] for c in review.criteria} == {
        "age": True,
        "duration": True,
        "breakthrough": True,
        "edss": True,
    }


def test_eligibility_refuses_an_impossible_edss(client_for, clinician, patient, now):
    """An EDSS of 3.7 is refused with the rule in plain words."""
    response = client_for(clinician).post(
        reverse("recovery:eligibility", args=[patient.uuid]),
        {"relapsing_with_breakthrough": "", "edss": "3.7", "decision": "eligible", "decided_on": "2026-11-20"},
    )
    assert "in steps of 0.5" in response.content.decode()
    assert not EligibilityReview.objects.exists()


def test_a_centres_configuration_version_changes_the_flags(client_for, coordinator, centre, now):
    """A centre that flags delayed engraftment from Day +18 sees the flag on Day +19; the default would not."""
    from recovery.models import CentreConfiguration

    _episode(PatientFactory(centre=centre, last_name="Nineteen"), TODAY - timedelta(days=19))
    client = client_for(coordinator)
    assert "Delayed engraftment" not in client.get(reverse("recovery:patient-list")).content.decode()
    CentreConfiguration.objects.create(centre=centre, version=1, values={"phase": {"delayed_engraftment_day": 18}})
    assert "Delayed engraftment" in client.get(reverse("recovery:patient-list")).content.decode()


def test_apheresis_sessions_add_up_and_warn_below_the_minimum(client_for, coordinator, patient, now):
    """Two collections set the first apheresis date and the total dose; a total below 2.0 x 10^6/kg warns."""
    _episode(patient, TODAY + timedelta(days=20))
    client = client_for(coordinator)
    url = reverse("recovery:episode-edit", args=[patient.uuid])
    add = reverse("recovery:apheresis-add", args=[patient.uuid])  # the page's second form posts here
    post = {"apheresis-collected_on": "2026-11-12", "apheresis-cd34_per_kg": "0.9"}
    first = client.post(add, post, follow=True).content.decode()
    assert "below the usual minimum of 2.0" in first
    client.post(add, {**post, "apheresis-collected_on": "2026-11-11", "apheresis-cd34_per_kg": "1.4"})
    patient.episode.refresh_from_db()
    assert str(patient.episode.cd34_dose) == "2.30"
    assert patient.episode.apheresis_date == date(2026, 11, 11)
    page = client.get(url).content.decode()
    assert "Apheresis sessions" in page
    assert f'action="{add}"' in page


@pytest.mark.parametrize(
    ("when", "dose", "message"),
    [
        ("2026-11-25", "3.0", "in the future"),
        ("2026-11-12", "0", "above 0"),
        ("2026-11-12", "250", "at most 100"),
        ("2026-10-01", "3.0", "after mobilisation"),
    ],
    ids=["future", "zero", "huge", "before-mobilisation"],
)
def test_implausible_apheresis_sessions_are_refused(client_for, coordinator, patient, now, when, dose, message):
    """A collection in the future, of nothing, implausibly large or before mobilisation is refused and kept."""
    _episode(patient, TODAY + timedelta(days=20))
    response = client_for(coordinator).post(
        reverse("recovery:apheresis-add", args=[patient.uuid]),
        {"apheresis-collected_on": when, "apheresis-cd34_per_kg": dose},
    )
    content = response.content.decode()
    assert message in content
    assert f'value="{when}"' in content
    assert not patient.episode.apheresis_sessions.exists()


@pytest.mark.parametrize("days_since_day0", [-3, 0, 9, 23, 120, 400, 900])
def test_the_api_reports_the_same_phase_and_day_as_the_pages(
    client_for, api_for, coordinator, patient, time_machine, days_since_day0
):
    """The coordinator's page, the patient's home and the API agree on the Day and the phase."""
    import re

    from recovery.templatetags.recovery_tags import day_label, phase_label

    time_machine.move_to("2026-11-20 23:30:00+00:00", tick=False)  # already 21 November in Stockholm
    local_today = date(2026, 11, 21)
    day0 = local_today - timedelta(days=days_since_day0)
    engrafted = day0 + timedelta(days=11) if days_since_day0 > 11 else None
    transplant(patient, day0, engrafted=engrafted)
    api = api_for(coordinator).get(f"/api/v1/patients/{patient.uuid}/transplant/").json()
    assert api["day"] == days_since_day0
    staff_page = client_for(coordinator).get(reverse("recovery:patient-detail", args=[patient.uuid])).content.decode()
    shown_day = re.search(r'data-testid="day">([^<]+)<', staff_page).group(1)
    shown_phase = re.search(r'data-testid="phase">([^<]+)<', staff_page).group(1)
    assert shown_day == day_label(api["day"])
    assert shown_phase == phase_label(api["phase"])
    home = client_for(patient.user).get(reverse("recovery:my-recovery")).content.decode()
    assert day_label(api["day"]) in home


@pytest.mark.services(needs="PostgreSQL")
def test_the_page_and_the_api_both_lock_the_patient_while_saving_the_transplant(
    client_for, api_for, coordinator, patient, now
):
    """One writer per patient: saving the dates takes the patient's row lock, from the page and from the API."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    form = {
        "protocol": ProtocolTemplate.objects.get(code="cy_atg").pk,
        "conditioning_start_date": "2026-11-05",
        "reinfusion_date": "2026-11-10",
    }
    locks = f'FROM "recovery_patient" WHERE "recovery_patient"."id" = {patient.pk}'
    with CaptureQueriesContext(connection) as page:
        client_for(coordinator).post(reverse("recovery:episode-edit", args=[patient.uuid]), form)
    with CaptureQueriesContext(connection) as api:
        api_for(coordinator).patch(
            f"/api/v1/patients/{patient.uuid}/transplant/", {"reinfusion_date": "2026-11-11"}, format="json"
        )
    for captured in (page, api):
        assert any(locks in q["sql"] and q["sql"].endswith("FOR UPDATE") for q in captured.captured_queries)
