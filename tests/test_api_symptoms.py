"""/api/v1/patients/{id}/symptom-reports/ and /api/v1/alerts/ (api.md).

"Now" is fixed at 09:30 UTC on 20 November 2026 (10:30 in Stockholm, the cast's time zone). The patient's
Day 0 was 15 November, so they are in aplasia on Day +5: a fever is urgent.
"""

import json
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from recovery.models import Alert, AlertEvent, AuditEvent, SymptomReport
from tests.factories import PatientFactory, transplant

NOW = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
DAY0 = date(2026, 11, 15)
PHONE = "+46 18 611 00 00"  # CentreFactory's 24-hour number
AT = "2026-11-20T10:15:00+01:00"  # a quarter of an hour ago, in Stockholm


@pytest.fixture
def on_day_five(patient, time_machine):
    time_machine.move_to(NOW, tick=False)
    transplant(patient, DAY0)
    return patient


def reports_url(patient) -> str:
    return f"/api/v1/patients/{patient.uuid}/symptom-reports/"


def post_report(api, patient, **fields):
    return api.post(reports_url(patient), {"recorded_at": AT, **fields}, format="json")


def post_raw(api, patient, body: str):
    return api.post(reports_url(patient), body, content_type="application/json")


# Reporting and triage -----------------------------------------------------------------------------------------


def test_fever_on_day_five_is_urgent_with_the_unit_number_and_an_alert(api_for, on_day_five):
    """38.4 °C on Day +5: urgent; the advice says to call the unit now, with its 24-hour number; an alert opens."""
    response = post_report(api_for(on_day_five.user), on_day_five, temperature_c=38.4)
    assert response.status_code == 201, response.json()
    body = response.json()
    alert = Alert.objects.get()
    report = SymptomReport.objects.get()
    assert body["triage"]["level"] == "urgent"
    assert body["triage"]["advice"].startswith(f"Call the unit now on {PHONE}")
    assert body["triage"]["alert"] == str(alert.uuid)
    assert body["triage"]["neutropenic_fever"] is True  # a single reading at or above 38.3 °C in aplasia
    assert body["triage"]["pseudo_relapse"] is False
    assert body["id"] == str(report.uuid)
    assert body["recorded_at"] == "2026-11-20T09:15:00Z"  # stored in UTC
    assert body["temperature_c"] == 38.4
    assert (body["day"], body["phase"], body["triage_level"]) == (5, "aplasia", "urgent")
    assert (alert.severity, alert.status, alert.rule) == ("urgent", "open", "fever.high_risk_window")
    assert report.entered_by == on_day_five.user
    assert AuditEvent.objects.filter(action="symptoms.report", patient=on_day_five).count() == 1


@pytest.mark.parametrize(
    ("fields", "level", "advice", "raises_alert"),
    [
        ({"temperature_c": 36.8}, "none", "Nothing in this report needs action", False),
        ({"temperature_c": 37.1, "symptoms": {"fatigue": 1}}, "routine", "weekly review", True),
    ],
    ids=["normal", "routine"],
)
def test_a_normal_report_thanks_the_patient(api_for, on_day_five, fields, level, advice, raises_alert):
    """Nothing of note: level none and no alert; a mild symptom: routine, for the weekly review."""
    response = post_report(api_for(on_day_five.user), on_day_five, **fields)
    assert response.status_code == 201, response.json()
    triage = response.json()["triage"]
    assert triage["level"] == level
    assert advice in triage["advice"]
    assert "Call the unit now" not in triage["advice"]
    assert (triage["alert"] is not None) == raises_alert
    assert Alert.objects.count() == int(raises_alert)


def test_the_advice_says_what_to_call_when_the_centre_has_no_number(api_for, on_day_five):
    """Without a 24-hour number on file the advice still tells the patient to call, and whom."""
    on_day_five.centre.phone_24h = ""
    on_day_five.centre.save()
    advice = post_report(api_for(on_day_five.user), on_day_five, temperature_c=39.0).json()["triage"]["advice"]
    assert advice.startswith("Call the unit now on your transplant unit's 24-hour number")
    assert "{phone}" not in advice


