"""Revaccination: the plan from Day 0 across the whole timeline, recording doses (the live-vaccine refusal),
the staff page, the coordinators' list of doses due and the patient's own page."""

import importlib
import io
import json
import re
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace

import pytest
import time_machine
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.db import connection
from django.db.models import F
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from recovery import access, tasks
from recovery.clinical.episode import DATE_FIELDS
from recovery.clinical.follow_up import earliest_day0_in_follow_up
from recovery.clinical.labs_config import DEFAULT_PROPHYLAXIS_CONFIG
from recovery.clinical.phases import add_months
from recovery.clinical.vaccination import DoseStatus, OpenDose, live_vaccine_earliest, open_doses, vaccination_plan
from recovery.models import (
    AuditEvent,
    CentreConfiguration,
    Patient,
    PlannedVaccination,
    TransfusionProduct,
    VaccinationDose,
    VaccinationPlanState,
)
from recovery.queries.configuration import active_config
from recovery.queries.vaccinations import doses_due, due_summary, open_doses_from, plan_for
from recovery.services.audit import AuditContext
from recovery.services.labs import record_transfusion
from recovery.services.timeline import EventAction, change_event, regenerate_centre_timelines, save_episode
from recovery.services.vaccination_plans import (
    rebuild_vaccination_plans,
    refresh_stale_vaccination_plans,
    refresh_vaccination_plans,
)
from recovery.services.vaccinations import record_vaccination
from tests.factories import PatientFactory, UserFactory, transplant

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
        give(patient, "varicella", 1, date(2028, 9, 20), immunosuppressed=False)
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
    assert str(other_centre_patient.uuid) not in html  # (its two-letter last name can occur in the CSRF token)
    assert other_centre_patient.hospital_number not in html
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


# --- the live-vaccine block: the immunosuppression question and immunoglobulin (issue 12, item 13) ---------------

LATE = datetime(2028, 10, 1, 10, tzinfo=UTC)  # Day 0 + 25 months: live vaccines allowed by date


@pytest.fixture
def late(patient):
    """The patient 25 months after Day 0 (31 Aug 2026): month 24 was 31 Aug 2028."""
    with time_machine.travel(LATE, tick=False):
        transplant(patient, DAY0, engrafted=DAY0 + timedelta(days=11))
        yield patient


def answers(html: str) -> dict[str, bool]:
    """The immunosuppression radio buttons of the page: value -> checked."""
    tags = re.findall(r'<input type="radio"[^>]*name="immunosuppressed"[^>]*>', html)
    return {re.search(r'value="(\w+)"', tag).group(1): bool(re.search(r"\schecked\b", tag)) for tag in tags}


def ivig(patient, at: datetime):
    row, _ = record_transfusion(context=SYSTEM, patient=patient, product=TransfusionProduct.IMMUNOGLOBULIN, given_at=at)
    return row


def test_the_immunosuppression_question_has_no_default_answer(client_for, clinician, transplanted):
    """The form asks yes or no with neither chosen: an untouched question is not a "no"."""
    html = client_for(clinician).get(page_url(transplanted)).content.decode()
    assert "Is the patient on immunosuppressive treatment now?" in html
    assert answers(html) == {"yes": False, "no": False}
    assert 'type="checkbox"' not in html


@pytest.mark.parametrize(
    ("answer", "stored"),
    [pytest.param({"immunosuppressed": "no"}, False, id="no"), pytest.param({}, None, id="unanswered_non_live")],
)
def test_an_inactivated_vaccine_is_recorded_with_the_answer_kept(client_for, clinician, transplanted, answer, stored):
    """The answer is kept with the dose; an inactivated vaccine does not need it."""
    data = {"vaccine": "tdap", "dose": "1", "given_date": "2027-03-01", **answer}
    assert client_for(clinician).post(page_url(transplanted), data).status_code == 302
    assert VaccinationDose.objects.get().immunosuppressed is stored


