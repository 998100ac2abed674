"""Urgent stays until it is handled (issue 16 item 2): the patient's home keeps their open urgent and same-day
alerts at the top, with what to do, the unit's number and whether the team has seen them, until resolved (then
"Resolved: ..." for a few days); the staff's patient page lists the open alerts first; the alert page has
tap-to-call links. Same-day promises follow the centre's working hours (Mon-Fri 08:00-16:30 by default).

"Now" is Wednesday 18 November 2026, 12:00 UTC (13:00 in Stockholm, where the centre and patients are).
"""

import re
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from recovery.clinical.triage import AlertKind, Severity
from recovery.models import Alert, AuditEvent, CentreConfiguration, ResolutionAction
from recovery.queries.configuration import DEFAULT_CONFIG
from recovery.queries.symptoms import advice_text
from recovery.services.alerts import acknowledge_alert, raise_alert, resolve_alert
from recovery.services.audit import AuditContext
from recovery.services.symptoms import record_symptom_report
from tests.factories import PatientFactory

NOW = datetime.fromisoformat("2026-11-18T12:00:00+00:00")
HOME = reverse("recovery:my-recovery")
SYSTEM = AuditContext.system("tests")
UNIT_PHONE = "+46 18 611 00 00"
PATIENT_PAGE_QUERIES = 9  # the open alerts are one of them, with who acknowledged them
INTERNAL_NOTE = "CRP 180, spoke to his wife; ward 40 bed 3"


@pytest.fixture
def clock(time_machine):
    def move(at: datetime = NOW):
        time_machine.move_to(at, tick=False)

    move()
    return move


def _alert(patient, severity=Severity.URGENT, kind=AlertKind.FEVER) -> Alert:
    alert, _ = raise_alert(
        patient=patient, kind=kind, severity=severity, rule="tests", message="Internal reason", config=DEFAULT_CONFIG
    )
    return alert


def _as(user) -> AuditContext:
    return AuditContext(actor=user)


def _home(client_for, patient) -> str:
    response = client_for(patient.user).get(HOME)
    assert response.status_code == 200
    return response.content.decode()


def _banner(html: str) -> str:
    start = html.index('data-testid="open-alerts"')
    return html[start : html.index("</section>", start)]


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


# --- the patient's home -----------------------------------------------------------------------------------------


def test_an_urgent_alert_not_yet_seen_is_at_the_top_of_the_home_with_what_to_do_and_the_number(
    client_for, patient, clock
):
    """Before anything else on the page: call the unit now, the tap-to-call number, "not yet seen"."""
    _alert(patient)
    html = _home(client_for, patient)
    banner = _banner(html)
    assert html.index('data-testid="open-alerts"') < html.index("Hello, Pia")
    assert 'data-state="unseen"' in banner
    text = _text(banner)
    assert "Your report needs the unit now" in text
    assert "Your team has not yet seen this." in text
    assert "Call the unit now, day or night, if you have not already." in text
    assert f'href="tel:{UNIT_PHONE}"' in banner
    assert "Internal reason" not in html  # the staff's reason is not for the patient
    assert AuditEvent.objects.filter(patient=patient, action="patient.view_own").exists()


def test_the_banner_stays_after_a_reload_and_a_new_day_until_the_alert_is_handled(client_for, patient, clock):
    _alert(patient)
    clock(NOW + timedelta(days=3))
    assert 'data-state="unseen"' in _banner(_home(client_for, patient))


def test_an_acknowledged_alert_says_the_team_has_seen_it_and_when(client_for, patient, clinician, clock):
    alert = _alert(patient)
    clock(NOW + timedelta(minutes=5))
    acknowledge_alert(context=_as(clinician), alert=alert)
    banner = _banner(_home(client_for, patient))
    assert 'data-state="seen"' in banner
    assert "Your team has seen this (at 13:05)." in _text(banner)  # Stockholm time
    assert "not yet seen" not in banner
    # seen is not contacted: until it is resolved, the patient is still told to call if nobody has called
    assert "If the unit has not called you yet, call them now, day or night." in _text(banner)
    assert "If you feel worse, call the unit at once" not in banner
    assert f'href="tel:{UNIT_PHONE}"' in banner
    clock(NOW + timedelta(days=1))
    assert "Your team has seen this (on 18 Nov at 13:05)." in _text(_banner(_home(client_for, patient)))