def test_every_symptom_at_0_is_an_im_fine_answer(api_for, on_day_five):
    """A report with every symptom graded 0 and no temperature is accepted (api.md): triage level none."""
    response = post_report(api_for(on_day_five.user), on_day_five, symptoms={"nausea": 0, "chills": 0})
    assert response.status_code == 201, response.json()
    assert response.json()["triage"]["level"] == "none"
    assert SymptomReport.objects.get().symptoms == {"nausea": 0, "chills": 0}


def test_report_fields_are_stored_as_sent(api_for, on_day_five):
    """Every field of the request is stored and sent back; grades of 0 are kept."""
    response = post_report(
        api_for(on_day_five.user),
        on_day_five,
        temperature_c=37.26,
        symptoms={"nausea": 2, "rash": 0, "vision": 1},
        notes="  Tired after the walk  ",
        feels_urgent=True,
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["temperature_c"] == 37.3  # rounded to 0.1
    assert body["symptoms"] == {"nausea": 2, "rash": 0, "vision": 1}
    assert body["notes"] == "Tired after the walk"
    assert body["feels_urgent"] is True
    assert body["triage_level"] == "urgent"  # "feels urgent" on Day +5, in the high-risk window
    report = SymptomReport.objects.get()
    assert (str(report.temperature_c), report.symptoms, report.notes) == (
        "37.3",
        {"nausea": 2, "rash": 0, "vision": 1},
        "Tired after the walk",
    )


def test_a_second_fever_updates_the_same_open_alert(api_for, on_day_five):
    """Two fevers while the first alert is open: one alert, both reports linked to it."""
    api = api_for(on_day_five.user)
    first = post_report(api, on_day_five, temperature_c=38.4, recorded_at="2026-11-20T09:00:00+01:00").json()
    second = post_report(api, on_day_five, temperature_c=38.9).json()
    assert first["triage"]["alert"] == second["triage"]["alert"]
    alert = Alert.objects.get()
    assert alert.reports.count() == 2
    assert "38.9" in alert.reason
    assert list(alert.history.values_list("action", flat=True)) == ["raised", "updated"]


def test_a_worse_report_raises_the_open_alerts_severity(api_for, clinician, on_day_five):
    """A fever before conditioning is same-day; a fever on Day +5 makes the same, acknowledged alert urgent."""
    api = api_for(on_day_five.user)
    # 9 November: collection, before conditioning started, so outside the high-risk window.
    early = post_report(api, on_day_five, temperature_c=38.5, recorded_at="2026-11-09T08:00:00+01:00").json()
    assert early["triage"]["level"] == "same_day"
    alert_id = early["triage"]["alert"]
    api_for(clinician).post(f"/api/v1/alerts/{alert_id}/acknowledge/")
    late = post_report(api, on_day_five, temperature_c=38.6).json()
    assert late["triage"]["level"] == "urgent"
    assert late["triage"]["alert"] == alert_id
    alert = Alert.objects.get()
    assert (alert.severity, alert.severity_rank, alert.rule) == ("urgent", 3, "fever.high_risk_window")
    assert alert.status == "open"  # worse than when it was acknowledged: look again
    update = AlertEvent.objects.get(alert=alert, action="updated")
    assert (update.detail["severity_from"], update.detail["severity_to"]) == ("same_day", "urgent")


# Validation ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"temperature_c": 50}, "temperature_c", "A temperature of 50.0 °C is not possible"),
        ({"temperature_c": 33.9}, "temperature_c", "between 34.0 and 43.0 °C"),
        ({"temperature_c": 43.1}, "temperature_c", "between 34.0 and 43.0 °C"),
        ({"temperature_c": "NaN"}, "temperature_c", "Send the temperature as a number"),
        ({"temperature_c": "38.2"}, "temperature_c", "Send the temperature as a number"),
        ({"temperature_c": True}, "temperature_c", "Send the temperature as a number"),
        ({"temperature_c": [38]}, "temperature_c", "Send the temperature as a number"),
        ({"temperature_c": 37, "recorded_at": "2026-11-20T11:45:00+01:00"}, "recorded_at", "in the future"),
        ({"temperature_c": 37, "recorded_at": "2026-11-20T10:15:00"}, "recorded_at", "time zone"),
        ({"temperature_c": 37, "recorded_at": "yesterday"}, "recorded_at", "ISO 8601 with its time zone"),
        ({"temperature_c": 37, "recorded_at": None}, "recorded_at", "Enter when you took the temperature"),
        ({"temperature_c": 37, "recorded_at": "0001-01-01T00:00:00+01:00"}, "recorded_at", "out of range"),
        ({"temperature_c": 37, "recorded_at": "0001-01-01T00:00:00Z"}, "recorded_at", "out of range"),
        ({"symptoms": {"fever_feeling": 2}}, "symptoms", "“fever_feeling” is not a symptom we ask about."),
        ({"symptoms": {"nausea": 5}}, "symptoms", "The grade for nausea must be 0 (none) to 4 (very severe)."),
        ({"symptoms": {"nausea": -1}}, "symptoms", "The grade for nausea must be 0 (none) to 4"),
        ({"symptoms": {"nausea": "2"}}, "symptoms", "The grade for nausea must be 0 (none) to 4"),
        ({"symptoms": {"nausea": True}}, "symptoms", "The grade for nausea must be 0 (none) to 4"),
        ({"symptoms": {"nausea": 2.5}}, "symptoms", "The grade for nausea must be 0 (none) to 4"),
        ({"symptoms": ["nausea"]}, "symptoms", "Symptoms are a list of symptom names"),
        ({}, "non_field_errors", "Enter a temperature, or grade your symptoms (0 if you do not have them)."),
        ({"symptoms": {}, "notes": "   "}, "non_field_errors", "Enter a temperature, or grade your symptoms"),
        ({"temperature_c": 37, "notes": "x" * 2001}, "notes", "no more than 2000 characters"),
        ({"temperature_c": 37, "feels_urgent": "perhaps"}, "feels_urgent", "Must be a valid boolean."),
    ],
    ids=[
        "50C",
        "33.9",
        "43.1",
        "NaN-string",
        "string",
        "boolean-temperature",
        "list-temperature",
        "future",
        "naive",
        "not-a-time",
        "no-time",
        "year-1-offset",
        "year-1-utc",
        "unknown-code",
        "grade-5",
        "grade-minus-1",
        "grade-string",
        "grade-true",
        "grade-float",
        "symptoms-list",
        "empty",
        "nothing-but-blank-notes",
        "long-notes",
        "not-a-boolean",
    ],
)
def test_implausible_reports_are_refused_with_a_message(api_for, on_day_five, fields, field, message):
    """Each implausible value is a 400 naming the field in plain words; nothing is stored."""
    response = post_report(api_for(on_day_five.user), on_day_five, **fields)
    assert response.status_code == 400
    errors = response.json()
    assert any(message in text for text in errors[field]), errors
    assert not SymptomReport.objects.exists()


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (f'{{"recorded_at": "{AT}", "temperature_c": NaN}}', "non_field_errors", "JSON parse error"),
        (f'{{"recorded_at": "{AT}", "temperature_c": Infinity}}', "non_field_errors", "JSON parse error"),
        (f'{{"recorded_at": "{AT}", "temperature_c": 1e400}}', "temperature_c", "Enter the temperature as a number"),
        (f'{{"recorded_at": "{AT}", "temperature_c": 1{"0" * 400}}}', "temperature_c", "Enter the temperature"),
        (f'{{"recorded_at": "{AT}", "symptoms": {{"\\ud800": 1}}}}', "symptoms", "plain text"),
        (f'{{"recorded_at": "{AT}", "notes": "\\u0000"}}', "detail", "control character (such as NUL)"),
        ("[" * 100_000 + "]" * 100_000, "non_field_errors", "nested too deeply"),
        ('{"temperature_c": 37}', "recorded_at", "Enter when you took the temperature"),
        ("[1, 2]", "non_field_errors", "Invalid data"),
        ("{", "non_field_errors", "JSON parse error"),
    ],
    ids=["NaN", "Infinity", "1e400", "huge-integer", "lone-surrogate", "nul", "deep", "no-time", "list", "truncated"],
)
def test_malformed_json_is_a_400(api_for, on_day_five, body, field, message):
    """What a JSON parser or a database could choke on is a 400, never a 500."""
    response = post_raw(api_for(on_day_five.user), on_day_five, body)
    assert response.status_code == 400
    errors = response.json()
    texts = errors[field] if isinstance(errors[field], list) else [errors[field]]
    assert any(message in text for text in texts), errors
    assert not SymptomReport.objects.exists()