def test_a_live_vaccine_with_the_question_unanswered_is_refused_with_the_typed_values_kept(client_for, clinician, late):
    with time_machine.travel(LATE, tick=False):
        response = client_for(clinician).post(
            page_url(late), {"vaccine": "mmr", "dose": "1", "given_date": "2028-09-20", "note": "lot Q7"}
        )
    assert response.status_code == 200
    html = response.content.decode()
    assert "answer whether the patient is on immunosuppressive treatment now (yes or no)" in html
    assert 'value="2028-09-20"' in html
    assert 'value="lot Q7"' in html
    assert not VaccinationDose.objects.exists()


def test_a_live_vaccine_answered_yes_is_refused_and_no_is_recorded(client_for, clinician, late):
    client = client_for(clinician)
    data = {"vaccine": "varicella", "dose": "1", "given_date": "2028-09-20"}
    with time_machine.travel(LATE, tick=False):
        refused = client.post(page_url(late), {**data, "immunosuppressed": "yes"})
        assert "while the patient is on immunosuppressive treatment" in refused.content.decode()
        assert answers(refused.content.decode()) == {"yes": True, "no": False}
        assert client.post(page_url(late), {**data, "immunosuppressed": "no"}).status_code == 302
    dose = VaccinationDose.objects.get()
    assert (dose.vaccine, dose.immunosuppressed) == ("varicella", False)
    event = AuditEvent.objects.get(action="vaccination.record")
    assert event.detail["immunosuppressed"] is False


@pytest.mark.parametrize(
    ("ivig_at", "given", "refused"),
    [
        # 11 months after 20 Oct 2027 is 20 Sep 2028: refused the day before, recorded on the day
        pytest.param(datetime(2027, 10, 20, 12, tzinfo=UTC), date(2028, 9, 19), True, id="day_before_clear"),
        pytest.param(datetime(2027, 10, 20, 12, tzinfo=UTC), date(2028, 9, 20), False, id="clear_on_the_day"),
        # 23:30 UTC on 19 Oct is 01:30 on 20 Oct in Stockholm: the patient's date counts
        pytest.param(datetime(2027, 10, 19, 23, 30, tzinfo=UTC), date(2028, 9, 19), True, id="patient_local_date"),
        pytest.param(datetime(2027, 10, 18, 12, tzinfo=UTC), date(2028, 9, 19), False, id="earlier_ivig_clear"),
        pytest.param(datetime(2028, 9, 25, 12, tzinfo=UTC), date(2028, 9, 20), False, id="ivig_after_the_vaccine"),
    ],
)
def test_a_live_vaccine_too_soon_after_immunoglobulin_is_refused(late, ivig_at, given, refused):
    """IVIG recorded with the transfusions holds back live vaccines for 11 calendar months (configurable)."""
    with time_machine.travel(LATE, tick=False):
        ivig(late, ivig_at)
        if refused:
            with pytest.raises(ValidationError) as refusal:
                give(late, "mmr", 1, given, immunosuppressed=False)
            message = refusal.value.message_dict["given_date"][0]
            assert "within 11 months after immunoglobulin (IVIG)" in message
            assert not VaccinationDose.objects.exists()
        else:
            give(late, "mmr", 1, given, immunosuppressed=False)
            assert VaccinationDose.objects.get().vaccine == "mmr"


def test_immunoglobulin_does_not_hold_back_an_inactivated_vaccine(late):
    with time_machine.travel(LATE, tick=False):
        ivig(late, datetime(2028, 9, 1, 12, tzinfo=UTC))
        give(late, "tdap", 1, date(2028, 9, 20))
    assert VaccinationDose.objects.get().vaccine == "tdap"


