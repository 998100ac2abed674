"""Revaccination: the plan from Day 0 across the whole timeline, recording doses (the live-vaccine refusal),
the staff page, the coordinators' list of doses due and the patient's own page."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from recovery.clinical.vaccination import DoseStatus
from recovery.models import AuditEvent, VaccinationDose
from recovery.services.audit import AuditContext
from recovery.services.vaccinations import doses_due, plan_for, record_vaccination
from tests.factories import PatientFactory, transplant

SYSTEM = AuditContext.system("tests")
DAY0 = date(2026, 8, 31)  # month 3 is 30 Nov 2026, month 6 is 28 Feb 2027, month 24 is 31 Aug 2028
NOW = datetime(2027, 3, 15, 11, 0, tzinfo=UTC)  # Day +196, between month 6 and month 7


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def transplanted(patient, clock):
    transplant(patient, DAY0, engrafted=DAY0 + timedelta(days=11))
    return patient


def statuses(patient, today=None):
    return {(d.vaccine, d.dose): d.status for d in plan_for(patient, today=today)}


def give(patient, vaccine, dose, on, **extra):
    return record_vaccination(context=SYSTEM, patient=patient, vaccine=vaccine, dose=dose, given_date=on, **extra)


# --- the plan across the timeline ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "expected"),
    [
        pytest.param(
            DAY0, {("zoster_recombinant", 1): DoseStatus.UPCOMING, ("pcv13", 1): DoseStatus.UPCOMING}, id="day0"
        ),
        pytest.param(
            DAY0 + timedelta(days=55),
            {("zoster_recombinant", 1): DoseStatus.DUE, ("influenza", 1): DoseStatus.UPCOMING},
            id="day55_zoster_due",
        ),
        pytest.param(
            date(2026, 12, 1),
            {
                ("zoster_recombinant", 1): DoseStatus.OVERDUE,
                ("pcv13", 1): DoseStatus.DUE,
                ("influenza", 1): DoseStatus.DUE,
            },
            id="month3",
        ),
        pytest.param(
            date(2027, 3, 1),
            {("pcv13", 1): DoseStatus.OVERDUE, ("tdap", 1): DoseStatus.DUE, ("hepb", 1): DoseStatus.DUE},
            id="month6",
        ),
        pytest.param(
            date(2027, 9, 1),
            {("tdap", 1): DoseStatus.OVERDUE, ("ppsv23", 1): DoseStatus.UPCOMING, ("mmr", 1): DoseStatus.UPCOMING},
            id="month12",
        ),
        pytest.param(
            date(2028, 9, 1),
            {("mmr", 1): DoseStatus.DUE, ("varicella", 1): DoseStatus.DUE, ("mmr", 2): DoseStatus.UPCOMING},
            id="month24_live_vaccines_due",
        ),
        pytest.param(date(2029, 6, 1), {("mmr", 1): DoseStatus.OVERDUE}, id="month33"),
    ],
)
def test_plan_statuses_across_the_whole_timeline(transplanted, today, expected):
    """Each dose is upcoming, then due from its date, then overdue after its window, from Day 0 to month 33."""
    got = statuses(transplanted, today)
    assert {key: got[key] for key in expected} == expected


def test_no_day0_means_no_plan(patient, clock):
    assert plan_for(patient) == []


def test_a_dose_given_moves_the_next_one_and_yearly_influenza_goes_on(transplanted):
    give(transplanted, "pcv13", 1, date(2027, 3, 1))
    plan = {(d.vaccine, d.dose): d for d in plan_for(transplanted)}
    assert plan[("pcv13", 1)].status == DoseStatus.GIVEN
    assert plan[("pcv13", 2)].due_date == date(2027, 4, 1)  # a month after the dose actually given
    give(transplanted, "influenza", 1, date(2027, 3, 2))
    plan = {(d.vaccine, d.dose): d for d in plan_for(transplanted)}
    assert plan[("influenza", 2)].due_date == date(2028, 3, 2)


# --- recording doses -------------------------------------------------------------------------------------------


def test_a_live_vaccine_before_month_24_is_refused_with_an_explanation(transplanted):
    with pytest.raises(ValidationError) as refused:
        give(transplanted, "mmr", 1, date(2027, 3, 10))
    message = refused.value.message_dict["given_date"][0]
    assert "live vaccine" in message
    assert "month 24" in message
    assert "2028-08-31" in message
    assert not VaccinationDose.objects.exists()


def test_a_live_vaccine_while_immunosuppressed_is_refused_even_after_month_24(patient):
    with time_machine.travel(datetime(2028, 10, 1, 10, tzinfo=UTC), tick=False):
        transplant(patient, DAY0, engrafted=DAY0 + timedelta(days=11))
        with pytest.raises(ValidationError) as refused:
            give(patient, "varicella", 1, date(2028, 9, 20), immunosuppressed=True)
        assert "immunosuppressive" in refused.value.message_dict["immunosuppressed"][0]
        give(patient, "varicella", 1, date(2028, 9, 20))
    assert VaccinationDose.objects.get().vaccine == "varicella"


@pytest.mark.parametrize(
    ("vaccine", "dose", "given", "field", "words"),
    [
        pytest.param("pcv13", 1, date(2027, 3, 20), "given_date", "in the future", id="future"),
        pytest.param("pcv13", 1, date(2026, 8, 1), "given_date", "before Day 0", id="before_day0"),
        pytest.param("bcg", 1, date(2027, 3, 1), "vaccine", "Unknown vaccine", id="unknown_vaccine"),
        pytest.param("pcv13", 4, date(2027, 3, 1), "dose", "dose 4 is not in it", id="dose_outside_schedule"),
        pytest.param("pcv13", 2, date(2027, 3, 1), "dose", "Record PCV13", id="dose_out_of_order"),
    ],
)
def test_implausible_doses_are_refused_with_a_plain_message(transplanted, vaccine, dose, given, field, words):
    with pytest.raises(ValidationError) as refused:
        give(transplanted, vaccine, dose, given)
    assert words in refused.value.message_dict[field][0]


def test_the_same_dose_twice_is_refused(transplanted):
    give(transplanted, "pcv13", 1, date(2027, 3, 1))
    with pytest.raises(ValidationError) as refused:
        give(transplanted, "pcv13", 1, date(2027, 3, 2))
    assert "already recorded" in refused.value.message_dict["dose"][0]


def test_a_later_dose_must_follow_the_previous_one(transplanted):
    give(transplanted, "pcv13", 1, date(2027, 3, 1))
    with pytest.raises(ValidationError) as refused:
        give(transplanted, "pcv13", 2, date(2027, 3, 1))
    assert "after dose 1" in refused.value.message_dict["given_date"][0]


def test_a_dose_without_day0_is_refused(patient, clock):
    with pytest.raises(ValidationError) as refused:
        give(patient, "pcv13", 1, date(2027, 3, 1))
    assert "Day 0" in refused.value.message_dict["given_date"][0]


def test_recording_a_dose_is_audited(transplanted, coordinator):
    record_vaccination(
        context=AuditContext(actor=coordinator),
        patient=transplanted,
        vaccine="tdap",
        dose=1,
        given_date=date(2027, 3, 1),
    )
    event = AuditEvent.objects.get(action="vaccination.record")
    assert (event.actor, event.patient, event.detail["vaccine"]) == (coordinator, transplanted, "tdap")


# --- the staff page --------------------------------------------------------------------------------------------


def page_url(patient):
    return reverse("recovery:patient-vaccinations", args=[patient.uuid])


def test_the_page_shows_each_dose_with_its_status_badge(client_for, coordinator, transplanted):
    give(transplanted, "pcv13", 1, date(2027, 3, 1))
    html = client_for(coordinator).get(page_url(transplanted)).content.decode()
    for status in ("given", "due", "overdue", "upcoming"):
        assert f'data-status="{status}"' in html
    assert AuditEvent.objects.filter(action="vaccinations.view", patient=transplanted).exists()


def test_the_live_vaccine_refusal_is_shown_with_the_typed_values_kept(client_for, clinician, transplanted):
    response = client_for(clinician).post(
        page_url(transplanted), {"vaccine": "mmr", "dose": "1", "given_date": "2027-03-10", "note": "lot AB12"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert "is a live vaccine: it cannot be given before month 24" in html
    assert 'value="2027-03-10"' in html
    assert 'value="lot AB12"' in html
    assert '<option value="mmr" selected>' in html
    assert not VaccinationDose.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param({"vaccine": "pcv13", "dose": "one", "given_date": "2027-03-01"}, "whole number", id="dose_text"),
        pytest.param({"vaccine": "pcv13", "dose": "1", "given_date": "31/02/2027"}, "YYYY-MM-DD", id="bad_date"),
        pytest.param({"vaccine": "x" * 40, "dose": "1", "given_date": "2027-03-01"}, "Choose a vaccine", id="bad_code"),
        pytest.param(
            {"vaccine": "pcv13", "dose": "99999999999999999999", "given_date": "2027-03-01"}, "more than", id="huge"
        ),
    ],
)
def test_garbage_in_the_form_is_a_message_never_a_500(client_for, coordinator, transplanted, data, message):
    response = client_for(coordinator).post(page_url(transplanted), data)
    assert response.status_code == 200
    assert message in response.content.decode()


def test_staff_record_a_dose_and_are_sent_back_to_the_plan(client_for, coordinator, transplanted):
    response = client_for(coordinator).post(
        page_url(transplanted), {"vaccine": "pcv13", "dose": "1", "given_date": "2027-03-01"}
    )
    assert response.status_code == 302
    assert VaccinationDose.objects.get().entered_by == coordinator


def test_a_patient_cannot_post_a_dose_and_another_centre_gets_404(client_for, transplanted, other_centre_coordinator):
    data = {"vaccine": "pcv13", "dose": "1", "given_date": "2027-03-01"}
    assert client_for(transplanted.user).post(page_url(transplanted), data).status_code == 403
    assert client_for(other_centre_coordinator).post(page_url(transplanted), data).status_code == 404
    assert not VaccinationDose.objects.exists()


@pytest.mark.parametrize("doses", [1, 12])
def test_the_patient_page_queries_do_not_grow_with_doses(
    client_for, coordinator, transplanted, doses, django_assert_max_num_queries
):
    for i, (vaccine, dose) in enumerate(
        [
            ("pcv13", 1),
            ("influenza", 1),
            ("tdap", 1),
            ("ipv", 1),
            ("hib", 1),
            ("hepb", 1),
            ("hepa", 1),
            ("hpv", 1),
            ("meningococcal", 1),
            ("zoster_recombinant", 1),
            ("zoster_recombinant", 2),
            ("pcv13", 2),
        ][:doses]
    ):
        VaccinationDose.objects.create(
            patient=transplanted,
            vaccine=vaccine,
            dose=dose,
            given_date=date(2026, 11, 1) + timedelta(days=40 * (dose - 1) + i),
        )
    client = client_for(coordinator)
    client.get(page_url(transplanted))
    with django_assert_max_num_queries(12):
        assert client.get(page_url(transplanted)).status_code == 200


# --- the coordinators' list ----------------------------------------------------------------------------------


def test_the_due_list_shows_patients_with_doses_due_most_overdue_first(
    client_for, coordinator, centre, clock, other_centre_patient
):
    late = PatientFactory(centre=centre, last_name="Late")
    transplant(late, DAY0)  # month 6: PCV13 and influenza overdue
    fresh = PatientFactory(centre=centre, last_name="Fresh")
    transplant(fresh, date(2027, 1, 10))  # Day +64: the shingles vaccine is due
    nothing = PatientFactory(centre=centre, last_name="Nothing")
    transplant(nothing, date(2027, 3, 10))  # Day +5: nothing is due yet
    transplant(other_centre_patient, DAY0)
    html = client_for(coordinator).get(reverse("recovery:vaccinations-due")).content.decode()
    assert html.count('data-testid="due-row"') == 2
    assert html.index("Late") < html.index("Fresh")
    assert "Nothing" not in html
    assert other_centre_patient.last_name not in html
    overdue = client_for(coordinator).get(reverse("recovery:vaccinations-due") + "?show=overdue").content.decode()
    assert overdue.count('data-testid="due-row"') == 1
    assert AuditEvent.objects.filter(action="vaccinations.due", patient=late).exists()


def test_doses_due_leaves_out_given_doses(centre, clock):
    late = PatientFactory(centre=centre)
    transplant(late, DAY0)
    for dose in ("influenza", "pcv13", "zoster_recombinant"):
        VaccinationDose.objects.create(patient=late, vaccine=dose, dose=1, given_date=date(2026, 12, 1))
    [row] = doses_due(late.__class__.objects.filter(pk=late.pk))
    assert ("influenza", 1) not in {(d.vaccine, d.dose) for d in row.doses}


@pytest.mark.parametrize("count", [2, 40])
def test_the_due_list_queries_do_not_grow_with_patients(
    client_for, coordinator, centre, clock, count, django_assert_max_num_queries
):
    for i in range(count):
        p = PatientFactory(centre=centre, last_name=f"Load{i:02d}")
        transplant(p, DAY0 - timedelta(days=i))
        VaccinationDose.objects.create(patient=p, vaccine="pcv13", dose=1, given_date=date(2027, 1, 1))
    client = client_for(coordinator)
    client.get(reverse("recovery:vaccinations-due"))
    with django_assert_max_num_queries(10):
        response = client.get(reverse("recovery:vaccinations-due"))
    assert response.content.decode().count('data-testid="due-row"') == min(count, 25)
    assert client.get(reverse("recovery:vaccinations-due") + "?page=999").status_code == 200


# --- the patient's own page --------------------------------------------------------------------------------------


def test_the_patient_sees_their_plan_in_plain_words(client_for, transplanted):
    give(transplanted, "pcv13", 1, date(2027, 3, 1))
    html = client_for(transplanted.user).get(reverse("recovery:my-vaccinations")).content.decode()
    assert "Vaccinations due now" in html
    assert "Tetanus, diphtheria and pertussis" in html
    assert "Aciclovir" in html
    assert "until your team tells you to stop" in html.replace("\n", " ")
    assert 'data-testid="given-dose"' in html
    assert AuditEvent.objects.filter(action="vaccinations.view_own", patient=transplanted).exists()


def test_the_patient_home_page_links_to_the_plan_within_its_query_budget(
    client_for, transplanted, django_assert_max_num_queries
):
    client = client_for(transplanted.user)
    with django_assert_max_num_queries(15):
        html = client.get(reverse("recovery:my-recovery")).content.decode()
    assert 'data-testid="care-summary"' in html
    assert reverse("recovery:my-vaccinations") in html


def test_a_patient_without_day0_gets_a_friendly_page(client_for, patient, clock):
    html = client_for(patient.user).get(reverse("recovery:my-vaccinations")).content.decode()
    assert "Your plan starts from the day of your transplant" in html