def test_messages_match_the_check_in_page(api_for, client_for, on_day_five):
    """The API and the check-in page share the service's wording for an implausible temperature."""
    api_message = post_report(api_for(on_day_five.user), on_day_five, temperature_c=50).json()["temperature_c"][0]
    page = client_for(on_day_five.user).post(
        "/my/temperature/", {"temperature": "50", "unit": "C", "recorded_at": "2026-11-20T10:15"}
    )
    assert api_message in page.content.decode().replace("&#x27;", "'")


# Who may report and read -----------------------------------------------------------------------------------


def test_a_patient_cannot_report_or_read_for_another_patient(api_for, on_day_five, other_patient):
    """Patient B does not see patient A's record at all: 404 for both."""
    api = api_for(other_patient.user)
    assert post_report(api, on_day_five, temperature_c=37.0).status_code == 404
    assert api.get(reports_url(on_day_five)).status_code == 404
    assert not SymptomReport.objects.exists()


def test_another_centres_clinician_gets_404(api_for, on_day_five, other_centre_clinician):
    api = api_for(other_centre_clinician)
    assert post_report(api, on_day_five, temperature_c=37.0).status_code == 404
    assert api.get(reports_url(on_day_five)).status_code == 404


@pytest.mark.parametrize("role", ["coordinator", "clinician"])
def test_staff_can_report_on_a_patients_behalf(api_for, on_day_five, request, role):
    """Staff of the patient's centre may enter a report (e.g. from a phone call); who entered it is kept."""
    staff = request.getfixturevalue(role)
    response = post_report(api_for(staff), on_day_five, temperature_c=38.4, notes="Phoned in")
    assert response.status_code == 201, response.json()
    assert response.json()["triage"]["level"] == "urgent"
    report = SymptomReport.objects.get()
    assert (report.patient, report.entered_by) == (on_day_five, staff)
    assert AuditEvent.objects.get(action="symptoms.report").actor == staff