def test_the_immunoglobulin_interval_is_the_centres_configuration(late, centre):
    CentreConfiguration.objects.create(
        centre=centre, version=1, values={"vaccination": {"live_after_immunoglobulin_months": 8}}
    )
    with time_machine.travel(LATE, tick=False):
        ivig(late, datetime(2028, 1, 10, 12, tzinfo=UTC))  # 8 months later: 10 Sep 2028
        with pytest.raises(ValidationError, match="within 8 months"):
            give(late, "mmr", 1, date(2028, 9, 9), immunosuppressed=False)
        give(late, "mmr", 1, date(2028, 9, 10), immunosuppressed=False)


def test_the_page_shows_the_last_immunoglobulin_and_the_live_vaccine_date(client_for, clinician, late):
    with time_machine.travel(LATE, tick=False):
        ivig(late, datetime(2028, 2, 3, 12, tzinfo=UTC))
        html = client_for(clinician).get(page_url(late)).content.decode()
    assert "within 11 months after immunoglobulin" in html
    assert "Last immunoglobulin (IVIG) recorded: <strong>3 Feb 2028</strong>" in html
    assert "not before <strong>31 Aug 2028</strong>" in html


# --- the form and the API apply the same rule --------------------------------------------------------------------

AGREEMENT = [
    # (vaccine, given date, answer: "yes", "no" or None for unanswered, IVIG at, the field refused or None)
    pytest.param("mmr", "2028-08-30", "no", None, "given_date", id="day_before_month_24"),
    pytest.param("mmr", "2028-08-31", "no", None, None, id="month_24"),
    pytest.param("mmr", "2028-08-31", None, None, "immunosuppressed", id="unanswered"),
    pytest.param("varicella", "2028-09-01", "yes", None, "immunosuppressed", id="immunosuppressed"),
    pytest.param("mmr", "2028-09-19", "no", datetime(2027, 10, 20, 12, tzinfo=UTC), "given_date", id="ivig_too_soon"),
    pytest.param("mmr", "2028-09-20", "no", datetime(2027, 10, 20, 12, tzinfo=UTC), None, id="ivig_clear"),
    pytest.param("tdap", "2028-09-01", None, datetime(2028, 9, 1, 12, tzinfo=UTC), None, id="inactivated"),
]


@pytest.mark.parametrize(("vaccine", "given", "answer", "ivig_at", "field"), AGREEMENT)
def test_the_form_and_the_api_refuse_and_accept_the_same_doses(
    client_for, api_for, clinician, late, vaccine, given, answer, ivig_at, field
):
    """Each scenario gives the same outcome, on the same field with the same message, on the page and the API."""
    form_data = {"vaccine": vaccine, "dose": "1", "given_date": given}
    api_data = {"vaccine": vaccine, "dose": 1, "given_date": given}
    if answer is not None:
        form_data["immunosuppressed"] = answer
        api_data["immunosuppressed"] = answer == "yes"
    with time_machine.travel(LATE, tick=False):
        if ivig_at is not None:
            ivig(late, ivig_at)
        page = client_for(clinician).post(page_url(late), form_data)
        page_saved = VaccinationDose.objects.filter(patient=late).exists()
        VaccinationDose.objects.all().delete()
        api = api_for(clinician).post(f"/api/v1/patients/{late.uuid}/vaccinations/", api_data, format="json")
    if field is None:
        assert (page.status_code, api.status_code, page_saved) == (302, 201, True)
        return
    assert (page.status_code, api.status_code, page_saved) == (200, 400, False)
    [message] = api.json()[field]
    form_errors = page.context["form"].errors
    assert form_errors[field] == [message]


# --- the timeline follows the rules (issue 12, item 12) -----------------------------------------------------------


def timeline_dates(patient):
    return dict(patient.episode.events.exclude(template_key=None).values_list("template_key", "planned_date"))


