"""Stored cohort figures (recovery/services/analytics.py, issue 15 item 5: heavy pages never block the light ones).

The first view of a selection computes its figures; later views read them in a few queries whatever the number
of patients; expired or stale figures are shown with their time while exactly one refresh runs on the
"analytics" queue; a new configuration version is a new key; refreshed outcomes mark the centre's figures
stale; a staff member only ever reads the figures of their own centres.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from accounts.models import Role
from recovery.celery import ANALYTICS_QUEUE, DEFAULT_QUEUE
from recovery.celery import app as celery_app
from recovery.models import AnalyticsSnapshot, AuditEvent, CentreConfiguration
from recovery.queries.analytics import cohort_figures, cohort_key, cohort_payload, find_snapshot
from recovery.queries.cohort import CohortFilters, cohort_analysis
from recovery.services.analytics import REFRESH_TASK, cohort_snapshot, refresh_snapshot, request_snapshot_refresh
from recovery.services.outcome_summaries import refresh_outcome_summary
from recovery.tasks import refresh_analytics_snapshot
from tests.factories import UserFactory
from tests.test_cohort import generated_cohort

NOW = datetime(2044, 6, 1, 12, tzinfo=UTC)  # every generated Day 0 has happened
URL = "recovery:cohort"
# the tables a computation reads: a view of stored figures reads none of them
COHORT_TABLES = ("recovery_patientoutcomesummary", "recovery_transplantepisode", "recovery_symptomreport")


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def cohort(centre):
    return generated_cohort(centre, 5)


def _refreshes(callbacks) -> list[int]:
    return [f.refreshes_snapshot for f in callbacks if hasattr(f, "refreshes_snapshot")]


def _cohort_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if any(t in q["sql"] for t in COHORT_TABLES)]


def test_stored_figures_are_served_without_recomputation_in_the_same_few_queries_for_5_and_200_patients(
    client_for, clinician, centre, cohort
):
    client = client_for(clinician)
    first = client.get(reverse(URL))  # computes and stores
    assert first.context["analysis"].n == 5
    with CaptureQueriesContext(connection) as small:
        response = client.get(reverse(URL))
    assert response.context["analysis"].n == 5
    assert _cohort_queries(small) == []

    generated_cohort(centre, 195, start=5)  # not refreshed: the stored figures stay fresh
    with CaptureQueriesContext(connection) as large:
        response = client.get(reverse(URL))
    assert response.context["analysis"].n == 5
    assert len(large.captured_queries) == len(small.captured_queries) <= 12
    assert _cohort_queries(large) == []
    assert AnalyticsSnapshot.objects.count() == 1
    assert AuditEvent.objects.filter(action="cohort.view", actor=clinician).count() == 3  # one per view


def test_the_cohort_api_reads_the_dashboards_stored_figures(client_for, clinician, centre, cohort):
    """`GET /api/v1/cohort/outcomes/` answers from the same stored figures as the page: the same numbers, and no
    read of the patients' outcome rows once they are stored, however many patients were added since."""
    client = client_for(clinician)
    first = client.get("/api/v1/cohort/outcomes/")
    assert first.status_code == 200
    assert first.json()["neda3"]["n"] == 5
    assert AnalyticsSnapshot.objects.count() == 1
    generated_cohort(centre, 20, start=5)  # not refreshed: the stored figures stay fresh
    with CaptureQueriesContext(connection) as captured:
        again = client.get("/api/v1/cohort/outcomes/")
    assert again.json() == first.json()
    assert _cohort_queries(captured) == []
    page = client.get(reverse(URL))
    assert page.context["analysis"].n == 5
    assert AnalyticsSnapshot.objects.count() == 1  # the page and the API share one row


def test_the_cohort_api_answer_is_made_once_per_computation_of_the_figures(
    client_for, clinician, centre, cohort, time_machine
):
    """The API's answer (every curve point) is kept for the stored figures it came from: the same figures give the
    same answer without decoding them again, and figures computed again give the new answer."""
    client = client_for(clinician)
    first = client.get("/api/v1/cohort/outcomes/").json()
    assert first["neda3"]["n"] == 5
    assert first["neda3"]["curve"][0]["at_risk"] == 5
    generated_cohort(centre, 20, start=5)
    assert client.get("/api/v1/cohort/outcomes/").json() == first  # the same stored figures
    time_machine.move_to(NOW + timedelta(minutes=1), tick=False)
    snapshot = AnalyticsSnapshot.objects.get()
    assert request_snapshot_refresh(snapshot) is True  # claimed, as a view does when they are stale
    assert refresh_snapshot(snapshot_id=snapshot.pk) is not None  # and computed again, as the worker does
    again = client.get("/api/v1/cohort/outcomes/").json()
    assert again["neda3"]["n"] == 25
    assert again["neda3"]["curve"][0]["at_risk"] == 25
    assert AuditEvent.objects.filter(action="cohort.outcomes", actor=clinician).count() == 3  # each answer audited