def test_without_credentials_401_and_unknown_patient_404(api_for, on_day_five, coordinator):
    assert post_report(api_for(None), on_day_five, temperature_c=37.0).status_code == 401
    assert api_for(None).get(reports_url(on_day_five)).status_code == 401
    assert api_for(coordinator).get("/api/v1/patients/not-a-uuid/symptom-reports/").status_code == 404
    missing = "/api/v1/patients/00000000-0000-0000-0000-000000000000/symptom-reports/"
    assert api_for(coordinator).post(missing, {"temperature_c": 37}, format="json").status_code == 404


def test_reports_list_newest_first_for_all_who_see_the_patient(api_for, on_day_five, clinician, other_patient):
    """The patient and their centre's staff read the list, newest first, with triage's verdict; it is audited."""
    api = api_for(on_day_five.user)
    post_report(api, on_day_five, temperature_c=36.9, recorded_at="2026-11-20T07:00:00+01:00")
    post_report(api, on_day_five, temperature_c=38.4, recorded_at="2026-11-20T09:00:00+01:00")
    post_report(api, on_day_five, symptoms={"nausea": 1}, recorded_at="2026-11-20T08:00:00+01:00")
    post_report(api_for(other_patient.user), other_patient, temperature_c=37.5)
    for reader in (on_day_five.user, clinician):
        response = api_for(reader).get(reports_url(on_day_five))
        assert response.status_code == 200
        body = response.json()
        assert body["count"] == 3
        assert [r["recorded_at"] for r in body["results"]] == [
            "2026-11-20T08:00:00Z",
            "2026-11-20T07:00:00Z",
            "2026-11-20T06:00:00Z",
        ]
        first = body["results"][0]
        assert set(first) == {
            "id",
            "recorded_at",
            "temperature_c",
            "symptoms",
            "notes",
            "feels_urgent",
            "triage_level",
            "neutropenic_fever",
            "pseudo_relapse",
            "day",
            "phase",
        }
        assert (first["temperature_c"], first["triage_level"], first["day"]) == (38.4, "urgent", 5)
        assert body["results"][2]["symptoms"] == {}
    assert AuditEvent.objects.filter(action="symptoms.view", patient=on_day_five).count() == 2