@pytest.mark.parametrize(
    "day0", [date(2024, 2, 29), date(2023, 3, 1), date(2026, 8, 31)], ids=["leap_day", "1_mar", "31_aug"]
)
def test_a_patients_timeline_dates_its_live_vaccine_and_reviews_by_the_rules(patient, day0):
    """The stored events fall where the block and the prophylaxis rule say, not at fixed day counts."""
    with time_machine.travel(datetime.combine(day0 + timedelta(days=20), datetime.min.time(), UTC), tick=False):
        transplant(patient, day0, engrafted=day0 + timedelta(days=11))
    dates = timeline_dates(patient)
    assert dates["vaccine-live"] == live_vaccine_earliest(day0)
    assert dates["cotrimoxazole-review"] == add_months(day0, 3)
    assert dates["aciclovir-review"] == add_months(day0, 12)
    assert dates["vaccine-zoster"] == day0 + timedelta(days=50)


def test_a_new_centre_configuration_moves_the_rule_dated_events(transplanted, centre):
    """A new configuration version re-dates the untouched rule-dated events of the centre's patients."""
    CentreConfiguration.objects.create(
        centre=centre,
        version=1,
        values={
            "vaccination": {"live_not_before_months": 30},
            "prophylaxis": {
                "templates": [
                    t.__dict__
                    for t in DEFAULT_PROPHYLAXIS_CONFIG.with_template("cotrimoxazole", stop_months=6).templates
                ]
            },
        },
    )
    assert regenerate_centre_timelines(centre_id=centre.pk) == 2
    dates = timeline_dates(transplanted)
    assert dates["vaccine-live"] == add_months(DAY0, 30)
    assert dates["cotrimoxazole-review"] == add_months(DAY0, 6)
    assert regenerate_centre_timelines(centre_id=centre.pk) == 0


