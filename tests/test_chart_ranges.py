"""The range picker of the patients' time charts: ?range= chooses the window, the server sends only its data,
the default follows the patient's day, and a bad value is the default (never an error)."""

import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from recovery.models import EDSSAssessment, LabResult, TransplantEpisode
from recovery.services.audit import AuditContext
from recovery.services.symptoms import record_symptom_report

NOW = datetime.fromisoformat("2026-11-18T12:00:00+00:00")
TODAY = date(2026, 11, 18)
SYSTEM = AuditContext.system("tests")


@pytest.fixture
def now(time_machine):
    time_machine.move_to(NOW, tick=False)


def _json(response, block: str):
    html = response.content.decode()
    start = html.index(f'id="{block}"')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


def _at(patient, on: date, hour: int = 9) -> datetime:
    return datetime.combine(on, time(hour), tzinfo=ZoneInfo(patient.timezone))


def _transplanted(patient, day0: date) -> TransplantEpisode:
    return TransplantEpisode.objects.create(
        patient=patient, conditioning_start_date=day0 - timedelta(days=5), reinfusion_date=day0
    )


def _report(patient, on: date, temperature: str = "37.0", hour: int = 9):
    record_symptom_report(
        context=SYSTEM, patient=patient, recorded_at=_at(patient, on, hour), temperature_c=Decimal(temperature)
    )


def _current(response) -> list[str]:
    html = response.content.decode()
    return [
        part.split('"')[0] for part in html.split('data-range="')[1:] if 'aria-current="true"' in part.split(">")[0]
    ]


def _review(client, patient, query: str = ""):
    return client.get(reverse("recovery:patient-review", args=[patient.uuid]) + query)


def test_review_defaults_to_the_first_100_days_for_a_patient_in_them(client_for, clinician, patient, now):
    day0 = TODAY - timedelta(days=9)
    _transplanted(patient, day0)
    _report(patient, TODAY - timedelta(days=1))
    response = _review(client_for(clinician), patient)
    assert response.status_code == 200
    assert _current(response) == ["100d"]
    # the axis runs from the window's first report to now (not squeezed into a year, nor into the data alone)
    start, end = _json(response, "review-data")["range"]
    assert start == _at(patient, TODAY - timedelta(days=1)).timestamp() * 1000
    assert end == NOW.timestamp() * 1000


def test_review_of_the_first_100_days_years_later_ends_at_day_100(client_for, clinician, patient, now):
    day0 = TODAY - timedelta(days=800)
    _transplanted(patient, day0)
    _report(patient, day0 + timedelta(days=30), "37.4")
    _report(patient, TODAY - timedelta(days=2), "37.0")
    response = _review(client_for(clinician), patient, "?range=100d")
    data = _json(response, "review-data")
    assert [p["y"] for p in data["temperature"]] == [37.4]
    end = datetime.fromtimestamp(data["range"][1] / 1000, tz=ZoneInfo(patient.timezone))
    assert end.date() == day0 + timedelta(days=101)  # the first moment after Day +100
    assert "37.0 °C" in response.content.decode()  # the table still lists the latest reports


def test_review_in_follow_up_shows_the_last_year_and_sends_only_its_reports(client_for, clinician, patient, now):
    _transplanted(patient, TODAY - timedelta(days=800))
    _report(patient, TODAY - timedelta(days=700), "38.5")  # long ago: outside the last 12 months
    _report(patient, TODAY - timedelta(days=10), "37.1")
    client = client_for(clinician)
    response = _review(client, patient)
    assert _current(response) == ["year"]
    assert [p["y"] for p in _json(response, "review-data")["temperature"]] == [37.1]
    everything = _review(client, patient, "?range=all")
    assert _current(everything) == ["all"]
    assert [p["y"] for p in _json(everything, "review-data")["temperature"] if p["y"] is not None] == [38.5, 37.1]


@pytest.mark.parametrize("value", ["decade", "", "100D", "<script>"])
def test_a_bad_range_is_the_default_not_an_error(client_for, clinician, patient, now, value):
    _transplanted(patient, TODAY - timedelta(days=800))
    _report(patient, TODAY - timedelta(days=10))
    response = _review(client_for(clinician), patient, f"?range={value}")
    assert response.status_code == 200
    assert _current(response) == ["year"]


def test_review_breaks_the_temperature_line_across_days_without_a_report(client_for, clinician, patient, now):
    day0 = TODAY - timedelta(days=20)
    _transplanted(patient, day0)
    _report(patient, TODAY - timedelta(days=6), hour=8)
    _report(patient, TODAY - timedelta(days=6), hour=20)  # twice a day: joined
    _report(patient, TODAY - timedelta(days=3), hour=8)  # two days missing: broken
    points = _json(_review(client_for(clinician), patient), "review-data")["temperature"]
    assert [p["y"] for p in points] == [37.0, 37.0, None, 37.0]


def _anc(patient, on: date, value: str):
    LabResult.objects.create(patient=patient, test="anc", value=value, unit="x10^9/L", collected_at=_at(patient, on))


