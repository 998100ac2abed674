"""/api/v1/patients/{id}/transplant/ and /timeline/, and the ?phase= filter of /api/v1/patients/ (api.md).

"Now" is fixed with time_machine. The cast's patients live in Europe/Stockholm (UTC+1 in winter), so at
23:30 UTC it is already the next day for them: the Day number and event statuses follow their date.
"""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from recovery.models import AuditEvent, ProtocolEvent, TimelineEvent, TransplantEpisode
from recovery.services.audit import AuditContext
from recovery.services.timeline import change_event
from tests.factories import PatientFactory

NOW = datetime(2025, 3, 10, 10, 0, tzinfo=UTC)  # 11:00 on 10 March in Stockholm
LATE_EVENING_UTC = datetime(2025, 3, 9, 23, 30, tzinfo=UTC)  # already 00:30 on 10 March in Stockholm

# A Cy/ATG transplant with Day 0 two days before NOW: the patient is in aplasia on Day +2.
BASE = {
    "regimen": "cy_atg",
    "mobilisation_date": "2025-01-20",
    "apheresis_date": "2025-01-30",
    "conditioning_start_date": "2025-03-03",
    "reinfusion_date": "2025-03-08",
}

DATE_FIELDS = [
    "mobilisation_date",
    "gcsf_start_date",
    "apheresis_date",
    "cryostorage_date",
    "admission_date",
    "conditioning_start_date",
    "reinfusion_date",
    "neutrophil_engraftment_date",
    "platelet_engraftment_date",
    "discharge_date",
]


@pytest.fixture
def now():
    with time_machine.travel(NOW, tick=False):
        yield NOW


def transplant_url(patient) -> str:
    return f"/api/v1/patients/{patient.uuid}/transplant/"


def timeline_url(patient) -> str:
    return f"/api/v1/patients/{patient.uuid}/timeline/"


def put_base(api_for, coordinator, patient, **changes):
    response = api_for(coordinator).put(transplant_url(patient), {**BASE, **changes}, format="json")
    assert response.status_code == 200, response.json()
    return response.json()


def planned_dates(patient) -> dict[str, date]:
    return dict(TimelineEvent.objects.filter(episode__patient=patient).values_list("template_key", "planned_date"))


def event(patient, key: str) -> TimelineEvent:
    return TimelineEvent.objects.select_related("episode__patient").get(episode__patient=patient, template_key=key)


# Reading and writing the transplant ---------------------------------------------------------------------


def test_transplant_without_an_episode_is_evaluation_with_null_dates(api_for, coordinator, patient, now):
    """A patient with no episode yet reads as 200 with every date null, in evaluation, without a Day number."""
    response = api_for(coordinator).get(transplant_url(patient))
    assert response.status_code == 200
    body = response.json()
    assert all(body[name] is None for name in [*DATE_FIELDS, "regimen", "cd34_dose"])
    assert body["phase"] == "evaluation"
    assert body["day"] is None
    assert body["infection_risk"] == "baseline"
    assert body["flags"] == []
    assert body["proposed_neutrophil_engraftment_date"] is None
    assert body["proposed_platelet_engraftment_date"] is None
    assert body["config_version"] == 0
    assert not TransplantEpisode.objects.exists()


def test_put_creates_the_episode_its_timeline_and_answers_the_phase(api_for, coordinator, patient, now):
    """PUT creates the episode with the regimen, generates the timeline and answers aplasia on Day +2."""
    body = put_base(api_for, coordinator, patient, cd34_dose="4.20")
    assert body["regimen"] == "cy_atg"
    assert body["reinfusion_date"] == "2025-03-08"
    assert body["cd34_dose"] == "4.20"
    assert (body["phase"], body["day"], body["infection_risk"], body["flags"]) == ("aplasia", 2, "high", [])
    assert body["warnings"] == []
    assert body["proposed_neutrophil_engraftment_date"] is None
    episode = TransplantEpisode.objects.get(patient=patient)
    assert episode.protocol.code == "cy_atg"
    template = ProtocolEvent.objects.filter(template__code="cy_atg")
    # Every event whose anchor date is known; none yet on engraftment or discharge.
    assert episode.events.count() == template.exclude(anchor__in=["neutrophil_engraftment", "discharge"]).count()
    assert AuditEvent.objects.filter(patient=patient, action="transplant.create", actor=coordinator).exists()