def test_saving_a_configuration_version_in_the_admin_regenerates_the_timelines(client, transplanted, centre):
    client.force_login(UserFactory(username="root", role="", is_staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:recovery_centreconfiguration_add"),
        {"centre": centre.pk, "version": 1, "values": json.dumps({"vaccination": {"live_not_before_months": 36}})},
    )
    assert response.status_code == 302
    assert timeline_dates(transplanted)["vaccine-live"] == add_months(DAY0, 36)


def test_the_migration_re_dates_existing_timelines_and_leaves_touched_events(patient):
    """Timelines stored with the old day counts (730 days) move to the rule's dates; a hand-moved event stays."""
    from django.apps import apps

    redate = importlib.import_module("recovery.migrations.0008_vaccination_safety").redate_rule_events
    day0 = date(2023, 3, 1)  # 730 days on is 28 Feb 2025; month 24 is 1 Mar 2025
    with time_machine.travel(datetime(2023, 3, 20, 10, tzinfo=UTC), tick=False):
        transplant(patient, day0, engrafted=day0 + timedelta(days=11))
    events = patient.episode.events
    events.filter(template_key="vaccine-live").update(planned_date=day0 + timedelta(days=730))
    events.filter(template_key="cotrimoxazole-review").update(planned_date=date(2023, 9, 1), manually_changed=True)
    redate(apps, None)
    dates = timeline_dates(patient)
    assert dates["vaccine-live"] == date(2025, 3, 1)
    assert dates["cotrimoxazole-review"] == date(2023, 9, 1)


@pytest.mark.parametrize(
    ("on", "refused"),
    [pytest.param(date(2028, 8, 30), True, id="day_before_month_24"), pytest.param(date(2028, 8, 31), False, id="m24")],
)
def test_the_live_vaccine_event_cannot_be_moved_before_the_block(transplanted, on, refused):
    """A coordinator may move the live-vaccine event later, never before the day the block allows."""
    event = transplanted.episode.events.get(template_key="vaccine-live")
    if refused:
        with pytest.raises(ValidationError) as refusal:
            change_event(context=SYSTEM, event=event, action=EventAction.MOVE, on=on)
        assert "Live vaccines cannot be given before 31 Aug 2028" in refusal.value.message_dict["on"][0]
        event.refresh_from_db()
        assert (event.planned_date, event.manually_changed) == (date(2028, 8, 31), False)
    else:
        assert change_event(context=SYSTEM, event=event, action=EventAction.MOVE, on=on).planned_date == on


def test_moving_the_live_vaccine_event_too_early_on_the_page_is_a_message_not_a_500(
    client_for, coordinator, transplanted
):
    event = transplanted.episode.events.get(template_key="vaccine-live")
    url = reverse("recovery:event-change", args=[transplanted.uuid, event.uuid])
    response = client_for(coordinator).post(url, {"action": "move", "on": "2027-06-01", "note": ""})
    assert response.status_code == 200
    assert "Live vaccines cannot be given before 31 Aug 2028" in response.content.decode()


# --- the stored plans behind the coordinators' list (issue 15) ------------------------------------------------------


def stored_open(patient) -> list[tuple]:
    return sorted(
        PlannedVaccination.objects.filter(patient=patient).values_list("vaccine", "dose", "due_date", "due_until")
    )


def rule_open(patient) -> list[tuple]:
    """What the pure rule says, computed live: the open doses, as stored rows would hold them."""
    episode = patient.episode
    doses = list(patient.vaccinations.values_list("vaccine", "dose", "given_date"))
    config = active_config(patient.centre_id).vaccination
    return sorted(
        (d.vaccine, d.dose, d.due_date, d.due_until) for d in open_doses_from(episode.reinfusion_date, doses, config)
    )


def due_keys(rows) -> list[tuple]:
    return [(row.patient.pk, [(d.vaccine, d.dose, d.due_date, d.status) for d in row.doses]) for row in rows]


def live_due(patients, **kwargs) -> list[tuple]:
    """The list as the rule computes it for every patient (no stored plan read): marks every plan stale first."""
    Patient.objects.filter(pk__in=patients.values("pk")).update(vaccinations_stale_since=timezone.now())
    try:
        return due_keys(doses_due(patients, **kwargs))
    finally:
        Patient.objects.update(vaccinations_stale_since=None)


def test_open_doses_are_the_due_and_overdue_doses_of_the_plan_on_any_day():
    """The stored doses' status from their dates alone equals the plan's status on every day of ten years."""
    given = [("zoster_recombinant", 1, date(2026, 11, 1)), ("pcv13", 1, date(2026, 12, 20))]
    stored = open_doses(DAY0, given)
    for offset in range(0, 3650, 9):
        today = DAY0 + timedelta(days=offset)
        plan = {(d.vaccine, d.dose): d.status for d in vaccination_plan(DAY0, given, today)}
        open_in_plan = {key: status for key, status in plan.items() if status in (DoseStatus.DUE, DoseStatus.OVERDUE)}
        from_rows = {(d.vaccine, d.dose): d.status_on(today) for d in stored}
        assert {k: s for k, s in from_rows.items() if s != DoseStatus.UPCOMING} == open_in_plan


def test_stored_plans_equal_the_rules_recomputation_for_every_patient_of_a_seeded_cohort(db, coordinator, centre):
    """seed_transplanted stores every plan; each equals the rule's; so do they after a dose, a new Day 0 and a new
    configuration, once the sweep has run; and the list read from them is the list computed live."""
    call_command(
        "seed_transplanted",
        patients=40,
        seed=3,
        centre=centre.name,
        force=True,
        stdout=io.StringIO(),
        stderr=io.StringIO(),
    )
    patients = list(Patient.objects.filter(episode__reinfusion_date__isnull=False).select_related("episode"))
    assert len(patients) == 40
    assert VaccinationPlanState.objects.count() == 40
    for patient in patients:
        assert stored_open(patient) == rule_open(patient), patient.hospital_number
    visible = access.visible_patients(coordinator)
    stored_list = due_keys(doses_due(visible))
    assert stored_list
    assert stored_list == live_due(visible)
    assert due_keys(doses_due(visible, overdue_only=True)) == live_due(visible, overdue_only=True)

    first_open = (
        PlannedVaccination.objects.filter(due_date__lt=timezone.localdate() - timedelta(days=1))
        .exclude(vaccine__in=["mmr", "varicella"])
        .order_by("-due_date")
        .first()
    )
    record_vaccination(
        context=SYSTEM,
        patient=first_open.patient,
        vaccine=first_open.vaccine,
        dose=first_open.dose,
        given_date=first_open.due_date,
    )
    moved = patients[0]
    set_dates = [name for name in DATE_FIELDS if getattr(moved.episode, name)]
    fields = {name: getattr(moved.episode, name) - timedelta(days=40) for name in set_dates}  # Day 0 40 days earlier
    save_episode(context=SYSTEM, patient=moved, fields=fields)
    CentreConfiguration.objects.create(centre=centre, version=1, values={"vaccination": {"yearly_vaccines": []}})
    regenerate_centre_timelines(centre_id=centre.pk)
    assert Patient.objects.filter(vaccinations_stale_since__isnull=False).count() == 40
    assert due_keys(doses_due(visible)) == live_due(visible)  # marked plans are computed live meanwhile
    Patient.objects.update(vaccinations_stale_since=timezone.now())
    assert refresh_stale_vaccination_plans(limit=100) == 40
    for patient in Patient.objects.filter(pk__in=[p.pk for p in patients]).select_related("episode"):
        assert stored_open(patient) == rule_open(patient), patient.hospital_number
    assert set(VaccinationPlanState.objects.values_list("config_version", flat=True)) == {1}
    assert due_keys(doses_due(visible)) == live_due(visible)


def test_a_dose_recorded_marks_the_plan_and_wakes_its_refresh_after_commit(
    transplanted, django_capture_on_commit_callbacks
):
    refresh_vaccination_plans([transplanted.pk])
    with django_capture_on_commit_callbacks() as callbacks:
        give(transplanted, "pcv13", 1, date(2026, 12, 1))
    assert Patient.objects.get(pk=transplanted.pk).vaccinations_stale_since is not None
    assert any(getattr(c, "refreshes_plan", None) == transplanted.pk for c in callbacks)
    assert ("pcv13", 2) not in {(d[0], d[1]) for d in stored_open(transplanted)}  # not yet: the worker does it
    assert refresh_stale_vaccination_plans() == 1
    assert Patient.objects.get(pk=transplanted.pk).vaccinations_stale_since is None
    assert ("pcv13", 2) in {(d[0], d[1]) for d in stored_open(transplanted)}
    assert stored_open(transplanted) == rule_open(transplanted)


def test_the_sweep_builds_the_plans_nobody_marked_and_the_command_rebuilds_all(transplanted):
    assert not VaccinationPlanState.objects.exists()  # written around the services (a factory, an upgrade)
    assert refresh_stale_vaccination_plans() == 1
    PlannedVaccination.objects.all().delete()
    out = io.StringIO()
    call_command("refresh_vaccination_plans", stdout=out)
    assert "1 stored" in out.getvalue()
    assert stored_open(transplanted) == rule_open(transplanted)


def test_a_patient_whose_plan_is_finished_is_not_listed(centre, coordinator, clock):
    """Without a yearly vaccine a plan ends: once every dose is given nothing is stored and nothing is listed."""
    CentreConfiguration.objects.create(
        centre=centre,
        version=1,
        values={"vaccination": {"yearly_vaccines": [], "schedule": [{"vaccine": "pcv13", "dose": 1, "months": 3}]}},
    )
    done, waiting = PatientFactory(centre=centre, last_name="Done"), PatientFactory(centre=centre, last_name="Wait")
    for patient in (done, waiting):
        transplant(patient, DAY0)
    give(done, "pcv13", 1, date(2026, 12, 1))
    refresh_vaccination_plans([done.pk, waiting.pk])
    assert VaccinationPlanState.objects.get(patient=done).done
    assert not PlannedVaccination.objects.filter(patient=done).exists()
    assert [row.patient for row in doses_due(access.visible_patients(coordinator))] == [waiting]
    assert not VaccinationPlanState.objects.get(patient=waiting).done


@pytest.mark.parametrize("stored", [True, False], ids=["stored", "live"])
def test_patients_past_follow_up_are_not_listed_and_the_page_says_from_when(
    client_for, centre, coordinator, clock, stored
):
    """Follow-up ends ten years and thirty days after Day 0 with the defaults (`clinical/follow_up.py`): a patient
    transplanted before that, with every dose still unrecorded, has finished follow-up and is not listed; one
    transplanted a day later still is, with the same doses overdue."""
    today = NOW.date()
    config = active_config(centre.pk)
    cutoff = earliest_day0_in_follow_up(
        today - timedelta(days=1), config.reminders, config.surveillance, config.vaccination, config.prophylaxis
    )
    assert date(2016, 10, 1) < cutoff < date(2017, 3, 15)  # ten years and thirty days, whatever the month ends
    finished = PatientFactory(centre=centre, last_name="Finished")
    followed = PatientFactory(centre=centre, last_name="Followed")
    transplant(finished, cutoff - timedelta(days=1))
    transplant(followed, cutoff)
    if stored:
        rebuild_vaccination_plans()
    rows = doses_due(access.visible_patients(coordinator))
    assert [row.patient for row in rows] == [followed]
    assert rows[0].overdue
    assert rows.follow_up_from == cutoff
    page = client_for(coordinator).get(reverse("recovery:vaccinations-due"))
    text = re.sub(r"\s+", " ", page.content.decode())
    assert "Followed" in text
    assert "Finished" not in text
    assert f"Day 0 before {cutoff.day} {cutoff:%b %Y} have finished follow-up and are not listed" in text


def test_stored_and_live_patients_page_together_in_one_order(centre, coordinator, clock):
    """Paging through a list of stored and not-yet-current plans gives each patient once, in the live order."""
    for i in range(23):
        p = PatientFactory(
            centre=centre, last_name=f"Page{i % 4}", timezone="America/Los_Angeles" if i % 3 else "Europe/Stockholm"
        )
        transplant(p, DAY0 - timedelta(days=17 * i))
    rebuild_vaccination_plans()
    Patient.objects.filter(last_name="Page1").update(vaccinations_stale_since=timezone.now())
    visible = access.visible_patients(coordinator)
    expected = live_due(visible)
    Patient.objects.filter(last_name="Page1").update(vaccinations_stale_since=timezone.now())
    rows = doses_due(visible)
    assert len(rows) == len(expected) == 23
    paged = []
    for start in range(0, 23, 5):
        paged += due_keys(rows[start : start + 5])
    assert paged == expected
    assert due_keys(rows) == expected


@pytest.mark.parametrize("stored", [True, False], ids=["stored", "live"])
def test_the_due_list_makes_the_same_queries_for_2_and_40_patients(
    client_for, coordinator, centre, clock, stored, django_assert_num_queries
):
    client = client_for(coordinator)
    counts = []
    for count in (2, 40):
        for i in range(count - Patient.objects.count()):
            p = PatientFactory(centre=centre, last_name=f"Many{i:02d}")
            transplant(p, DAY0 - timedelta(days=i))
        if stored:
            rebuild_vaccination_plans()
        client.get(reverse("recovery:vaccinations-due"))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("recovery:vaccinations-due") + "?page=2")
        assert response.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_the_stored_list_uses_each_patients_local_date(centre, coordinator):
    """At 11:00 UTC on 27 Feb 2027 it is already 28 Feb (month 6: Td/aP due) at UTC+14 but not in Stockholm."""
    east = PatientFactory(centre=centre, last_name="East", timezone="Pacific/Kiritimati")
    west = PatientFactory(centre=centre, last_name="West", timezone="Europe/Stockholm")
    with time_machine.travel(datetime(2027, 2, 27, 11, 0, tzinfo=UTC), tick=False):
        for patient in (east, west):
            transplant(patient, DAY0)
        refresh_stale_vaccination_plans()
        assert VaccinationPlanState.objects.count() == 2
        rows = {row.patient.pk: {(d.vaccine, d.dose) for d in row.doses} for row in doses_due(Patient.objects.all())}
        assert ("tdap", 1) in rows[east.pk]
        assert ("tdap", 1) not in rows[west.pk]
        assert due_keys(doses_due(Patient.objects.all())) == live_due(Patient.objects.all())


