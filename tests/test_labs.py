"""Lab entry, engraftment proposal and confirmation, the lab alerts, and the lab pages (issue 6)."""

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from recovery.clinical.phases import Flag
from recovery.models import (
    Alert,
    AuditEvent,
    CentreConfiguration,
    EngraftmentConfirmation,
    LabResult,
    Notification,
    Transfusion,
)
from recovery.queries.configuration import active_config
from recovery.queries.labs import engraftment_proposal
from recovery.queries.prophylaxis import cd4_results, prophylaxis_for
from recovery.queries.timeline import current_state, patient_today
from recovery.services.audit import AuditContext
from recovery.services.engraftment import (
    KIND_DELAYED,
    KIND_GRAFT_FAILURE,
    check_engraftment_alerts,
    confirm_engraftment,
)
from recovery.services.labs import KIND_EBV, record_lab_panel, record_lab_result
from tests.factories import transplant

pytestmark = pytest.mark.django_db


def _at(patient, day, hour=7):
    """An aware time on `day` (a date) at `hour` in the patient's zone."""
    return datetime.combine(day, time(hour, 0), tzinfo=patient.tz)


def _counts(patient, day0, anc_by_day, platelets_by_day=None, actor=None):
    context = AuditContext(actor=actor) if actor else AuditContext.system("tests")
    platelets_by_day = platelets_by_day or {}
    for offset in sorted(set(anc_by_day) | set(platelets_by_day)):
        values = {}
        if offset in anc_by_day:
            values["anc"] = str(anc_by_day[offset])
        if offset in platelets_by_day:
            values["platelets"] = str(platelets_by_day[offset])
        record_lab_panel(
            context=context, patient=patient, collected_at=_at(patient, day0 + timedelta(days=offset)), values=values
        )


@pytest.fixture
def engrafting(patient):
    """Day 0 was 14 days ago; ANC fell below 0.5 on D+3 and is >= 0.5 from D+11 on."""
    today = patient_today(patient)
    day0 = today - timedelta(days=14)
    transplant(patient, day0)
    anc = {1: 2.1, 2: 1.0, 3: 0.3, 5: 0.05, 7: 0.02, 9: 0.1, 10: 0.4, 11: 0.6, 12: 0.9, 13: 1.4}
    platelets = {1: 90, 3: 40, 5: 15, 7: 11, 9: 14, 10: 22, 11: 25, 12: 31, 13: 40}
    _counts(patient, day0, anc, platelets)
    return day0


def test_a_panel_is_stored_in_canonical_units_and_audited(patient, clinician):
    """Each value of the day's panel becomes one result in its canonical unit, and the entry is audited."""
    day0 = patient_today(patient) - timedelta(days=5)
    transplant(patient, day0)
    outcome = record_lab_panel(
        context=AuditContext(actor=clinician),
        patient=patient,
        collected_at=_at(patient, day0 + timedelta(days=4)),
        values={"anc": "0,3", "platelets": "21", "haemoglobin": "", "ebv_pcr": "1 200"},
    )
    stored = {r.test: (r.value, r.unit) for r in outcome.created}
    assert stored == {
        "anc": (Decimal("0.3"), "x10^9/L"),
        "platelets": (Decimal("21"), "x10^9/L"),
        "ebv_pcr": (Decimal("1200"), "copies/mL"),
    }
    assert AuditEvent.objects.filter(patient=patient, action="labs.record").count() == 1


def test_an_implausible_value_saves_nothing_and_names_the_test(patient, clinician):
    """One implausible value (platelets typed in cells/uL) refuses the whole panel with a message on that test."""
    transplant(patient, patient_today(patient) - timedelta(days=5))
    with pytest.raises(ValidationError) as exc:
        record_lab_panel(
            context=AuditContext(actor=clinician),
            patient=patient,
            collected_at=timezone.now() - timedelta(hours=1),
            values={"anc": "0.4", "platelets": "21000"},
        )
    assert "platelets" in exc.value.message_dict
    assert "21000 /µL is 21 \u00d710^9/L — did you mean 21?" in exc.value.message_dict["platelets"][0]
    assert not LabResult.objects.exists()


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("<500", "not a measured value"),
        ("1,500", "ambiguous"),
        ("abc", "not a number"),
        ("nan", "not a plausible result"),
        ("1e400", "not a plausible result"),
        ("-1", "is not possible"),
        ("60", "60 cells/µL is 0.06 \u00d710^9/L — did you mean 0.06?"),
        ("50.0001", "is not possible"),
    ],
)
def test_values_that_are_not_results_are_refused_with_a_message(patient, clinician, raw, message):
    """Text, ambiguous separators, infinities and negative counts are refused; nothing gives a 500."""
    with pytest.raises(ValidationError) as exc:
        record_lab_panel(
            context=AuditContext(actor=clinician),
            patient=patient,
            collected_at=timezone.now() - timedelta(hours=1),
            values={"anc": raw},
        )
    assert message in " ".join(exc.value.message_dict["anc"])