@pytest.mark.parametrize(
    ("dates", "phase", "day", "flags"),
    [
        (dict.fromkeys(DATE_FIELDS), "evaluation", None, []),
        ({"mobilisation_date": "2025-03-01"}, "mobilisation", None, []),
        ({"mobilisation_date": "2025-02-28", "apheresis_date": "2025-03-09"}, "collection", None, []),
        ({"conditioning_start_date": "2025-03-08", "reinfusion_date": "2025-03-13"}, "conditioning", -3, []),
        ({"reinfusion_date": "2025-03-10"}, "aplasia", 0, []),
        ({"reinfusion_date": "2025-02-10"}, "aplasia", 28, ["delayed_engraftment"]),
        ({"reinfusion_date": "2025-02-01"}, "aplasia", 37, ["delayed_engraftment", "possible_graft_failure"]),
        ({"reinfusion_date": "2025-01-01", "neutrophil_engraftment_date": "2025-01-12"}, "early_recovery", 68, []),
        ({"reinfusion_date": "2024-10-01", "neutrophil_engraftment_date": "2024-10-12"}, "recovery", 160, []),
        ({"reinfusion_date": "2024-03-01", "neutrophil_engraftment_date": "2024-03-12"}, "reconstitution", 374, []),
        ({"reinfusion_date": "2022-01-10", "neutrophil_engraftment_date": "2022-01-20"}, "follow_up", 1155, []),
    ],
    ids=[
        "no-dates",
        "mobilisation",
        "collection",
        "conditioning",
        "day0",
        "delayed-engraftment",
        "graft-failure",
        "early-recovery",
        "recovery",
        "reconstitution",
        "follow-up",
    ],
)
def test_put_answers_the_phase_day_and_flags_for_today(api_for, coordinator, patient, now, dates, phase, day, flags):
    """The PUT response carries the phase, Day number and engraftment flags the dates give for today."""
    response = api_for(coordinator).put(transplant_url(patient), dates, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["phase"], body["day"], body["flags"]) == (phase, day, flags)


def test_day_is_counted_in_the_patients_time_zone(api_for, coordinator, patient):
    """At 23:30 UTC on 9 March it is 10 March in Stockholm: Day 0 on 10 March is today, not tomorrow."""
    with time_machine.travel(LATE_EVENING_UTC, tick=False):
        body = put_base(
            api_for, coordinator, patient, conditioning_start_date="2025-03-05", reinfusion_date="2025-03-10"
        )
        assert (body["phase"], body["day"], body["infection_risk"]) == ("aplasia", 0, "high")
        assert api_for(coordinator).get(transplant_url(patient)).json()["day"] == 0


def test_engraftment_recorded_on_the_patients_today_is_not_in_the_future(api_for, coordinator, patient):
    """Engraftment dated the patient's today is accepted even though it is still yesterday in UTC."""
    with time_machine.travel(LATE_EVENING_UTC, tick=False):
        body = put_base(api_for, coordinator, patient, neutrophil_engraftment_date="2025-03-10")
    assert (body["phase"], body["day"]) == ("early_recovery", 2)