def test_a_worse_report_after_acknowledgement_is_not_yet_seen_again(client_for, patient, clinician, clock):
    alert = _alert(patient, severity=Severity.SAME_DAY)
    acknowledge_alert(context=_as(clinician), alert=alert)
    _alert(patient, severity=Severity.URGENT)  # the same kind, worse: reopened
    banner = _banner(_home(client_for, patient))
    assert 'data-state="unseen"' in banner
    assert "Your report needs the unit now" in _text(banner)


def test_a_resolved_alert_says_what_was_done_in_fixed_words_never_the_staff_note(client_for, patient, clinician, clock):
    alert = _alert(patient)
    resolve_alert(context=_as(clinician), alert=alert, action=ResolutionAction.ADMITTED, note=INTERNAL_NOTE)
    html = _home(client_for, patient)
    banner = _banner(html)
    assert 'data-state="resolved"' in banner
    assert "Resolved: You were admitted to hospital." in _text(banner)
    assert INTERNAL_NOTE not in html
    assert "not yet seen" not in banner


def test_other_with_a_note_is_still_a_fixed_phrase(client_for, patient, clinician, clock):
    alert = _alert(patient)
    resolve_alert(context=_as(clinician), alert=alert, action=ResolutionAction.OTHER, note=INTERNAL_NOTE)
    html = _home(client_for, patient)
    assert "Resolved: Your team has dealt with your report." in _text(_banner(html))
    assert INTERNAL_NOTE not in html


def test_the_resolved_banner_goes_after_the_configured_number_of_days(client_for, patient, clinician, clock):
    alert = _alert(patient)
    resolve_alert(context=_as(clinician), alert=alert, action=ResolutionAction.ADVICE)
    clock(NOW + timedelta(days=2) - timedelta(minutes=1))  # the default: 2 days
    assert 'data-state="resolved"' in _banner(_home(client_for, patient))
    clock(NOW + timedelta(days=2, minutes=1))
    assert 'data-testid="open-alerts"' not in _home(client_for, patient)
    CentreConfiguration.objects.create(centre=patient.centre, version=1, values={"alerts": {"resolved_shown_days": 5}})
    assert "Resolved: Your team gave you advice by phone." in _text(_banner(_home(client_for, patient)))


def test_no_banner_without_an_urgent_or_same_day_alert_from_a_report(client_for, patient, other_patient, clock):
    """Nothing without an alert, for a routine one, for one raised from lab results (the clinician explains
    those), or for another patient's."""
    assert 'data-testid="open-alerts"' not in _home(client_for, patient)
    _alert(patient, severity=Severity.ROUTINE, kind=AlertKind.ROUTINE_REVIEW)
    _alert(patient, severity=Severity.SAME_DAY, kind=AlertKind.EBV_VIRAEMIA)
    _alert(other_patient)
    assert 'data-testid="open-alerts"' not in _home(client_for, patient)


def test_a_same_day_alert_in_working_hours_promises_contact_today(client_for, patient, clock):
    _alert(patient, severity=Severity.SAME_DAY, kind=AlertKind.SEVERE_SYMPTOM)
    text = _text(_banner(_home(client_for, patient)))
    assert "Your team will contact you today." in text
    assert "call the unit, day or night" in text


@pytest.mark.parametrize(
    "at",
    [
        pytest.param("2026-11-20T17:30:00+00:00", id="friday-evening"),  # 18:30 in Stockholm
        pytest.param("2026-11-21T09:00:00+00:00", id="saturday"),
    ],
)
def test_a_same_day_alert_after_hours_promises_the_next_working_day(client_for, patient, clock, at):
    clock(datetime.fromisoformat(at))
    _alert(patient, severity=Severity.SAME_DAY, kind=AlertKind.SEVERE_SYMPTOM)
    text = _text(_banner(_home(client_for, patient)))
    assert "They will contact you by Monday 23 November." in text
    assert "call the unit, day or night, or your emergency number" in text
    assert "today" not in text


