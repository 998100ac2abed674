"""The patient's own page: their Day number and phase in plain words, what comes next, and their next events."""

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse

from recovery.clinical.phases import InfectionRisk, Phase
from recovery.clinical.timeline import EventKind
from recovery.models import AuditEvent, ProtocolTemplate, TimelineEvent
from recovery.phase_text import phase_text, progress_label, risk_text
from recovery.services.audit import AuditContext
from recovery.services.timeline import add_event, change_event, save_episode

NOW = datetime(2024, 12, 1, 10, 0, tzinfo=UTC)  # a Sunday; 11:00 in Stockholm
TODAY = date(2024, 12, 1)
MY_RECOVERY = reverse("recovery:my-recovery")
SYSTEM = AuditContext.system("tests")


@pytest.fixture(autouse=True)
def _frozen(time_machine):
    time_machine.move_to(NOW, tick=False)


def give_episode(patient, day0, *, engrafted=None, protocol="cy_atg"):
    """A transplant episode with Day 0 on `day0` and dates in order before it; the protocol's timeline is generated."""
    fields = {
        "protocol": ProtocolTemplate.objects.get(code=protocol) if protocol else None,
        "mobilisation_date": day0 - timedelta(days=35),
        "apheresis_date": day0 - timedelta(days=25),
        "conditioning_start_date": day0 - timedelta(days=5),
        "reinfusion_date": day0,
    }
    if engrafted is not None:
        fields["neutrophil_engraftment_date"] = engrafted
    return save_episode(context=SYSTEM, patient=patient, fields=fields).episode


def heading(content: str) -> str:
    """The text of the page's h1, tags removed and spaces collapsed."""
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", content, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", h1).split())


def my_page(client_for, patient) -> str:
    response = client_for(patient.user).get(MY_RECOVERY)
    assert response.status_code == 200
    return response.content.decode()


def test_aplasia_shows_day_plus_nine_and_the_highest_risk_text(client_for, patient):
    """Nine days after reinfusion, before engraftment, the page says Day +9, aplasia, and when to call."""
    give_episode(patient, TODAY - timedelta(days=9))
    content = my_page(client_for, patient)
    assert heading(content) == "Day +9 · Aplasia: your highest infection-risk days"
    assert "blood counts are at their lowest" in content
    assert "call the unit straight away if you have a temperature of 38.0 °C or more" in content
    assert risk_text(InfectionRisk.HIGH) in content
    assert 'href="tel:+46 18 611 00 00"' in content
    assert "Early recovery: your blood counts are coming back" in content  # what comes next, date not known
    assert AuditEvent.objects.filter(patient=patient, action="patient.view_own", actor=patient.user).exists()


def test_conditioning_shows_day_minus_three_and_day_zero_next(client_for, patient):
    """Three days before reinfusion the page says Day -3, conditioning, and that aplasia starts in 3 days."""
    give_episode(patient, TODAY + timedelta(days=3))
    content = my_page(client_for, patient)
    assert heading(content) == "Day -3 · Conditioning: the treatment that resets your immune system"
    assert "Aplasia: your highest infection-risk days" in content
    assert "Expected from <strong>Wed 4 Dec</strong> (in 3 days)" in content


def test_early_recovery_shows_the_day_and_when_recovery_is_expected(client_for, patient):
    """After engraftment the page says early recovery, and when the next phase is expected from configuration."""
    day0 = TODAY - timedelta(days=20)
    give_episode(patient, day0, engrafted=TODAY - timedelta(days=8))
    content = my_page(client_for, patient)
    assert heading(content) == "Day +20 · Early recovery: your blood counts are coming back"
    assert phase_text(Phase.RECOVERY).title in content
    recovery_starts = day0 + timedelta(days=90)  # PhaseConfig.early_recovery_end_day
    assert f"Expected from <strong>{recovery_starts:%a} {recovery_starts.day} {recovery_starts:%b}</strong>" in content
    assert f"(in {(recovery_starts - TODAY).days} days)" in content