def test_put_replaces_the_episode_and_missing_fields_become_null(api_for, coordinator, patient, now):
    """A PUT without a field clears it, and the events anchored on cleared dates go (once confirmed: it is
    destructive, so without `confirm` it is a 409 that changes nothing)."""
    put_base(api_for, coordinator, patient, cd34_dose="3.00", discharge_date="2025-03-09")
    sent = {"regimen": "cy_atg", "mobilisation_date": "2025-01-20"}
    unconfirmed = api_for(coordinator).put(transplant_url(patient), sent, format="json")
    assert unconfirmed.status_code == 409
    assert TransplantEpisode.objects.get(patient=patient).reinfusion_date == date(2025, 3, 8)
    response = api_for(coordinator).put(transplant_url(patient), {**sent, "confirm": True}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["mobilisation_date"] == "2025-01-20"
    assert all(body[name] is None for name in DATE_FIELDS if name != "mobilisation_date")
    assert body["cd34_dose"] is None
    assert (body["phase"], body["day"]) == ("mobilisation", None)
    remaining = ProtocolEvent.objects.filter(template__code="cy_atg", key__in=list(planned_dates(patient)))
    assert set(remaining.values_list("anchor", flat=True)) == {"mobilisation"}


def test_patch_changes_only_what_is_sent(api_for, coordinator, patient, now):
    """PATCH sets the fields sent and leaves the others as they were."""
    put_base(api_for, coordinator, patient, cd34_dose="3.00")
    response = api_for(coordinator).patch(
        transplant_url(patient), {"gcsf_start_date": "2025-01-21", "admission_date": "2025-03-02"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["gcsf_start_date"] == "2025-01-21"
    assert body["admission_date"] == "2025-03-02"
    assert body["reinfusion_date"] == "2025-03-08"
    assert body["regimen"] == "cy_atg"
    assert body["cd34_dose"] == "3.00"
    change = AuditEvent.objects.get(patient=patient, action="transplant.update")
    assert sorted(change.detail["changes"]) == ["admission_date", "gcsf_start_date"]
    assert change.detail["changes"]["gcsf_start_date"]["new"] == "2025-01-21"  # clinical dates in clear


def test_patch_on_a_patient_without_an_episode_creates_one(api_for, coordinator, patient, now):
    """The first PATCH creates the episode from the fields sent."""
    response = api_for(coordinator).patch(transplant_url(patient), {"mobilisation_date": "2025-03-01"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["phase"] == "mobilisation"
    assert TransplantEpisode.objects.get(patient=patient).mobilisation_date == date(2025, 3, 1)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"apheresis_date": "2025-01-10"}, "apheresis_date", "collected after mobilisation, not before"),
        ({"reinfusion_date": "2025-03-02"}, "reinfusion_date", "Day 0 (reinfusion) comes after conditioning starts"),
        ({"reinfusion_date": "2025-03-03"}, "reinfusion_date", "Day 0 (reinfusion) comes after conditioning starts"),
        (
            {"neutrophil_engraftment_date": "2025-03-07"},
            "neutrophil_engraftment_date",
            "Engraftment comes after Day 0, not before or on it",
        ),
        (
            {"platelet_engraftment_date": "2025-03-08"},
            "platelet_engraftment_date",
            "Engraftment comes after Day 0, not before or on it",
        ),
        ({"mobilisation_date": "1850-01-20"}, "mobilisation_date", "Check the year: a date before 1995"),
        ({"reinfusion_date": "2031-03-08"}, "reinfusion_date", "too far in the future"),
        (
            {"neutrophil_engraftment_date": "2025-03-11"},
            "neutrophil_engraftment_date",
            "recorded once it has happened, not in advance",
        ),
        (
            {"conditioning_start_date": "2025-02-01"},
            "conditioning_start_date",
            "at most 14 days before Day 0; these dates are 35 days apart",
        ),
        ({"discharge_date": "2025-03-07"}, "discharge_date", "Discharge comes on or after Day 0"),
        ({"cryostorage_date": "2025-01-29"}, "cryostorage_date", "frozen on or after the day they are collected"),
        ({"regimen": "cy-atg"}, "regimen", "Unknown regimen “cy-atg”. Valid regimens are: beam_atg, bu_cy_atg, cy_atg"),
        ({"regimen": ""}, "regimen", "may not be blank"),
        ({"cd34_dose": "-1"}, "cd34_dose", "greater than or equal to 0"),
        ({"cd34_dose": "2.345"}, "cd34_dose", "no more than 2 decimal places"),
        ({"reinfusion_date": "08/03/2025"}, "reinfusion_date", "wrong format"),
        ({"reinfusion_date": "2025-02-30"}, "reinfusion_date", "wrong format"),
    ],
    ids=[
        "apheresis-before-mobilisation",
        "day0-before-conditioning",
        "day0-on-conditioning-day",
        "engraftment-before-day0",
        "platelets-on-day0",
        "year-1850",
        "years-ahead",
        "engraftment-in-future",
        "conditioning-too-long",
        "discharge-before-day0",
        "frozen-before-collected",
        "unknown-regimen",
        "blank-regimen",
        "negative-cd34",
        "cd34-precision",
        "date-format",
        "impossible-date",
    ],
)
def test_each_implausible_value_is_a_400_with_a_message(api_for, coordinator, patient, now, changes, field, message):
    """Each implausible or out-of-order value is refused naming the field in plain words; nothing is saved."""
    response = api_for(coordinator).put(transplant_url(patient), {**BASE, **changes}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert field in body, body
    assert message.lower() in " ".join(body[field]).lower(), body
    assert not TransplantEpisode.objects.exists()
    assert not TimelineEvent.objects.exists()


def test_patch_is_checked_against_the_stored_dates(api_for, coordinator, patient, now):
    """A PATCHed engraftment before the stored Day 0 is refused and the episode stays as it was."""
    put_base(api_for, coordinator, patient)
    response = api_for(coordinator).patch(
        transplant_url(patient), {"neutrophil_engraftment_date": "2025-03-01"}, format="json"
    )
    assert response.status_code == 400
    assert "after Day 0" in response.json()["neutrophil_engraftment_date"][0]
    assert TransplantEpisode.objects.get(patient=patient).neutrophil_engraftment_date is None


def test_cd34_below_the_minimum_is_a_warning_not_an_error(api_for, coordinator, patient, now):
    """A low CD34+ dose saves, and the response (and later reads) carry the warning."""
    body = put_base(api_for, coordinator, patient, cd34_dose="1.50")
    assert len(body["warnings"]) == 1
    assert "below the usual minimum of 2.0" in body["warnings"][0]
    assert TransplantEpisode.objects.get(patient=patient).cd34_dose == pytest.approx(1.5)
    assert api_for(coordinator).get(transplant_url(patient)).json()["warnings"] == body["warnings"]


def test_the_regimen_can_change_and_the_timeline_follows(api_for, coordinator, patient, now):
    """Switching to BEAM/ATG replaces the Cy/ATG conditioning events with BEAM ones."""
    put_base(api_for, coordinator, patient)
    response = api_for(coordinator).patch(
        transplant_url(patient), {"regimen": "beam_atg", "confirm": True}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert response.json()["regimen"] == "beam_atg"
    keys = set(planned_dates(patient))
    assert "bcnu-d-6" in keys
    assert "cy-d-5" not in keys


# Regeneration ------------------------------------------------------------------------------------------


def test_moving_day0_moves_untouched_day0_events_and_keeps_completed_ones(api_for, coordinator, patient, now):
    """PATCH reinfusion_date +3 days moves each untouched Day-0 event by 3 days; a completed event stays put."""
    put_base(api_for, coordinator, patient)
    completed = change_event(
        context=AuditContext.system("tests"), event=event(patient, "cy-d-5"), action="complete", on=date(2025, 3, 3)
    )
    before = planned_dates(patient)
    ids_before = dict(TimelineEvent.objects.filter(episode__patient=patient).values_list("template_key", "uuid"))

    response = api_for(coordinator).patch(
        transplant_url(patient), {"reinfusion_date": "2025-03-11", "confirm": True}, format="json"
    )
    assert response.status_code == 200, response.json()
    assert (response.json()["phase"], response.json()["day"]) == ("conditioning", -1)

    after = planned_dates(patient)
    anchors = dict(ProtocolEvent.objects.filter(template__code="cy_atg").values_list("key", "anchor"))
    day0_keys = {key for key in before if anchors[key] == "day0"} - {"cy-d-5"}
    assert len(day0_keys) > 50
    assert all(after[key] == before[key] + timedelta(days=3) for key in day0_keys)
    assert all(after[key] == before[key] for key in before if anchors[key] != "day0")
    completed.refresh_from_db()
    assert (completed.planned_date, completed.status) == (date(2025, 3, 3), "done")
    ids_after = dict(TimelineEvent.objects.filter(episode__patient=patient).values_list("template_key", "uuid"))
    assert ids_after == ids_before  # moved in place, not recreated
    change = AuditEvent.objects.get(patient=patient, action="transplant.update")
    assert list(change.detail["changes"]) == ["reinfusion_date"]
    assert change.detail["timeline"]["moved"] == len(day0_keys)


# The timeline ------------------------------------------------------------------------------------------


def test_timeline_shows_overdue_due_planned_done_and_cancelled(api_for, coordinator, patient, now):
    """Each event carries the status the patient sees today; events come in planned-date order."""
    put_base(api_for, coordinator, patient)
    context = AuditContext.system("tests")
    change_event(context=context, event=event(patient, "cy-d-5"), action="complete", on=date(2025, 3, 3))
    change_event(context=context, event=event(patient, "atg-d-1"), action="cancel")

    response = api_for(patient.user).get(timeline_url(patient))
    assert response.status_code == 200
    body = response.json()
    assert (body["phase"], body["day"]) == ("aplasia", 2)
    events = body["events"]
    assert [e["planned_date"] for e in events] == sorted(e["planned_date"] for e in events)
    assert set(events[0]) == {"id", "kind", "title", "planned_date", "actual_date", "status", "day"}
    by_key = {
        str(uuid): key
        for uuid, key in TimelineEvent.objects.filter(episode__patient=patient).values_list("uuid", "template_key")
    }
    status = {by_key[e["id"]]: e["status"] for e in events}
    assert status["cy-d-5"] == "done"
    assert status["atg-d-1"] == "cancelled"
    assert status["aciclovir-start"] == "overdue"  # a medicine to start, not marked done: still to be done
    # conditioning and the reinfusion passed unrecorded: nothing to chase any more (OverduePolicy)
    assert status["cy-d-4"] == "not_recorded"  # 4 March, untouched
    assert status["reinfusion-d0"] == "not_recorded"  # 8 March, not marked done
    assert status["pcr-d7"] == "due"  # 15 March: within the 7-day due window
    assert status["pcr-d14"] == "planned"  # 22 March
    done = next(e for e in events if by_key[e["id"]] == "cy-d-5")
    assert (done["actual_date"], done["day"], done["kind"]) == ("2025-03-03", -5, "chemotherapy")


def test_timeline_statuses_follow_the_patients_date(api_for, coordinator, patient):
    """At 23:30 UTC on 9 March (10 March in Stockholm) a 9 March event has passed and a 17 March one is due."""
    with time_machine.travel(LATE_EVENING_UTC, tick=False):
        put_base(
            api_for,
            coordinator,
            patient,
            mobilisation_date="2025-02-10",
            apheresis_date="2025-02-20",
            conditioning_start_date="2025-03-05",
            reinfusion_date="2025-03-10",
        )
        body = api_for(coordinator).get(timeline_url(patient)).json()
    assert (body["phase"], body["day"]) == ("aplasia", 0)
    by_date = {}
    for item in body["events"]:
        by_date.setdefault(item["planned_date"], set()).add(item["status"])
    assert by_date["2025-03-09"] == {"not_recorded"}  # atg-d-1: past (not due) in Stockholm, and not chased
    assert by_date["2025-03-17"] == {"due"}  # pcr-d7: today + 7 in Stockholm


def test_timeline_without_an_episode_is_empty(api_for, clinician, patient, now):
    """A patient with no episode has an empty timeline in evaluation."""
    response = api_for(clinician).get(timeline_url(patient))
    assert response.status_code == 200
    assert response.json() == {"phase": "evaluation", "day": None, "events": []}


def test_timeline_does_not_query_per_event(api_for, coordinator, patient, now, django_assert_max_num_queries):
    """Three events or ninety, the timeline costs the same handful of queries."""
    api = api_for(patient.user)
    put_base(api_for, coordinator, patient, conditioning_start_date=None, reinfusion_date=None)
    with django_assert_max_num_queries(6) as few:
        assert len(api.get(timeline_url(patient)).json()["events"]) == 3
    put_base(api_for, coordinator, patient)
    with django_assert_max_num_queries(6) as many:
        assert len(api.get(timeline_url(patient)).json()["events"]) > 80
    assert len(many.captured_queries) == len(few.captured_queries)


def test_reads_are_audited(api_for, clinician, patient, now):
    """Reading the transplant and the timeline each leave an audit row naming the reader."""
    api = api_for(clinician)
    api.get(transplant_url(patient))
    api.get(timeline_url(patient))
    actions = set(AuditEvent.objects.filter(patient=patient, actor=clinician).values_list("action", flat=True))
    assert actions == {"transplant.view", "timeline.view"}


# Who may do what ---------------------------------------------------------------------------------------

CAST = {
    "coordinator": lambda request: request.getfixturevalue("coordinator"),
    "clinician": lambda request: request.getfixturevalue("clinician"),
    "patient": lambda request: request.getfixturevalue("patient").user,
    "other_patient": lambda request: request.getfixturevalue("other_patient").user,
    "other_centre_coordinator": lambda request: request.getfixturevalue("other_centre_coordinator"),
    "other_centre_clinician": lambda request: request.getfixturevalue("other_centre_clinician"),
    "anonymous": lambda request: None,
}


@pytest.mark.parametrize(
    ("role", "read", "write"),
    [
        ("coordinator", 200, 200),
        ("clinician", 200, 403),
        ("patient", 200, 403),
        ("other_patient", 404, 404),
        ("other_centre_coordinator", 404, 404),
        ("other_centre_clinician", 404, 404),
        ("anonymous", 401, 401),
    ],
    ids=lambda value: str(value),
)
def test_who_may_read_and_change_a_transplant(api_for, request, patient, now, role, read, write):
    """All who see the patient read; only coordinators write; others get 404 as if the patient did not exist."""
    api = api_for(CAST[role](request))
    assert api.get(transplant_url(patient)).status_code == read
    assert api.get(timeline_url(patient)).status_code == read
    assert api.put(transplant_url(patient), BASE, format="json").status_code == write
    assert api.patch(transplant_url(patient), {"discharge_date": "2025-03-09"}, format="json").status_code == write
    saved = TransplantEpisode.objects.filter(patient=patient).first()
    assert (saved is not None) == (write == 200)


def test_refused_writes_change_nothing(api_for, coordinator, clinician, other_centre_coordinator, patient, now):
    """A clinician's 403 and another centre's 404 leave the stored dates as they were."""
    put_base(api_for, coordinator, patient)
    change = {"reinfusion_date": "2025-03-09"}
    assert api_for(clinician).patch(transplant_url(patient), change, format="json").status_code == 403
    assert api_for(other_centre_coordinator).patch(transplant_url(patient), change, format="json").status_code == 404
    assert TransplantEpisode.objects.get(patient=patient).reinfusion_date == date(2025, 3, 8)


def test_a_malformed_patient_id_is_404(api_for, coordinator, db):
    """An id that is not a UUID is not found, never a 500."""
    assert api_for(coordinator).get("/api/v1/patients/not-a-uuid/transplant/").status_code == 404
    assert api_for(coordinator).get("/api/v1/patients/not-a-uuid/timeline/").status_code == 404
    assert api_for(coordinator).patch("/api/v1/patients/12/transplant/", {}, format="json").status_code == 404


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize(
    "payload",
    [
        [1, 2],
        "text",
        {"reinfusion_date": {"nested": True}},
        {"reinfusion_date": 20250308},
        {"reinfusion_date": "99999-01-01"},
        {"reinfusion_date": "0001-01-01"},
        {"reinfusion_date": "2025-03-08T10:00:00Z"},
        {"cd34_dose": "NaN"},
        {"cd34_dose": "Infinity"},
        {"cd34_dose": 1e300},
        {"cd34_dose": [2]},
        {"regimen": ["cy_atg"]},
        {"regimen": 5},
        {"regimen": {"code": "cy_atg"}},
        {"regimen": "x" * 1000},
    ],
    ids=[
        "list",
        "string",
        "nested-date",
        "number-date",
        "five-digit-year",
        "year-1",
        "datetime",
        "nan-dose",
        "infinite-dose",
        "huge-dose",
        "list-dose",
        "list-regimen",
        "number-regimen",
        "object-regimen",
        "long-regimen",
    ],
)
def test_malformed_bodies_are_400_not_500(api_for, coordinator, patient, now, method, payload):
    """Bodies of the wrong shape or with nonsense values are answered with 400."""
    response = getattr(api_for(coordinator), method)(transplant_url(patient), payload, format="json")
    assert response.status_code == 400, response.content


@pytest.mark.parametrize("method", ["put", "patch"])
@pytest.mark.parametrize("body", ["{bad", "null", "", "[]"], ids=["not-json", "json-null", "empty", "empty-list"])
def test_bodies_that_are_not_an_object_are_400(api_for, coordinator, patient, now, method, body):
    """A body that is not a JSON object (or no body) is a 400."""
    response = getattr(api_for(coordinator), method)(transplant_url(patient), body, content_type="application/json")
    if method == "patch" and body == "":
        assert response.status_code == 200  # a PATCH that changes nothing
    else:
        assert response.status_code == 400, response.content


def test_an_empty_put_is_refused_rather_than_clearing_everything(api_for, coordinator, patient, now):
    """PUT {} would wipe every date and the timeline: it is a 400, and clearing needs explicit nulls."""
    put_base(api_for, coordinator, patient)
    response = api_for(coordinator).put(transplant_url(patient), {}, format="json")
    assert response.status_code == 400
    assert "PUT replaces them all" in response.json()["non_field_errors"][0]
    assert TransplantEpisode.objects.get(patient=patient).reinfusion_date == date(2025, 3, 8)
    nulls = dict.fromkeys(["regimen", *DATE_FIELDS])
    assert api_for(coordinator).put(transplant_url(patient), nulls, format="json").status_code == 409
    cleared = api_for(coordinator).put(transplant_url(patient), {**nulls, "confirm": True}, format="json")
    assert cleared.status_code == 200
    assert cleared.json()["phase"] == "evaluation"
    assert not TimelineEvent.objects.filter(episode__patient=patient).exists()


# ?phase= on the patient list -----------------------------------------------------------------------------


def with_episode(centre, timezone="Europe/Stockholm", **dates):
    patient = PatientFactory(centre=centre, timezone=timezone)
    if dates:
        TransplantEpisode.objects.create(patient=patient, **dates)
    return patient


def test_phase_filter_lists_the_patients_in_that_phase_today(api_for, coordinator, centre, other_centre, now):
    """?phase= keeps the visible patients whose phase today is the one asked for, in each one's time zone."""
    evaluation = with_episode(centre)
    mobilising = with_episode(centre, mobilisation_date=date(2025, 3, 1))
    aplasia = [with_episode(centre, reinfusion_date=date(2025, 3, day)) for day in (1, 10)]
    early = with_episode(centre, reinfusion_date=date(2025, 2, 1), neutrophil_engraftment_date=date(2025, 2, 12))
    follow_up = with_episode(centre, reinfusion_date=date(2020, 2, 1), neutrophil_engraftment_date=date(2020, 2, 12))
    with_episode(other_centre, reinfusion_date=date(2025, 3, 1))  # aplasia, but not visible

    api = api_for(coordinator)

    def ids(phase):
        response = api.get(f"/api/v1/patients/?phase={phase}")
        assert response.status_code == 200, response.json()
        return {row["id"] for row in response.json()["results"]}

    assert ids("aplasia") == {str(p.uuid) for p in aplasia}
    assert ids("evaluation") == {str(evaluation.uuid)}
    assert ids("mobilisation") == {str(mobilising.uuid)}
    assert ids("early_recovery") == {str(early.uuid)}
    assert ids("follow_up") == {str(follow_up.uuid)}
    assert ids("collection") == set()
    assert api.get(f"/api/v1/patients/?phase=aplasia&q={aplasia[0].last_name}").json()["count"] == 1


def test_phase_filter_uses_each_patients_own_date(api_for, coordinator, centre):
    """At 23:30 UTC on 9 March, Day 0 on 10 March is aplasia in Stockholm and still conditioning in Los Angeles."""
    dates = {"conditioning_start_date": date(2025, 3, 5), "reinfusion_date": date(2025, 3, 10)}
    stockholm = with_episode(centre, **dates)
    los_angeles = with_episode(centre, timezone="America/Los_Angeles", **dates)
    api = api_for(coordinator)
    with time_machine.travel(LATE_EVENING_UTC, tick=False):
        aplasia = api.get("/api/v1/patients/?phase=aplasia").json()["results"]
        conditioning = api.get("/api/v1/patients/?phase=conditioning").json()["results"]
    assert [row["id"] for row in aplasia] == [str(stockholm.uuid)]
    assert [row["id"] for row in conditioning] == [str(los_angeles.uuid)]


def test_a_patient_filtering_by_phase_sees_only_themselves(api_for, patient, other_patient, now):
    """A patient's ?phase= list holds at most their own record."""
    TransplantEpisode.objects.create(patient=other_patient, reinfusion_date=date(2025, 3, 1))
    api = api_for(patient.user)
    assert [row["id"] for row in api.get("/api/v1/patients/?phase=evaluation").json()["results"]] == [str(patient.uuid)]
    assert api.get("/api/v1/patients/?phase=aplasia").json()["count"] == 0


@pytest.mark.parametrize("phase", ["bogus", "Aplasia", "aplasia ", "1"], ids=["word", "capitalised", "space", "digit"])
def test_an_unknown_phase_is_a_400_naming_the_valid_ones(api_for, coordinator, phase):
    """?phase= with an unknown value is a 400 that lists the valid phases."""
    response = api_for(coordinator).get("/api/v1/patients/", {"phase": phase})
    assert response.status_code == 400
    message = response.json()["phase"][0]
    assert "valid phases are evaluation, mobilisation, collection, conditioning, aplasia" in message


def test_phase_filter_query_count_is_the_same_for_2_and_40_patients(
    api_for, coordinator, centre, now, django_assert_max_num_queries
):
    """Filtering by phase costs the same number of queries for 2 patients as for 40."""
    api = api_for(coordinator)
    for _ in range(2):
        with_episode(centre, reinfusion_date=date(2025, 3, 1))
    with django_assert_max_num_queries(8) as few:
        assert api.get("/api/v1/patients/?phase=aplasia&page_size=100").json()["count"] == 2
    for index in range(38):
        with_episode(centre, reinfusion_date=date(2025, 3, 1) if index % 2 else date(2025, 3, 20))
    with django_assert_max_num_queries(8) as many:
        assert api.get("/api/v1/patients/?phase=aplasia&page_size=100").json()["count"] == 21
    assert len(many.captured_queries) == len(few.captured_queries)