def test_the_refresh_tasks_take_ids_and_store_the_plan(transplanted):
    assert tasks.refresh_patient_vaccinations(transplanted.pk) == 1
    assert stored_open(transplanted) == rule_open(transplanted)
    Patient.objects.filter(pk=transplanted.pk).update(vaccinations_stale_since=timezone.now())
    assert tasks.refresh_stale_vaccinations() == 1
    assert tasks.refresh_stale_vaccinations() == 0  # nothing marked, nothing missing: a second run does nothing


def test_the_stored_summary_says_when_a_patient_is_listed_and_overdue():
    """`due_summary` (what the list reads) agrees with `status_on` on every day, a zero-day window included."""
    doses = [
        OpenDose("mmr", 1, date(2027, 3, 10), date(2027, 4, 9)),
        OpenDose("tdap", 2, date(2027, 3, 20), date(2027, 3, 20)),
        OpenDose("flu", 3, date(2027, 3, 1), date(2027, 6, 30)),
    ]
    first_due, first_overdue = due_summary(doses)
    assert (first_due, first_overdue) == (date(2027, 3, 1), date(2027, 3, 21))
    for day in (date(2027, 2, 1) + timedelta(days=n) for n in range(200)):
        statuses_today = {d.status_on(day) for d in doses}
        assert (first_due <= day) == bool(statuses_today & {DoseStatus.DUE, DoseStatus.OVERDUE})
        assert (first_overdue <= day) == (DoseStatus.OVERDUE in statuses_today)
    assert due_summary([]) == (None, None)