def test_follow_up_shows_the_day_and_no_next_phase(client_for, patient):
    """Three years on, the page says long-term follow-up, the progress bar is full, and nothing comes after it."""
    day0 = date(2021, 11, 1)
    give_episode(patient, day0, engrafted=day0 + timedelta(days=12))
    content = my_page(client_for, patient)
    assert heading(content) == f"Day +{(TODAY - day0).days} · Long-term follow-up: regular check-ups"
    assert 'data-testid="next-phase"' not in content
    assert 'aria-valuenow="100"' in content
    assert 'aria-label="100% of the way through the first two years"' in content


def test_progress_bar_has_an_accessible_label(client_for, patient):
    """The progress bar says in words how far through the first two years the patient is."""
    give_episode(patient, TODAY - timedelta(days=9))
    content = my_page(client_for, patient)
    match = re.search(r'role="progressbar" aria-label="(\d+)% of the way through the first two years"', content)
    assert match
    assert 0 < int(match.group(1)) < 100


def test_no_episode_keeps_the_honest_empty_state(client_for, patient):
    """Without transplant dates the page says the plan is being set up, shows no Day, and offers the phone number."""
    content = my_page(client_for, patient)
    assert heading(content) == "Hello, Pia"
    assert "Your recovery plan is being set up" in content
    assert "Day " not in heading(content)
    assert 'data-testid="call-unit"' in content


def test_the_day_number_follows_the_patients_time_zone(client_for, patient, time_machine):
    """At 23:30 UTC it is already tomorrow in Stockholm, so the page shows tomorrow's Day number."""
    time_machine.move_to(datetime(2024, 12, 1, 23, 30, tzinfo=UTC), tick=False)
    give_episode(patient, date(2024, 11, 23))  # Day +8 in UTC, Day +9 in Stockholm
    content = my_page(client_for, patient)
    assert heading(content).startswith("Day +9 ·")


def test_upcoming_events_show_their_date_in_words_and_how_far_away(client_for, patient):
    """The next planned events are listed with their date in words and "in N days"; cancelled ones are not."""
    episode = give_episode(patient, TODAY - timedelta(days=9))
    pcr_week_3 = TimelineEvent.objects.get(episode=episode, template_key="pcr-d21")
    change_event(context=SYSTEM, event=pcr_week_3, action="cancel")
    content = my_page(client_for, patient)
    upcoming = re.findall(r'data-testid="upcoming-event">(.*?)</li>', content, re.S)
    assert len(upcoming) == 5
    assert "EBV and CMV blood test (PCR), week 2" in upcoming[0]
    assert "<strong>Fri 6 Dec</strong> · in 5 days" in upcoming[0]
    assert "Day +14" in upcoming[0]
    assert "week 3" not in content


def test_an_overdue_appointment_is_marked_gently(client_for, patient):
    """A blood test two days ago not yet marked done says when it was due and that the team will be in touch."""
    give_episode(patient, TODAY - timedelta(days=9))  # the week-1 PCR was on Day +7, 29 Nov
    content = my_page(client_for, patient)
    overdue = re.findall(r'data-testid="overdue-event">(.*?)</li>', content, re.S)
    assert len(overdue) == 1
    assert "EBV and CMV blood test (PCR), week 1" in overdue[0]
    assert "was due 29 Nov — your team will be in touch" in overdue[0]
    assert "Conditioning: rabbit ATG" not in content  # past treatment days are not "overdue" for the patient


def test_a_done_event_is_neither_upcoming_nor_overdue(client_for, patient):
    """Once the team marks the overdue blood test done, it leaves the list."""
    episode = give_episode(patient, TODAY - timedelta(days=9))
    change_event(context=SYSTEM, event=episode.events.get(template_key="pcr-d7"), action="complete")
    content = my_page(client_for, patient)
    assert 'data-testid="overdue-event"' not in content
    assert "week 1" not in content