def test_a_future_collection_time_is_refused(patient, clinician):
    with pytest.raises(ValidationError) as exc:
        record_lab_panel(
            context=AuditContext(actor=clinician),
            patient=patient,
            collected_at=timezone.now() + timedelta(days=1),
            values={"anc": "1.0"},
        )
    assert "future" in exc.value.message_dict["collected_at"][0]


def test_the_same_sample_twice_is_a_duplicate_and_another_value_is_refused(patient, clinician):
    """Entering the same panel again adds nothing; the same sample with another value is refused."""
    at = timezone.now() - timedelta(hours=2)
    context = AuditContext(actor=clinician)
    record_lab_panel(context=context, patient=patient, collected_at=at, values={"anc": "0.4"})
    again = record_lab_panel(context=context, patient=patient, collected_at=at, values={"anc": "0.40"})
    assert again.created == []
    assert len(again.duplicates) == 1
    with pytest.raises(ValidationError, match="already recorded"):
        record_lab_panel(context=context, patient=patient, collected_at=at, values={"anc": "0.5"})
    assert LabResult.objects.count() == 1


def test_engraftment_is_proposed_from_three_days_at_or_above_the_threshold(patient, engrafting):
    """ANC >= 0.5 on D+11, D+12, D+13 proposes D+11; platelets >= 20 from D+10 (no transfusion) propose D+10."""
    status = engraftment_proposal(patient)
    assert status.neutrophil.proposed == engrafting + timedelta(days=11)
    assert status.platelet.proposed == engrafting + timedelta(days=10)
    assert status.neutrophil.recorded is None
    assert status.neutrophil.awaiting_confirmation
    assert status.nadir_started == engrafting + timedelta(days=3)


def test_a_platelet_transfusion_in_the_week_before_delays_platelet_engraftment(patient, engrafting):
    """A platelet transfusion on D+9 means the run from D+10 does not count (7 transfusion-free days)."""
    record_lab_panel(
        context=AuditContext.system("tests"),
        patient=patient,
        collected_at=_at(patient, engrafting + timedelta(days=9), hour=9),
        values={"wbc": "0.5"},
        platelet_transfusion_at=_at(patient, engrafting + timedelta(days=9), hour=10),
    )
    assert Transfusion.objects.filter(patient=patient).count() == 1
    assert engraftment_proposal(patient).platelet.proposed is None


@pytest.mark.parametrize(
    ("transfusion_day", "expected_day"),
    [
        pytest.param(2, 10, id="8_days_before_the_first_count"),
        pytest.param(3, 10, id="7_days_before_is_transfusion_free"),
        pytest.param(4, 11, id="6_days_before_supports_the_count"),
        pytest.param(10, None, id="on_the_first_count_day"),
    ],
)
def test_the_platelet_transfusion_window_follows_the_cibmtr_example(patient, engrafting, transfusion_day, expected_day):
    """Platelets >= 20 from D+10 (D+10 to D+13): a count counts only 7 or more days after a platelet transfusion."""
    record_lab_panel(
        context=AuditContext.system("tests"),
        patient=patient,
        collected_at=_at(patient, engrafting + timedelta(days=transfusion_day), hour=6),
        values={"wbc": "0.5"},
        platelet_transfusion_at=_at(patient, engrafting + timedelta(days=transfusion_day), hour=10),
    )
    expected = None if expected_day is None else engrafting + timedelta(days=expected_day)
    assert engraftment_proposal(patient).platelet.proposed == expected