def test_reports_list_paginates(api_for, on_day_five):
    api = api_for(on_day_five.user)
    for minutes in range(3):
        at = (NOW - timedelta(minutes=minutes)).isoformat()
        assert post_report(api, on_day_five, temperature_c=36.5, recorded_at=at).status_code == 201
    body = api.get(reports_url(on_day_five), {"page_size": 2}).json()
    assert (body["count"], len(body["results"]), body["previous"]) == (3, 2, None)
    assert "page=2" in body["next"]


# Alerts ----------------------------------------------------------------------------------------------------

SEVERITY_RANK = {"urgent": 3, "same_day": 2, "routine": 1}


def make_alert(patient, severity="urgent", kind="fever", status="open", created_at=NOW, **fields) -> Alert:
    return Alert.objects.create(
        patient=patient,
        kind=kind,
        severity=severity,
        severity_rank=SEVERITY_RANK[severity],
        status=status,
        reason=f"{severity} {kind}",
        rule="test.rule",
        created_at=created_at,
        **fields,
    )


def alert_ids(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [alert["id"] for alert in response.json()["results"]]


@pytest.fixture
def queue(patient, other_patient, other_centre_patient, clinician):
    """Alerts of centre A in a known order, and one of centre B that centre A's staff never see."""
    return {
        "routine_old": make_alert(patient, "routine", "routine_review", created_at=NOW - timedelta(days=2)),
        "same_day": make_alert(patient, "same_day", "severe_symptom", created_at=NOW - timedelta(hours=3)),
        "urgent_new": make_alert(
            other_patient,
            "urgent",
            "fever",
            status="acknowledged",
            created_at=NOW - timedelta(minutes=5),
            acknowledged_at=NOW - timedelta(minutes=1),
            acknowledged_by=clinician,
        ),
        "urgent_old": make_alert(patient, "urgent", "red_flag", created_at=NOW - timedelta(hours=1)),
        "resolved": make_alert(
            other_patient, "same_day", "fever", status="resolved", created_at=NOW - timedelta(days=3)
        ),
        "other_centre": make_alert(other_centre_patient, "urgent", "fever"),
    }


def test_alert_list_is_ordered_by_severity_then_age(api_for, clinician, queue):
    """Most severe first; within a severity the oldest first. Another centre's alert is not listed."""
    ids = alert_ids(api_for(clinician).get("/api/v1/alerts/"))
    expected = ["urgent_old", "urgent_new", "resolved", "same_day", "routine_old"]
    assert ids == [str(queue[name].uuid) for name in expected]


def test_alert_fields(api_for, clinician, queue, other_patient):
    body = api_for(clinician).get("/api/v1/alerts/", {"status": "acknowledged"}).json()["results"]
    assert len(body) == 1
    alert = body[0]
    assert {
        "id",
        "patient",
        "severity",
        "status",
        "reason",
        "rule",
        "created_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "resolution",
    } <= set(alert)
    assert alert["patient"] == str(other_patient.uuid)
    assert alert["acknowledged_by"] == str(clinician.uuid)
    assert (alert["severity"], alert["status"], alert["resolution"], alert["resolved_at"]) == (
        "urgent",
        "acknowledged",
        None,
        None,
    )
    assert alert["created_at"] == "2026-11-20T09:25:00Z"


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "open"}, ["urgent_old", "same_day", "routine_old"]),
        ({"status": "resolved"}, ["resolved"]),
        ({"severity": "urgent"}, ["urgent_old", "urgent_new"]),
        ({"severity": "same_day", "status": "open"}, ["same_day"]),
        ({"patient": "OTHER"}, ["urgent_new", "resolved"]),
        ({"patient": "OTHER", "status": "acknowledged"}, ["urgent_new"]),
        ({"patient": "00000000-0000-0000-0000-000000000000"}, []),
        ({"patient": "OTHER_CENTRE"}, []),
    ],
    ids=["open", "resolved", "urgent", "same-day-open", "patient", "patient-acknowledged", "unknown", "invisible"],
)
def test_alert_list_filters(api_for, clinician, queue, other_patient, other_centre_patient, params, expected):
    """?status=, ?severity= and ?patient= combine; an unknown or invisible patient gives an empty list."""
    ids_by_name = {"OTHER": str(other_patient.uuid), "OTHER_CENTRE": str(other_centre_patient.uuid)}
    params = {key: ids_by_name.get(value, value) for key, value in params.items()}
    ids = alert_ids(api_for(clinician).get("/api/v1/alerts/", params))
    assert ids == [str(queue[name].uuid) for name in expected]


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"status": "closed"}, "status", "valid statuses are open, acknowledged, resolved"),
        ({"severity": "high"}, "severity", "valid severities are urgent, same_day, routine"),
        ({"patient": "42"}, "patient", "is not a patient id"),
    ],
)
def test_alert_list_refuses_malformed_filters(api_for, clinician, queue, params, field, message):
    response = api_for(clinician).get("/api/v1/alerts/", params)
    assert response.status_code == 400
    assert message in response.json()[field][0]