def _events(episode, count):
    TimelineEvent.objects.bulk_create(
        TimelineEvent(
            episode=episode,
            kind=EventKind.LAB,
            title=f"Blood test {n}",
            planned_date=TODAY + timedelta(days=n % 60 - 20),
        )
        for n in range(count)
    )


@pytest.mark.parametrize("count", [3, 80])
def test_query_count_does_not_grow_with_the_number_of_events(client_for, patient, count, django_assert_max_num_queries):
    """The page costs the same number of queries for 3 and for 80 events."""
    _events(give_episode(patient, TODAY - timedelta(days=9), protocol=None), count)
    client = client_for(patient.user)
    with django_assert_max_num_queries(15):  # 14, and 1 for the open alerts' banner
        assert client.get(MY_RECOVERY).status_code == 200


def test_another_patients_data_is_never_shown(client_for, patient, other_patient):
    """A patient sees only their own dates and events, never another patient's, with or without their own."""
    episode = give_episode(other_patient, TODAY - timedelta(days=9))
    add_event(context=SYSTEM, episode=episode, kind=EventKind.MRI, title="Olle's brain MRI", planned_date=TODAY)
    content = my_page(client_for, patient)
    assert "Your recovery plan is being set up" in content
    assert "Olle" not in content
    assert "Day +9" not in content

    give_episode(patient, TODAY + timedelta(days=3))
    content = my_page(client_for, patient)
    assert heading(content).startswith("Day -3")
    assert "Olle" not in content
    assert "Day +9" not in content


def test_a_coordinator_has_no_own_recovery_page(client_for, coordinator):
    """Staff are refused the patient's own page; it belongs to patient logins only."""
    assert client_for(coordinator).get(MY_RECOVERY).status_code == 403


def test_every_phase_and_risk_level_has_plain_text():
    """Each phase has a title and 1-3 sentences; each risk level a line; a configured fever threshold is used."""
    for phase in Phase:
        text = phase_text(phase)
        assert text.title.startswith(text.name)
        assert 1 <= text.body.count(". ") + 1 <= 3
        assert "{" not in text.body
    for risk in InfectionRisk:
        assert risk_text(risk).startswith("Infection risk:")
    assert "a temperature of 38.5 °C or more" in phase_text(Phase.APLASIA, fever_threshold=38.5).body
    assert "a fever" in phase_text(Phase.APLASIA).body


def test_progress_label_names_the_configured_span():
    """The progress label takes its span from configuration: 24 months is two years, 18 months stays months."""
    assert progress_label(0.094, 24) == "9% of the way through the first two years"
    assert progress_label(0.5, 18) == "50% of the way through the first 18 months"


def test_patient_sees_their_neda_status_in_plain_words(client_for, patient, time_machine):
    """18 months after Day 0 with a stable check-up, the patient reads that no disease activity was seen."""
    from datetime import date, timedelta

    from recovery.models import EDSSAssessment, ProtocolTemplate
    from recovery.services.audit import AuditContext
    from recovery.services.timeline import save_episode

    time_machine.move_to("2026-11-20 12:00:00+00:00", tick=False)
    day0 = date(2025, 5, 20)
    save_episode(
        context=AuditContext.system("tests"),
        patient=patient,
        fields={
            "protocol": ProtocolTemplate.objects.get(code="cy_atg"),
            "mobilisation_date": day0 - timedelta(days=30),
            "apheresis_date": day0 - timedelta(days=20),
            "conditioning_start_date": day0 - timedelta(days=5),
            "reinfusion_date": day0,
            "neutrophil_engraftment_date": day0 + timedelta(days=11),
        },
    )
    EDSSAssessment.objects.create(patient=patient, assessed_on=date(2026, 11, 1), score="3.5")
    page = client_for(patient.user).get("/my/").content.decode()
    assert "No evidence of disease activity for 18 months since your transplant" in page