@pytest.mark.parametrize(
    ("values", "expected_day"),
    [
        pytest.param([(11, 7, "0.6"), (11, 12, "0.7"), (11, 18, "0.8")], None, id="three_values_one_day"),
        pytest.param([(11, 7, "0.6"), (11, 18, "0.7"), (12, 7, "0.8")], None, id="three_values_two_days"),
        pytest.param([(11, 7, "0.6"), (12, 7, "0.7"), (13, 7, "0.8")], 11, id="three_days"),
        pytest.param([(11, 7, "0.6"), (13, 7, "0.7"), (14, 7, "0.8")], 11, id="three_days_with_a_gap"),
    ],
)
def test_same_day_repeats_never_propose_engraftment_early(patient, values, expected_day):
    """Three ANC >= 0.5 on one day (or two) are not three laboratory values on different days."""
    day0 = patient_today(patient) - timedelta(days=15)
    transplant(patient, day0)
    _counts(patient, day0, {3: 0.2, 6: 0.0})
    for offset, hour, anc in values:
        record_lab_result(
            context=AuditContext.system("tests"),
            patient=patient,
            test="anc",
            value=anc,
            collected_at=_at(patient, day0 + timedelta(days=offset), hour=hour),
        )
    expected = None if expected_day is None else day0 + timedelta(days=expected_day)
    assert engraftment_proposal(patient).neutrophil.proposed == expected


def _never_below(patient, day0, last_day: int, low_on: int | None = None):
    """ANC 1.2 every other day from Day 0 to D+`last_day` (0.49 on D+`low_on`)."""
    anc = dict.fromkeys(range(0, last_day + 1, 2), 1.2)
    anc[last_day] = 1.2
    if low_on is not None:
        anc[low_on] = 0.49
    _counts(patient, day0, anc)


@pytest.mark.parametrize("day", [21, 30])
def test_a_patient_whose_anc_never_fell_raises_no_engraftment_alert(patient, day):
    """ANC never below 0.5 after Day 0 (no aplasia): shown as "never below", no delayed or graft-failure alert."""
    day0 = patient_today(patient) - timedelta(days=day)
    transplant(patient, day0)
    _never_below(patient, day0, last_day=day - 1)  # not today: the morning count may be in the future
    status = engraftment_proposal(patient)
    assert status.neutrophil.state == "never_below"
    assert status.neutrophil.proposed is None
    assert status.flags == ()
    assert check_engraftment_alerts(today=patient_today(patient)) == []
    assert not Alert.objects.filter(patient=patient).exists()


@pytest.mark.parametrize(
    ("last_day", "low_on", "state", "alerts"),
    [
        pytest.param(14, None, "never_below", []),
        pytest.param(13, None, "not_yet", [KIND_DELAYED]),  # too early to tell: counts stop before D+14
        pytest.param(21, 5, "proposed", [KIND_DELAYED]),  # one 0.49: aplasia, engraftment to confirm
        pytest.param(21, 0, "proposed", [KIND_DELAYED]),  # below on Day 0 itself
    ],
)
def test_never_below_needs_every_count_at_or_above_through_D14(patient, last_day, low_on, state, alerts):
    day0 = patient_today(patient) - timedelta(days=22)
    transplant(patient, day0)
    _never_below(patient, day0, last_day=last_day, low_on=low_on)
    assert engraftment_proposal(patient).neutrophil.state == state
    assert [a.kind for a in check_engraftment_alerts(today=patient_today(patient))] == alerts


def test_the_labs_page_shows_never_below(client_for, clinician, patient):
    day0 = patient_today(patient) - timedelta(days=22)
    transplant(patient, day0)
    _never_below(patient, day0, last_day=21)
    page = client_for(clinician).get(reverse("recovery:patient-labs", args=[patient.uuid])).content.decode()
    assert 'data-state="never_below"' in page
    assert "Never fell below 0.5" in page
    assert "no aplasia" in page
    assert 'data-testid="flag"' not in page