def test_alert_list_is_for_staff(api_for, patient, other_centre_coordinator, queue):
    """A patient may not see the queue (403); another centre's staff see only their own centre's alert."""
    assert api_for(patient.user).get("/api/v1/alerts/").status_code == 403
    assert api_for(None).get("/api/v1/alerts/").status_code == 401
    ids = alert_ids(api_for(other_centre_coordinator).get("/api/v1/alerts/"))
    assert ids == [str(queue["other_centre"].uuid)]


def test_alert_list_reads_are_audited_once_per_patient(api_for, clinician, queue, patient, other_patient):
    api_for(clinician).get("/api/v1/alerts/")
    reads = AuditEvent.objects.filter(action="alert.list")
    assert sorted(reads.values_list("patient_id", flat=True)) == sorted([patient.pk, other_patient.pk])


def _alerts_for_new_patients(centre, count: int, clinician) -> None:
    for n in range(count):
        acknowledged = {"acknowledged_at": NOW, "acknowledged_by": clinician} if n % 2 else {}
        make_alert(
            PatientFactory(centre=centre),
            ("urgent", "same_day", "routine")[n % 3],
            status="acknowledged" if n % 2 else "open",
            created_at=NOW - timedelta(minutes=n),
            **acknowledged,
        )


def test_alert_list_query_count_does_not_grow_with_the_alerts(api_for, clinician, centre):
    """Two alerts or forty (each for its own patient, half acknowledged): the same number of queries."""
    api = api_for(clinician)
    api.get("/api/v1/alerts/")  # warm up: the token's user and any per-process caches
    counts = {}
    for total in (2, 40):
        Alert.objects.all().delete()
        _alerts_for_new_patients(centre, total, clinician)
        with CaptureQueriesContext(connection) as queries:
            response = api.get("/api/v1/alerts/", {"page_size": 100})
        assert len(response.json()["results"]) == total
        counts[total] = len(queries)
    assert counts[2] == counts[40], counts


# Acknowledge and resolve -----------------------------------------------------------------------------------


def ack_url(alert) -> str:
    return f"/api/v1/alerts/{alert.uuid}/acknowledge/"


def resolve_url(alert) -> str:
    return f"/api/v1/alerts/{alert.uuid}/resolve/"