def test_the_stored_plan_keeps_the_summary_of_its_doses(centre, clock):
    patients = [PatientFactory(centre=centre) for _ in range(3)]
    for i, patient in enumerate(patients):
        transplant(patient, DAY0 - timedelta(days=400 * i))
    rebuild_vaccination_plans()
    for patient in patients:
        state = VaccinationPlanState.objects.get(patient=patient)
        rows = [OpenDose(*row) for row in stored_open(patient)]
        assert rows
        assert (state.first_due, state.first_overdue) == due_summary(rows)


def test_the_migration_fills_the_summary_of_the_plans_stored_before_it(centre, clock):
    """The migration's UPDATE (one for each database) gives the summary `due_summary` gives, a zero-day window
    (a first overdue day that is the due date's next day) included."""
    patients = [PatientFactory(centre=centre) for _ in range(3)]
    for i, patient in enumerate(patients):
        transplant(patient, DAY0 - timedelta(days=300 * i))
    rebuild_vaccination_plans()
    row = PlannedVaccination.objects.filter(patient=patients[0]).first()
    PlannedVaccination.objects.filter(pk=row.pk).update(due_date=date(2020, 1, 31), due_until=date(2020, 1, 31))
    PlannedVaccination.objects.filter(patient=patients[1]).update(due_until=F("due_date"))
    expected = {p.pk: due_summary([OpenDose(*r) for r in stored_open(p)]) for p in patients}
    VaccinationPlanState.objects.update(first_due=None, first_overdue=None)
    migration = importlib.import_module("recovery.migrations.0021_vaccination_due_index")
    migration.fill_summaries(apps, SimpleNamespace(connection=connection))
    stored = VaccinationPlanState.objects.values_list("patient_id", "first_due", "first_overdue")
    assert {pk: (first_due, first_overdue) for pk, first_due, first_overdue in stored} == expected
    assert expected[patients[0].pk] == (date(2020, 1, 31), date(2020, 2, 1))
