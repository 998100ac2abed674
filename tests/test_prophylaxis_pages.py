"""The prophylaxis page: courses from the protocol with their CD4 status, the 'stop date reached, CD4 not yet
recovered' prompt, and the clinician's stop (refused before the protocol allows unless confirmed with a reason)."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.urls import reverse

from recovery.models import AuditEvent, LabResult, ProphylaxisStop
from recovery.queries.prophylaxis import prophylaxis_for, reviews_due
from recovery.services.audit import AuditContext
from recovery.services.prophylaxis import record_prophylaxis_stop
from tests.factories import PatientFactory, transplant

DAY0 = date(2026, 8, 31)  # month 3 is 30 Nov 2026, month 12 is 31 Aug 2027
NOW = datetime(2027, 9, 10, 10, tzinfo=UTC)  # just after month 12


@pytest.fixture
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def transplanted(patient, clock):
    transplant(patient, DAY0, engrafted=DAY0 + timedelta(days=11))
    return patient


def cd4(patient, on: date, value: str):
    LabResult.objects.create(
        patient=patient,
        test="cd4",
        value=Decimal(value),
        unit="x10^9/L",
        collected_at=datetime.combine(on, datetime.min.time(), UTC) + timedelta(hours=9),
    )


def url(patient):
    return reverse("recovery:patient-prophylaxis", args=[patient.uuid])


def stop(patient, clinician, **fields):
    return record_prophylaxis_stop(context=AuditContext(actor=clinician), patient=patient, **fields)


def test_courses_show_start_planned_stop_and_the_cd4_prompt(client_for, coordinator, transplanted):
    html = client_for(coordinator).get(url(transplanted)).content.decode()
    assert 'data-medication="aciclovir" data-status="awaiting_cd4"' in html
    assert 'data-medication="cotrimoxazole" data-status="awaiting_cd4"' in html
    assert 'data-medication="fluconazole" data-status="stop_allowed"' in html
    assert html.count('data-testid="review-prompt"') == 2
    assert "stop date reached, CD4 not yet recovered" in html
    assert 'data-testid="stop-form"' not in html  # coordinators do not stop medication
    assert AuditEvent.objects.filter(action="prophylaxis.view", patient=transplanted).exists()


def test_the_patient_page_card_shows_the_prompt(client_for, clinician, transplanted):
    html = client_for(clinician).get(reverse("recovery:patient-detail", args=[transplanted.uuid])).content.decode()
    assert 'data-testid="care-card"' in html
    assert 'data-testid="review-prompt"' in html


def test_cd4_recovered_allows_the_stop_and_removes_the_prompt(client_for, clinician, transplanted):
    cd4(transplanted, date(2027, 9, 1), "0.24")
    client = client_for(clinician)
    html = client.get(url(transplanted)).content.decode()
    assert 'data-testid="review-prompt"' not in html
    response = client.post(url(transplanted), {"medication": "aciclovir", "stopped_on": "2027-09-05"})
    assert response.status_code == 302
    row = ProphylaxisStop.objects.get()
    assert (row.medication, row.stopped_on, row.stopped_by) == ("aciclovir", date(2027, 9, 5), clinician)
    assert AuditEvent.objects.get(action="prophylaxis.stop").detail["early"] is False


def test_an_early_stop_is_refused_with_the_reason_and_the_typed_values_kept(client_for, clinician, transplanted):
    cd4(transplanted, date(2027, 9, 1), "0.15")
    response = client_for(clinician).post(url(transplanted), {"medication": "aciclovir", "stopped_on": "2027-09-05"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "the latest CD4 (0.15 x10^9/L on 1 Sep 2027) is below it" in html
    assert 'value="2027-09-05"' in html
    assert '<option value="aciclovir" selected>' in html
    assert not ProphylaxisStop.objects.exists()


def test_an_early_stop_with_confirmation_and_a_reason_is_recorded(clinician, transplanted):
    with pytest.raises(ValidationError) as refused:
        stop(transplanted, clinician, medication="aciclovir", stopped_on=date(2027, 9, 5), confirm_early=True)
    assert "give the reason" in refused.value.message_dict["confirm_early"][0]
    row = stop(
        transplanted, clinician, medication="aciclovir", stopped_on=date(2027, 9, 5), confirm_early=True, reason="rash"
    )
    assert row.note == "rash"
    assert AuditEvent.objects.get(action="prophylaxis.stop").detail == {
        "medication": "aciclovir",
        "stopped_on": "2027-09-05",
        "early": True,
        "reason": "rash",
    }


def test_before_the_planned_stop_the_protocol_date_is_the_reason(clinician, transplanted):
    with pytest.raises(ValidationError) as refused:
        stop(transplanted, clinician, medication="aciclovir", stopped_on=date(2027, 6, 1))
    assert "keeps Aciclovir until at least 31 Aug 2027" in refused.value.message_dict["confirm_early"][0]


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        pytest.param(
            {"medication": "aciclovir", "stopped_on": date(2027, 9, 20)}, "stopped_on", "in the future", id="future"
        ),
        pytest.param(
            {"medication": "aciclovir", "stopped_on": date(2026, 8, 1)},
            "stopped_on",
            "cannot stop before",
            id="before_start",
        ),
        pytest.param(
            {"medication": "aspirin", "stopped_on": date(2027, 9, 1)}, "medication", "Unknown medication", id="unknown"
        ),
    ],
)
def test_implausible_stops_are_refused(clinician, transplanted, fields, field, words):
    with pytest.raises(ValidationError) as refused:
        stop(transplanted, clinician, **fields)
    assert words in refused.value.message_dict[field][0]


def test_a_course_cannot_be_stopped_twice(clinician, transplanted):
    stop(transplanted, clinician, medication="fluconazole", stopped_on=date(2026, 9, 12))
    with pytest.raises(ValidationError) as refused:
        stop(transplanted, clinician, medication="fluconazole", stopped_on=date(2026, 9, 13))
    assert "already recorded as stopped" in refused.value.message_dict["medication"][0]
    assert prophylaxis_for(transplanted).courses[2].display == "stopped"


@pytest.mark.parametrize(
    "data",
    [{"medication": "aciclovir", "stopped_on": "yesterday"}, {"medication": "x" * 500, "stopped_on": "2027-09-01"}, {}],
)
def test_garbage_is_a_message_never_a_500(client_for, clinician, transplanted, data):
    assert client_for(clinician).post(url(transplanted), data).status_code == 200


def test_only_clinicians_stop_and_other_centres_get_404(client_for, coordinator, transplanted, other_centre_clinician):
    data = {"medication": "fluconazole", "stopped_on": "2026-09-12"}
    assert client_for(coordinator).post(url(transplanted), data).status_code == 403
    assert client_for(transplanted.user).post(url(transplanted), data).status_code == 403
    assert client_for(other_centre_clinician).post(url(transplanted), data).status_code == 404
    assert not ProphylaxisStop.objects.exists()


def test_without_day0_the_page_explains(client_for, clinician, patient, clock):
    html = client_for(clinician).get(url(patient)).content.decode()
    assert 'data-testid="no-day0"' in html


@pytest.mark.parametrize("count", [2, 30])
def test_reviews_due_costs_the_same_queries_for_few_and_many(centre, clock, count, django_assert_max_num_queries):
    for i in range(count):
        p = PatientFactory(centre=centre, last_name=f"Load{i:02d}")
        transplant(p, DAY0 - timedelta(days=i), engrafted=DAY0 - timedelta(days=i) + timedelta(days=11))
        cd4(p, date(2027, 9, 1), "0.1")
    with django_assert_max_num_queries(4):
        rows = reviews_due(PatientFactory._meta.model.objects.filter(centre=centre))
    assert len(rows) == count
    assert {c.medication for c in rows[0][1]} == {"aciclovir", "cotrimoxazole"}


@pytest.mark.parametrize("cd4_rows", [0, 20])
def test_the_page_queries_do_not_grow_with_cd4_results(
    client_for, clinician, transplanted, cd4_rows, django_assert_max_num_queries
):
    for i in range(cd4_rows):
        cd4(transplanted, DAY0 + timedelta(days=30 + 10 * i), "0.1")
    client = client_for(clinician)
    client.get(url(transplanted))
    with django_assert_max_num_queries(12):
        assert client.get(url(transplanted)).status_code == 200


def test_an_implausible_latest_cd4_is_no_recovery_on_the_page_the_reviews_or_in_fhir(transplanted):
    """A count of 250 (cells/uL, recorded before the plausibility check) after a recovered one: the page, the
    reviews due and the MedicationStatements (`cd4_by_patient`) read the same CD4 counts (`usable_cd4`), so none
    counts it as recovery nor lets the older count stand in for it."""
    from recovery.models import Patient
    from recovery.queries.configuration import active_configs
    from recovery.queries.prophylaxis import cd4_by_patient, cd4_results

    cd4(transplanted, date(2027, 9, 1), "0.24")
    cd4(transplanted, date(2027, 9, 5), "250")
    summary = prophylaxis_for(transplanted)
    assert summary.cd4 is None
    assert {c.medication for c in summary.reviews} == {"aciclovir", "cotrimoxazole"}
    patients = Patient.objects.filter(pk=transplanted.pk)
    [(_patient, waiting)] = reviews_due(patients)
    assert {c.medication for c in waiting} == {"aciclovir", "cotrimoxazole"}
    rows = list(patients.select_related("episode"))
    assert cd4_by_patient(rows, active_configs({transplanted.centre_id})) == {transplanted.pk: []}
    assert cd4_results(transplanted, DAY0) == []