def test_without_a_unit_number_the_banner_says_which_number_to_call(client_for, patient, clock):
    patient.centre.phone_24h = ""
    patient.centre.save()
    _alert(patient)
    banner = _banner(_home(client_for, patient))
    assert "tel:" not in banner
    assert "24-hour number, or your emergency number" in _text(banner)


@pytest.mark.parametrize("many", [False, True])
def test_the_homes_query_count_does_not_grow_with_alerts(
    client_for, patient, clinician, clock, many, django_assert_max_num_queries
):
    kinds = list(AlertKind)[:6] if many else [AlertKind.FEVER]
    for kind in kinds:
        _alert(patient, severity=Severity.SAME_DAY, kind=kind)
    if many:
        for alert in Alert.objects.filter(patient=patient)[:3]:
            resolve_alert(context=_as(clinician), alert=alert, action=ResolutionAction.SEEN)
    client = client_for(patient.user)
    with django_assert_max_num_queries(8):  # no Day 0 yet; the banner is one of them
        assert client.get(HOME).status_code == 200


# --- the check-in's result ----------------------------------------------------------------------------------------


def _same_day_result(client_for, patient) -> str:
    report = record_symptom_report(
        context=SYSTEM, patient=patient, recorded_at=timezone.now(), symptoms={"nausea": 3}
    ).report
    assert report.triage_level == Severity.SAME_DAY
    response = client_for(patient.user).get(reverse("recovery:checkin-result", args=[report.uuid]))
    assert response.status_code == 200
    return _text(response.content.decode())


def test_the_check_in_result_promises_today_in_working_hours(client_for, patient, clock):
    text = _same_day_result(client_for, patient)
    assert "Your team will look at this today" in text
    assert "Your team will look at this report today and contact you." in text


def test_the_check_in_result_after_hours_promises_the_next_working_day_and_says_to_call_if_worse(
    client_for, patient, clock
):
    clock(datetime.fromisoformat("2026-11-20T17:30:00+00:00"))  # Friday, 18:30 in Stockholm
    text = _same_day_result(client_for, patient)
    assert "Your team will look at this by Monday 23 November" in text
    assert "Your team is not at work now. They will look at this report and contact you by Monday 23 November." in text
    assert f"call the unit on {UNIT_PHONE}, day or night, or your emergency number" in text
    assert "today" not in text