def test_a_stored_count_in_the_wrong_unit_proposes_nothing_and_is_named(client_for, clinician, patient, engrafting):
    """A count stored before the check (ANC 60: 60 cells/uL) proposes no date, is named on the page, and the
    engraftment alerts still run (it is not "never below")."""
    at = _at(patient, engrafting + timedelta(days=12), hour=15)
    LabResult.objects.create(patient=patient, test="anc", value="60", unit="x10^9/L", collected_at=at)
    status = engraftment_proposal(patient)
    assert status.neutrophil.proposed is None
    assert status.neutrophil.state == "not_yet"
    assert status.platelet.proposed is not None  # the platelets are not affected
    (problem,) = status.problems
    assert "An ANC of 60 \u00d710^9/L is not possible" in problem
    assert "did you mean 0.06?" in problem
    page = client_for(clinician).get(reverse("recovery:patient-labs", args=[patient.uuid])).content.decode()
    assert "An ANC of 60" in page
    day0 = engrafting
    assert [a.kind for a in check_engraftment_alerts(today=day0 + timedelta(days=21))] == [KIND_DELAYED]


def test_a_stored_cd4_in_the_wrong_unit_never_counts_as_recovery(client_for, clinician, patient):
    """CD4 0.3 at D+90 then "250" (cells/uL, stored before the check) at D+180: not recovered, anywhere."""
    day0 = patient_today(patient) - timedelta(days=200)
    transplant(patient, day0, engrafted=day0 + timedelta(days=11))
    for offset, value in ((90, "0.3"), (180, "250")):
        at = _at(patient, day0 + timedelta(days=offset))
        LabResult.objects.create(patient=patient, test="cd4", value=value, unit="x10^9/L", collected_at=at)
    assert cd4_results(patient, day0) == []
    summary = prophylaxis_for(patient)
    assert not any(course.plan.cd4_recovered for course in summary.courses)
    page = client_for(clinician).get(reverse("recovery:patient-immune", args=[patient.uuid])).content.decode()
    assert "prophylaxis that waits for CD4 may be stopped" not in page
    LabResult.objects.create(
        patient=patient, test="cd4", value="0.25", unit="x10^9/L", collected_at=_at(patient, day0 + timedelta(days=190))
    )
    assert [str(v) for _, v in cd4_results(patient, day0)] == ["0.2500"]
    page = client_for(clinician).get(reverse("recovery:patient-immune", args=[patient.uuid])).content.decode()
    assert "prophylaxis that waits for CD4 may be stopped" in page


def test_a_clinician_confirms_engraftment_and_the_patient_leaves_aplasia(patient, clinician, engrafting):
    """Confirming the proposed date saves it on the episode: the phase moves on and the confirmation is kept."""
    config = active_config(patient.centre_id)
    assert current_state(patient, config).phase == "aplasia"
    proposed = engraftment_proposal(patient).neutrophil.proposed
    confirmation = confirm_engraftment(
        context=AuditContext(actor=clinician), patient=patient, kind="neutrophil", on=proposed
    )
    patient.refresh_from_db()
    assert patient.episode.neutrophil_engraftment_date == proposed
    assert confirmation.proposed_date == proposed
    assert confirmation.confirmed_by == clinician
    assert current_state(patient, config).phase == "early_recovery"
    assert AuditEvent.objects.filter(patient=patient, action="engraftment.confirm").exists()
    assert engraftment_proposal(patient).engrafted


def test_another_date_than_the_proposal_needs_a_note(patient, clinician, engrafting):
    """A clinician may enter another date, but must say why."""
    other = engrafting + timedelta(days=12)
    context = AuditContext(actor=clinician)
    with pytest.raises(ValidationError) as exc:
        confirm_engraftment(context=context, patient=patient, kind="neutrophil", on=other)
    assert "note" in exc.value.message_dict
    confirm_engraftment(context=context, patient=patient, kind="neutrophil", on=other, note="D+11 count haemolysed")
    patient.refresh_from_db()
    assert patient.episode.neutrophil_engraftment_date == other


def test_an_engraftment_date_on_day0_or_in_the_future_is_refused(patient, clinician, engrafting):
    context = AuditContext(actor=clinician)
    for on in (engrafting, patient_today(patient) + timedelta(days=1)):
        with pytest.raises(ValidationError) as exc:
            confirm_engraftment(context=context, patient=patient, kind="neutrophil", on=on, note="x")
        assert "on" in exc.value.message_dict
    assert not EngraftmentConfirmation.objects.exists()


def test_only_a_clinician_confirms_engraftment(patient, coordinator, engrafting):
    with pytest.raises(PermissionDenied):
        confirm_engraftment(
            context=AuditContext(actor=coordinator),
            patient=patient,
            kind="neutrophil",
            on=engrafting + timedelta(days=11),
        )