def test_the_page_says_when_the_figures_were_computed(client_for, clinician, cohort, time_machine):
    client = client_for(clinician)
    # in the staff member's zone (Stockholm: 12:00 UTC is 14:00 in June)
    assert "Figures as of 14:00 today" in client.get(reverse(URL)).content.decode()
    time_machine.move_to(NOW + timedelta(minutes=7), tick=False)
    page = client.get(reverse(URL)).content.decode()
    assert "Figures as of 14:00 today, being refreshed" in page


def test_colleagues_of_the_same_centre_share_one_computation(client_for, clinician, centre, cohort):
    colleague = UserFactory(username="colleague", role=Role.CLINICIAN, centres=[centre])
    client_for(clinician).get(reverse(URL))
    with CaptureQueriesContext(connection) as captured:
        response = client_for(colleague).get(reverse(URL))
    assert response.context["analysis"].n == 5
    assert _cohort_queries(captured) == []
    assert AnalyticsSnapshot.objects.count() == 1


def test_expired_figures_are_shown_while_exactly_one_refresh_is_scheduled(
    client_for, clinician, centre, cohort, time_machine, django_capture_on_commit_callbacks, celery_eager
):
    client = client_for(clinician)
    client.get(reverse(URL))
    snapshot = AnalyticsSnapshot.objects.get()
    generated_cohort(centre, 3, start=5)
    time_machine.move_to(NOW + timedelta(minutes=6), tick=False)  # past ANALYTICS_MAX_AGE_SECONDS (300)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        views = [client.get(reverse(URL)) for _ in range(3)]
    assert [v.context["analysis"].n for v in views] == [5, 5, 5]  # the stored figures, at once
    assert all(v.context["snapshot"].refreshing for v in views)
    assert _refreshes(callbacks) == [snapshot.pk]  # one refresh for three views
    snapshot.refresh_from_db()
    assert snapshot.refreshing_until is None  # the callback ran the task (eager), which released the claim
    assert snapshot.computed_at == NOW + timedelta(minutes=6)

    with django_capture_on_commit_callbacks() as callbacks:
        response = client.get(reverse(URL))
    assert (response.context["analysis"].n, response.context["snapshot"].refreshing) == (8, False)
    assert _refreshes(callbacks) == []


def test_a_refresh_is_claimed_once_until_it_ends_or_its_lease_runs_out(
    clinician, cohort, settings, time_machine, django_capture_on_commit_callbacks
):
    settings.ANALYTICS_REFRESH_LEASE_SECONDS = 60
    key = cohort_key(clinician, CohortFilters())
    cohort_snapshot(user=clinician, filters=CohortFilters())
    snapshot = find_snapshot(key)
    with django_capture_on_commit_callbacks() as callbacks:
        assert request_snapshot_refresh(snapshot) is True
        assert request_snapshot_refresh(find_snapshot(key)) is False  # another process, same key
    assert len(_refreshes(callbacks)) == 1
    time_machine.move_to(NOW + timedelta(seconds=61), tick=False)  # the worker died: the lease ran out
    assert request_snapshot_refresh(find_snapshot(key)) is True
    assert refresh_snapshot(snapshot_id=snapshot.pk) is not None
    assert refresh_snapshot(snapshot_id=snapshot.pk) is None  # delivered twice: the second run does nothing


def test_a_view_that_finds_the_first_computation_under_way_says_so(client_for, clinician, cohort):
    key = cohort_key(clinician, CohortFilters())
    snapshot = AnalyticsSnapshot.objects.create(key=key.key, page=key.page, params=key.params)
    assert request_snapshot_refresh(snapshot)
    with CaptureQueriesContext(connection) as captured:
        response = client_for(clinician).get(reverse(URL))
    assert response.status_code == 200
    assert response.context["analysis"] is None
    assert "being computed for the first time" in response.content.decode()
    assert _cohort_queries(captured) == []