def test_the_api_gives_the_same_after_hours_advice(api_for, patient, clock):
    clock(datetime.fromisoformat("2026-11-21T09:00:00+00:00"))  # Saturday
    response = api_for(patient.user).post(
        f"/api/v1/patients/{patient.uuid}/symptom-reports/",
        {"recorded_at": timezone.now().isoformat(), "symptoms": {"nausea": 3}},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert "contact you by Monday 23 November" in response.json()["triage"]["advice"]


# --- the staff's patient page -----------------------------------------------------------------------------------


def _patient_page(client, patient) -> str:
    response = client.get(reverse("recovery:patient-detail", args=[patient.uuid]))
    assert response.status_code == 200
    return response.content.decode()


def _section(html: str, testid: str) -> str:
    start = html.index(f'data-testid="{testid}"')
    return html[start : html.index("</section>", start)]


def test_the_patient_page_lists_open_alerts_first_with_severity_time_state_and_link(
    client_for, coordinator, clinician, patient, clock
):
    urgent = _alert(patient)
    same_day = _alert(patient, severity=Severity.SAME_DAY, kind=AlertKind.SEVERE_SYMPTOM)
    clock(NOW + timedelta(minutes=7))
    acknowledge_alert(context=_as(clinician), alert=same_day)
    done = _alert(patient, severity=Severity.SAME_DAY, kind=AlertKind.WORSENING)
    resolve_alert(context=_as(clinician), alert=done, action=ResolutionAction.ADVICE)
    html = _patient_page(client_for(coordinator), patient)
    section = _section(html, "open-alerts")
    assert html.index('data-testid="open-alerts"') < html.index('data-testid="day"')
    rows = re.findall(r'data-testid="open-alert" data-severity="(\w+)"', section)
    assert rows == ["urgent", "same_day"]  # the resolved one is not listed
    assert f'href="{reverse("recovery:alert-detail", args=[urgent.uuid])}"' in section
    text = _text(section)
    assert "Not acknowledged" in text
    assert "raised Wed 18 Nov 13:00 CET" in text
    assert "Acknowledged Wed 18 Nov 13:07 by" in text
    assert "Open alerts (2)" in text


def test_the_patient_page_has_no_open_alerts_section_without_open_alerts(client_for, coordinator, patient, clock):
    assert 'data-testid="open-alerts"' not in _patient_page(client_for(coordinator), patient)


@pytest.mark.parametrize("many", [False, True])
def test_the_patient_pages_query_count_does_not_grow_with_open_alerts(
    client_for, coordinator, clinician, patient, clock, many, django_assert_max_num_queries
):
    kinds = list(AlertKind) if many else [AlertKind.FEVER]
    for kind in kinds:
        alert = _alert(patient, severity=Severity.SAME_DAY, kind=kind)
        acknowledge_alert(context=_as(clinician), alert=alert)
    client = client_for(coordinator)
    _patient_page(client, patient)
    with django_assert_max_num_queries(PATIENT_PAGE_QUERIES):
        _patient_page(client, patient)


# --- the alert page ---------------------------------------------------------------------------------------------


def test_the_alert_page_has_tap_to_call_links_for_the_patient_and_their_contact(client_for, clinician, centre, clock):
    patient = PatientFactory(
        centre=centre,
        first_name="Pia",
        last_name="Holmgren",
        contact_name="Anders Holmgren",
        contact_phone="+46709876543",
    )
    alert = _alert(patient)
    response = client_for(clinician).get(reverse("recovery:alert-detail", args=[alert.uuid]))
    assert response.status_code == 200
    section = _section(response.content.decode(), "alert-phones")
    assert 'href="tel:+46701234567"' in section
    assert 'href="tel:+46709876543"' in section
    text = _text(section)
    assert "The patient, Pia Holmgren: +46701234567" in text
    assert "Their contact person, Anders Holmgren: +46709876543" in text


def test_the_alert_page_says_when_a_number_is_missing(client_for, clinician, centre, clock):
    patient = PatientFactory(centre=centre, phone="", contact_name="", contact_phone="")
    alert = _alert(patient)
    section = _section(
        client_for(clinician).get(reverse("recovery:alert-detail", args=[alert.uuid])).content.decode(), "alert-phones"
    )
    assert "tel:" not in section
    assert "No phone number for the patient." in section
    assert "No contact person's phone number." in section


def _call_bar(html: str) -> str:
    start = html.index('data-testid="call-bar"')
    return html[html.rindex("<div", 0, start) : start]


def test_the_call_bar_covers_nothing_while_the_banner_offers_the_call_and_is_sticky_again_after(
    client_for, patient, clinician, clock
):
    """The sticky bar could cover the page's own buttons under a tall banner: while an alert is open the banner has
    the call, and the bar sits at the end of the page; once resolved (or with no alert) it sticks again."""
    assert "rt-call-bar-in-flow" not in _call_bar(_home(client_for, patient))
    alert = _alert(patient)
    html = _home(client_for, patient)
    assert "rt-call-bar-in-flow" in _call_bar(html)
    assert f'href="tel:{UNIT_PHONE}"' in _banner(html)
    resolve_alert(context=_as(clinician), alert=alert, action=ResolutionAction.ADMITTED, note=INTERNAL_NOTE)
    assert "rt-call-bar-in-flow" not in _call_bar(_home(client_for, patient))


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", "They will look at this report and contact you by the next working day."),
        ("sv", "De tittar på din rapport och hör av sig till dig senast nästa arbetsdag."),
    ],
)
def test_without_a_working_day_in_sight_the_day_still_reads_as_a_sentence(centre, language, words):
    """A calendar with no working day names no date: the words that stand for it fit "contact you by ..."."""
    config = replace(DEFAULT_CONFIG, alerts=replace(DEFAULT_CONFIG.alerts, working_days=()))
    with translation.override(language):
        text = advice_text(Severity.SAME_DAY, False, centre, at=timezone.now(), config=config)
    assert words in text