def test_delayed_engraftment_and_possible_graft_failure_raise_alerts_once(patient):
    """D+21 without engraftment raises a delayed-engraftment alert; D+30 a possible-graft-failure alert; once each."""
    day0 = patient_today(patient) - timedelta(days=25)
    transplant(patient, day0)
    assert check_engraftment_alerts(today=day0 + timedelta(days=20)) == []
    raised = check_engraftment_alerts(today=day0 + timedelta(days=21))
    assert [a.kind for a in raised] == [KIND_DELAYED]
    alert = raised[0]
    assert alert.rule == "engraftment.delayed"
    assert alert.config_version == 0
    assert alert.severity == "same_day"
    assert Notification.objects.filter(alert=alert).exists()  # escalation planned
    assert check_engraftment_alerts(today=day0 + timedelta(days=22)) == []
    alert.status = "resolved"
    alert.save()
    assert check_engraftment_alerts(today=day0 + timedelta(days=23)) == []  # dealt with: not raised again
    raised = check_engraftment_alerts(today=day0 + timedelta(days=30))
    assert [a.kind for a in raised] == [KIND_GRAFT_FAILURE]
    assert Alert.objects.filter(patient=patient).count() == 2


def test_the_alerts_and_the_phase_flags_follow_the_same_centre_threshold(patient):
    """A centre that flags delayed engraftment from D+18 gets the alert and the phase flag on the same day."""
    CentreConfiguration.objects.create(
        centre=patient.centre, version=1, values={"phase": {"delayed_engraftment_day": 18}}
    )
    day0 = patient_today(patient) - timedelta(days=18)
    transplant(patient, day0)
    config = active_config(patient.centre_id)
    for day in (17, 18):
        state = current_state(patient, config, today=day0 + timedelta(days=day))
        raised = check_engraftment_alerts(today=day0 + timedelta(days=day))
        assert (Flag.DELAYED_ENGRAFTMENT in state.flags) is (day == 18)
        assert [a.kind for a in raised] == ([KIND_DELAYED] if day == 18 else [])


def test_no_engraftment_alert_for_an_engrafted_patient(patient):
    day0 = patient_today(patient) - timedelta(days=40)
    transplant(patient, day0, engrafted=day0 + timedelta(days=11))
    assert check_engraftment_alerts() == []


def test_an_ebv_load_above_the_threshold_raises_an_alert(patient, clinician):
    """EBV DNA above 500,000 copies/mL raises one EBV alert; a later high load adds to it."""
    transplant(patient, patient_today(patient) - timedelta(days=40))
    context = AuditContext(actor=clinician)
    record_lab_result(
        context=context,
        patient=patient,
        test="ebv_pcr",
        value="500000",
        collected_at=timezone.now() - timedelta(days=8),
    )
    assert not Alert.objects.filter(kind=KIND_EBV).exists()  # at the threshold is not above it
    record_lab_result(
        context=context,
        patient=patient,
        test="ebv_pcr",
        value="750000",
        collected_at=timezone.now() - timedelta(days=1),
    )
    alert = Alert.objects.get(kind=KIND_EBV)
    assert alert.rule == "ebv.above_threshold"
    assert "750,000" in alert.reason
    record_lab_result(
        context=context,
        patient=patient,
        test="ebv_pcr",
        value="900000",
        collected_at=timezone.now() - timedelta(hours=1),
    )
    assert Alert.objects.filter(kind=KIND_EBV).count() == 1


def test_an_old_high_ebv_load_entered_after_a_newer_one_raises_nothing(patient, clinician):
    context = AuditContext(actor=clinician)
    record_lab_result(context=context, patient=patient, test="ebv_pcr", value="0", collected_at=timezone.now())
    record_lab_result(
        context=context,
        patient=patient,
        test="ebv_pcr",
        value="900000",
        collected_at=timezone.now() - timedelta(days=30),
    )
    assert not Alert.objects.filter(kind=KIND_EBV).exists()


# Pages ------------------------------------------------------------------------------------------------------