def test_acknowledge_is_idempotent(api_for, clinician, coordinator, patient, time_machine):
    """The first acknowledgement is kept: a second one (by anyone) changes nothing."""
    time_machine.move_to(NOW, tick=False)
    alert = make_alert(patient)
    first = api_for(clinician).post(ack_url(alert))
    assert first.status_code == 200, first.json()
    assert (first.json()["status"], first.json()["acknowledged_by"]) == ("acknowledged", str(clinician.uuid))
    assert first.json()["acknowledged_at"] == "2026-11-20T09:30:00Z"
    time_machine.move_to(NOW + timedelta(minutes=10), tick=False)
    second = api_for(coordinator).post(ack_url(alert))
    assert second.status_code == 200
    assert second.json() == first.json()
    assert AlertEvent.objects.filter(alert=alert, action="acknowledged").count() == 1
    assert AuditEvent.objects.filter(action="alert.acknowledge").count() == 1


def test_only_staff_who_see_the_patient_acknowledge(api_for, patient, other_patient, other_centre_clinician):
    """The patient themself: 403. Another patient or another centre's staff: 404. Not an id: 404."""
    alert = make_alert(patient)
    assert api_for(patient.user).post(ack_url(alert)).status_code == 403
    assert api_for(other_patient.user).post(ack_url(alert)).status_code == 404
    assert api_for(other_centre_clinician).post(ack_url(alert)).status_code == 404
    assert api_for(other_centre_clinician).post(resolve_url(alert), {"action": "seen"}).status_code == 404
    assert api_for(patient.user).post(resolve_url(alert), {"action": "seen"}).status_code == 403
    assert api_for(None).post(ack_url(alert)).status_code == 401
    assert api_for(other_centre_clinician).post("/api/v1/alerts/nope/acknowledge/").status_code == 404
    alert.refresh_from_db()
    assert alert.status == "open"


def test_resolving_an_open_alert_acknowledges_it_too(api_for, clinician, patient):
    alert = make_alert(patient)
    response = api_for(clinician).post(resolve_url(alert), {"action": "advice", "note": "Paracetamol"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["status"], body["resolution"], body["resolution_note"]) == ("resolved", "advice", "Paracetamol")
    assert body["acknowledged_by"] == body["resolved_by"] == str(clinician.uuid)
    assert body["resolved_at"] is not None


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({}, "action", "Choose what was done: advice, seen, admitted"),
        ({"action": ""}, "action", "Choose what was done"),
        ({"action": "fixed"}, "action", "Choose what was done"),
        ({"action": ["seen"]}, "action", "Not a valid string."),
        ({"action": "other"}, "note", "Say what was done."),
        ({"action": "other", "note": "   "}, "note", "Say what was done."),
    ],
    ids=["missing", "blank", "unknown", "list", "other-without-note", "other-with-blank-note"],
)
def test_resolve_needs_a_known_action_and_a_note_for_other(api_for, clinician, patient, payload, field, message):
    alert = make_alert(patient)
    response = api_for(clinician).post(resolve_url(alert), payload, format="json")
    assert response.status_code == 400
    assert message in response.json()[field][0]
    alert.refresh_from_db()
    assert alert.status == "open"


def test_resolving_twice_is_a_400(api_for, clinician, coordinator, patient):
    alert = make_alert(patient)
    api = api_for(clinician)
    payload = {"action": "other", "note": "Seen at home by the district nurse"}
    assert api.post(resolve_url(alert), payload, format="json").status_code == 200
    again = api_for(coordinator).post(resolve_url(alert), {"action": "seen"}, format="json")
    assert again.status_code == 400
    assert again.json() == {"non_field_errors": ["This alert is already resolved."]}
    alert.refresh_from_db()
    assert (alert.resolution, alert.resolved_by) == ("other", clinician)
    # Acknowledging a resolved alert changes nothing either.
    assert api.post(ack_url(alert)).json()["status"] == "resolved"


def test_resolve_accepts_a_form_post(api_for, clinician, patient):
    """Form-encoded bodies (the browsable API) work as JSON does."""
    alert = make_alert(patient)
    response = api_for(clinician).post(resolve_url(alert), {"action": "no_action"})
    assert response.status_code == 200
    assert json.loads(response.content)["resolution"] == "no_action"