def test_labs_default_to_the_first_100_days_even_years_later(client_for, clinician, patient, now):
    day0 = TODAY - timedelta(days=800)
    _transplanted(patient, day0)
    _anc(patient, day0 + timedelta(days=12), "0.6")
    _anc(patient, day0 + timedelta(days=13), "0.7")
    _anc(patient, day0 + timedelta(days=400), "3.1")
    client = client_for(clinician)
    url = reverse("recovery:patient-labs", args=[patient.uuid])
    response = client.get(url)
    assert _current(response) == ["100d"]
    anc = _json(response, "lab-charts-data")[0]
    assert (anc["x_min"], anc["x_max"]) == (-14, 100)
    assert [p["x"] for p in anc["series"][0]["points"]] == [12, 13]
    everything = _json(client.get(url + "?range=all"), "lab-charts-data")[0]
    assert [p["x"] for p in everything["series"][0]["points"]] == [12, 13, 206.5, 400]  # a gap point between


def test_edss_defaults_to_all_and_a_window_sends_only_its_assessments(client_for, clinician, patient, now):
    day0 = TODAY - timedelta(days=1500)
    _transplanted(patient, day0)
    EDSSAssessment.objects.create(patient=patient, assessed_on=day0 - timedelta(days=20), score=Decimal("3.0"))
    EDSSAssessment.objects.create(patient=patient, assessed_on=day0 + timedelta(days=300), score=Decimal("3.0"))
    EDSSAssessment.objects.create(patient=patient, assessed_on=day0 + timedelta(days=1400), score=Decimal("2.5"))
    client = client_for(clinician)
    url = reverse("recovery:patient-outcomes", args=[patient.uuid])
    response = client.get(url)
    assert _current(response) == ["all"]
    assert [p["y"] for p in _json(response, "edss-chart-data")["points"]] == [3.0, 3.0, None, 2.5]
    year = client.get(url + "?range=year")
    assert _current(year) == ["year"]
    # the first year starts at Day -14: the baseline (Day -20) is a line, not a point, there
    assert [p["y"] for p in _json(year, "edss-chart-data")["points"]] == [3.0]


def test_immune_charts_default_to_the_first_year_while_in_it(client_for, clinician, patient, now):
    day0 = TODAY - timedelta(days=200)
    _transplanted(patient, day0)
    LabResult.objects.create(
        patient=patient, test="cd4", value="0.1", unit="x10^9/L", collected_at=_at(patient, day0 + timedelta(days=90))
    )
    response = client_for(clinician).get(reverse("recovery:patient-immune", args=[patient.uuid]))
    assert _current(response) == ["year"]
    charts = _json(response, "lab-charts-data")
    assert [p["y"] for p in charts[0]["series"][0]["points"]] == [0.1]


def _history(client, query: str = ""):
    return client.get(reverse("recovery:my-history") + query)


def test_my_temperature_shows_the_last_year_in_follow_up_and_all_on_request(client_for, patient, now):
    _transplanted(patient, TODAY - timedelta(days=800))
    _report(patient, TODAY - timedelta(days=600), "38.4")
    _report(patient, TODAY - timedelta(days=20), "37.2")
    _report(patient, TODAY - timedelta(days=19), "37.3")  # weekly at most after the schedule: joined
    client = client_for(patient.user)
    response = _history(client)
    assert response.status_code == 200
    assert _current(response) == ["year"]
    assert [p["y"] for p in _json(response, "temperature-data")] == [37.2, 37.3]
    everything = _history(client, "?range=all")
    assert [p["y"] for p in _json(everything, "temperature-data")] == [38.4, None, 37.2, 37.3]
    assert _history(client, "?range=nonsense").status_code == 200


def test_my_temperature_says_so_when_the_window_has_no_reading(client_for, patient, now):
    day0 = TODAY - timedelta(days=9)
    _transplanted(patient, day0)
    _report(patient, day0 - timedelta(days=60), "37.0")  # before the first 100 days' window (Day -14)
    response = _history(client_for(patient.user))
    assert _current(response) == ["100d"]
    assert 'data-testid="no-chart-in-range"' in response.content.decode()
    assert 'id="temperature-data"' not in response.content.decode()


def test_a_patient_without_day0_gets_no_first_100_days(client_for, clinician, patient, now):
    _report(patient, TODAY - timedelta(days=3))
    response = _review(client_for(clinician), patient, "?range=100d")
    assert response.status_code == 200
    assert _current(response) == ["year"]
    assert 'data-range="100d"' not in response.content.decode()


def test_review_queries_do_not_grow_with_reports_in_a_window(client_for, clinician, patient, now):
    _transplanted(patient, TODAY - timedelta(days=800))
    client = client_for(clinician)
    _review(client, patient)
    with CaptureQueriesContext(connection) as few:
        _review(client, patient, "?range=year")
    for i in range(30):
        _report(patient, TODAY - timedelta(days=1 + i))
    with CaptureQueriesContext(connection) as many:
        _review(client, patient, "?range=year")
    assert len(many) == len(few)