def test_the_labs_page_shows_the_proposal_and_a_clinician_confirms_it(client_for, clinician, patient, engrafting):
    """The page says "Proposed" with the Day number; posting the confirmation moves the patient on."""
    client = client_for(clinician)
    url = reverse("recovery:patient-labs", args=[patient.uuid])
    page = client.get(url).content.decode()
    assert "Proposed:" in page
    assert "Day +11" in page
    assert "Aplasia" in page
    proposed = engrafting + timedelta(days=11)
    response = client.post(
        reverse("recovery:engraftment-confirm", args=[patient.uuid, "neutrophil"]),
        {"confirm-neutrophil-on": proposed.isoformat()},
    )
    assert response.status_code == 302
    page = client.get(url).content.decode()
    assert "Engrafted on" in page
    assert "Confirmed by" in page
    assert AuditEvent.objects.filter(patient=patient, action="labs.view").exists()


def test_the_panel_form_keeps_what_was_typed_with_the_message(client_for, coordinator, patient):
    """An implausible value comes back as typed with the reason, and nothing is saved."""
    transplant(patient, patient_today(patient) - timedelta(days=6))
    response = client_for(coordinator).post(
        reverse("recovery:lab-panel-add", args=[patient.uuid]),
        {
            "panel-collected_at": (timezone.localtime(timezone.now(), patient.tz) - timedelta(hours=1)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "panel-anc": "0.35",
            "panel-platelets": "18000",
        },
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert 'value="18000"' in page
    assert 'value="0.35"' in page
    assert "18000 /µL is 18 \u00d710^9/L — did you mean 18?" in page
    assert not LabResult.objects.exists()


def test_a_coordinator_enters_a_panel_but_may_not_confirm(client_for, coordinator, patient, engrafting):
    client = client_for(coordinator)
    url = reverse("recovery:patient-labs", args=[patient.uuid])
    response = client.post(
        reverse("recovery:lab-panel-add", args=[patient.uuid]),
        {
            "panel-collected_at": (timezone.localtime(timezone.now(), patient.tz) - timedelta(minutes=30)).strftime(
                "%Y-%m-%dT%H:%M"
            ),
            "panel-anc": "1.2",
            "panel-cd4": "0.05",
        },
    )
    assert response.status_code == 302
    assert "confirm-neutrophil-form" not in client.get(url).content.decode()
    confirm = reverse("recovery:engraftment-confirm", args=[patient.uuid, "neutrophil"])
    response = client.post(confirm, {"confirm-neutrophil-on": "2025-01-01"})
    assert response.status_code == 403


def test_garbage_posts_to_the_labs_forms_never_give_a_500(client_for, clinician, patient):
    client = client_for(clinician)
    labs = reverse("recovery:patient-labs", args=[patient.uuid])
    panel = reverse("recovery:lab-panel-add", args=[patient.uuid])
    transfusion = reverse("recovery:transfusion-add", args=[patient.uuid])
    confirm = reverse("recovery:engraftment-confirm", args=[patient.uuid, "neutrophil"])
    assert client.post(labs, {}).status_code == 405  # the page itself takes no POST: each form has its URL
    for url, data in (
        (reverse("recovery:engraftment-confirm", args=[patient.uuid, "x"]), {}),
        (confirm, {}),
        (confirm, {"confirm-neutrophil-on": "2025-02-30"}),
        (panel, {}),
        (panel, {"panel-collected_at": "yesterday", "panel-anc": "\x00"}),
        (transfusion, {"transfusion-product": "plasma", "transfusion-given_at": "9999-99-99T99:99"}),
    ):
        assert client.post(url, data).status_code in (200, 400, 404), (url, data)  # 400: a NUL, in words


@pytest.mark.parametrize("rows", [2, 40])
def test_the_labs_page_query_count_does_not_grow_with_results(
    client_for, clinician, patient, django_assert_max_num_queries, rows
):
    """The labs page costs the same number of queries with 2 or 40 panels."""
    day0 = patient_today(patient) - timedelta(days=rows + 1)
    transplant(patient, day0)
    for offset in range(1, rows + 1):
        at = _at(patient, day0 + timedelta(days=offset))
        LabResult.objects.create(patient=patient, test="anc", value="0.3", unit="x10^9/L", collected_at=at)
        LabResult.objects.create(patient=patient, test="platelets", value="30", unit="x10^9/L", collected_at=at)
        Transfusion.objects.create(patient=patient, product="platelets", given_at=at)
    client = client_for(clinician)
    with django_assert_max_num_queries(30):
        response = client.get(reverse("recovery:patient-labs", args=[patient.uuid]))
    assert response.status_code == 200


@pytest.mark.parametrize("rows", [2, 40])
def test_the_immune_page_query_count_does_not_grow_with_results(
    client_for, clinician, patient, django_assert_max_num_queries, rows
):
    day0 = patient_today(patient) - timedelta(days=rows * 10)
    transplant(patient, day0, engrafted=day0 + timedelta(days=11))
    for offset in range(1, rows + 1):
        at = _at(patient, day0 + timedelta(days=offset * 10))
        for test, value in (("cd4", "0.1"), ("cd19", "0.05"), ("igg", "5.5"), ("ebv_pcr", "100"), ("cmv_pcr", "0")):
            LabResult.objects.create(patient=patient, test=test, value=value, unit="x", collected_at=at)
    client = client_for(clinician)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("recovery:patient-immune", args=[patient.uuid]))
    assert response.status_code == 200
    assert b"cd4-chart" in response.content


def test_the_patient_reads_their_cd4_in_plain_words(client_for, patient):
    """The patient's page says where CD4 is and what the team waits for."""
    day0 = patient_today(patient) - timedelta(days=200)
    transplant(patient, day0, engrafted=day0 + timedelta(days=11))
    LabResult.objects.create(
        patient=patient, test="cd4", value="0.15", unit="x10^9/L", collected_at=_at(patient, day0 + timedelta(days=180))
    )
    page = client_for(patient.user).get(reverse("recovery:my-immune")).content.decode()
    assert "Your CD4 cells, which fight infections, are at 0.15" in page
    assert "waits for 0.2" in page
    assert AuditEvent.objects.filter(patient=patient, action="immune.view_own").exists()
    assert (
        reverse("recovery:my-immune") in client_for(patient.user).get(reverse("recovery:my-recovery")).content.decode()
    )


def test_confirming_a_late_engraftment_resolves_the_delayed_engraftment_alert(patient, clinician):
    """Day +23 without engraftment has raised the alert; the clinician confirms engraftment on Day +22 and
    the alert is resolved with that answer in its note."""
    day0 = patient_today(patient) - timedelta(days=23)
    transplant(patient, day0)
    (alert,) = check_engraftment_alerts(today=patient_today(patient))
    assert alert.kind == KIND_DELAYED
    confirm_engraftment(
        context=AuditContext(actor=clinician),
        patient=patient,
        kind="neutrophil",
        on=day0 + timedelta(days=22),
        note="Counts from the referring hospital",
    )
    alert.refresh_from_db()
    assert alert.status == "resolved"
    assert "engraftment confirmed" in alert.resolution_note


def test_a_large_viral_load_is_shown_in_plain_digits(client_for, clinician, patient):
    """500,000 copies/mL is never shown as 5E+5, on the labs page or the immune page."""
    transplant(
        patient, patient_today(patient) - timedelta(days=40), engrafted=patient_today(patient) - timedelta(days=29)
    )
    record_lab_panel(
        context=AuditContext(actor=clinician),
        patient=patient,
        collected_at=timezone.now() - timedelta(hours=1),
        values={"ebv_pcr": "500000"},
    )
    client = client_for(clinician)
    for page in ("labs", "immune"):
        content = client.get(f"/patients/{patient.uuid}/{page}/").content.decode()
        assert "E+" not in content
        assert "500000" in content.replace(",", "").replace("\u202f", "").replace("&#x202f;", "")


def test_the_migration_moves_a_labs_engraftment_day_to_the_phase_block(centre):
    """A centre that set the flag days in the labs block keeps them, now in the phase block."""
    import importlib

    from django.apps import apps

    moved = CentreConfiguration.objects.create(
        centre=centre, version=1, values={"labs": {"delayed_engraftment_day": 18, "ebv_alert_copies": 1000}}
    )
    kept = CentreConfiguration.objects.create(
        centre=centre,
        version=2,
        values={"labs": {"possible_graft_failure_day": 40}, "phase": {"possible_graft_failure_day": 35}},
    )
    importlib.import_module("recovery.migrations.0009_one_engraftment_threshold").move_to_phase(apps, None)
    moved.refresh_from_db()
    kept.refresh_from_db()
    assert moved.values == {"labs": {"ebv_alert_copies": 1000}, "phase": {"delayed_engraftment_day": 18}}
    assert kept.values == {"labs": {}, "phase": {"possible_graft_failure_day": 35}}