def test_a_new_configuration_version_is_a_new_key(client_for, clinician, centre, cohort):
    client = client_for(clinician)
    client.get(reverse(URL))
    before = cohort_key(clinician, CohortFilters()).key
    CentreConfiguration.objects.create(centre=centre, version=1, values={"outcomes": {"fn_single_c": 38.5}})
    after = cohort_key(clinician, CohortFilters())
    assert after.key != before
    response = client.get(reverse(URL))
    assert response.context["analysis"].safety.fn_config.fn_single_c == 38.5
    assert AnalyticsSnapshot.objects.get(key=after.key).params["config"] == {str(centre.pk): 1}


def test_filters_are_part_of_the_key(client_for, clinician, cohort):
    client = client_for(clinician)
    client.get(reverse(URL))
    client.get(reverse(URL), {"regimen": "beam_atg"})
    assert AnalyticsSnapshot.objects.count() == 2
    assert cohort_key(clinician, CohortFilters(regimen="beam_atg")).params["filters"] == {"regimen": "beam_atg"}


def test_refreshed_outcomes_mark_only_their_centres_figures_stale(
    client_for, clinician, other_centre_clinician, cohort, other_centre, django_capture_on_commit_callbacks
):
    generated_cohort(other_centre, 2, start=100)
    client_for(clinician).get(reverse(URL))
    client_for(other_centre_clinician).get(reverse(URL))
    ours = find_snapshot(cohort_key(clinician, CohortFilters()))
    theirs = find_snapshot(cohort_key(other_centre_clinician, CohortFilters()))

    refresh_outcome_summary(cohort[0])
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.stale_since is not None
    assert theirs.stale_since is None

    with django_capture_on_commit_callbacks() as callbacks:
        response = client_for(clinician).get(reverse(URL))
    assert response.context["snapshot"].refreshing
    assert _refreshes(callbacks) == [ours.pk]


def test_a_staff_member_only_ever_reads_their_own_centres_figures(
    client_for, clinician, other_centre_clinician, centre, other_centre, cohort
):
    generated_cohort(other_centre, 2, start=100)
    both = UserFactory(username="both", role=Role.CLINICIAN, centres=[centre, other_centre])
    assert client_for(other_centre_clinician).get(reverse(URL)).context["analysis"].n == 2
    assert client_for(clinician).get(reverse(URL)).context["analysis"].n == 5
    assert client_for(both).get(reverse(URL)).context["analysis"].n == 7
    # their own centre picked in the filter: the figures of that centre, under that centre's key
    response = client_for(both).get(reverse(URL), {"centre": other_centre.uuid})
    assert response.context["analysis"].n == 2
    assert (
        cohort_key(both, CohortFilters(centre=other_centre)).key
        == cohort_key(other_centre_clinician, CohortFilters()).key
    )
    assert sorted(len(s.centres.all()) for s in AnalyticsSnapshot.objects.all()) == [1, 1, 2]
    # another centre's uuid is refused by the form: no figures
    assert client_for(clinician).get(reverse(URL), {"centre": other_centre.uuid}).context["analysis"] is None


def test_stored_figures_are_the_computed_ones(clinician, centre, cohort):
    analysis = cohort_analysis(clinician, CohortFilters())
    figures = cohort_figures(cohort_payload(analysis), CohortFilters())
    assert (figures.n, figures.with_follow_up) == (analysis.n, analysis.with_follow_up)
    assert figures.endpoints == analysis.endpoints
    assert figures.safety == analysis.safety


def test_the_refresh_runs_on_the_analytics_queue_which_a_plain_worker_also_consumes():
    assert refresh_analytics_snapshot.name == REFRESH_TASK
    route = celery_app.amqp.router.route({}, REFRESH_TASK)
    assert route["queue"].name == ANALYTICS_QUEUE
    assert celery_app.amqp.router.route({}, "recovery.tasks.refresh_stale_outcomes")["queue"].name == DEFAULT_QUEUE
    # a worker started without -Q consumes every queue of task_queues
    assert {q.name for q in celery_app.conf.task_queues} == {DEFAULT_QUEUE, ANALYTICS_QUEUE}


def test_a_view_after_midnight_in_the_staff_zone_reads_the_servers_date(
    client_for, clinician, cohort, time_machine, django_capture_on_commit_callbacks
):
    """Figures are dated by the server's zone (UTC), so a Stockholm view at 00:01 local time (22:01 UTC) does not
    take figures computed three minutes earlier for yesterday's."""
    time_machine.move_to(datetime(2044, 6, 1, 21, 58, tzinfo=UTC), tick=False)
    client = client_for(clinician)
    client.get(reverse(URL))
    time_machine.move_to(datetime(2044, 6, 1, 22, 1, tzinfo=UTC), tick=False)
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.get(reverse(URL))
    assert response.context["snapshot"].refreshing is False
    assert _refreshes(callbacks) == []
