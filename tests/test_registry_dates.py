"""The registry export never reports a plan as a fact (issue 17 review): a date still ahead, and the values tied
to it, are NY; every rule uses the patient's own today, and the centre's export selects the transplanted on it.
The other items and the downloads are in tests/test_registry_export.py."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from recovery.clinical import registry as rules
from recovery.clinical.registry_items import ITEM_IDS, Missing
from recovery.models import ApheresisSession, TransplantEpisode
from recovery.queries.registry import REGISTRY_QUERIES, centre_rows, registry_rows
from tests.factories import PatientFactory, transplant

TODAY = date(2026, 6, 1)


def _row(patient) -> dict[str, rules.Value]:
    (row,) = registry_rows([patient])
    assert list(row.values) == list(ITEM_IDS)
    return row.values


# The rules, as tables ------------------------------------------------------------------------------------------


NR = rules.Value(missing=Missing.NOT_RECORDED)


@pytest.mark.parametrize(
    ("on", "expected"),
    [
        (TODAY - timedelta(days=3), rules.Value(TODAY - timedelta(days=3))),  # done: the date
        (TODAY, rules.Value(TODAY)),  # today counts as done
        (TODAY + timedelta(days=1), rules.NOT_YET),  # planned: not a fact
        (None, NR),
    ],
)
def test_a_date_is_reported_only_once_it_has_come(on, expected):
    assert rules.past_date(on, TODAY) == expected
    assert rules.transplant_date(on, TODAY) == expected


@pytest.mark.parametrize(
    ("value", "on", "expected"),
    [
        (rules.Value(Decimal("6.3")), TODAY - timedelta(days=1), rules.Value(Decimal("6.3"))),
        (rules.Value(Decimal("6.3")), TODAY + timedelta(days=1), rules.NOT_YET),  # a collection still ahead
        (rules.Value(Decimal("6.3")), None, rules.Value(Decimal("6.3"))),  # no date: as recorded
        (NR, TODAY + timedelta(days=1), rules.NOT_YET),
        (NR, None, NR),
    ],
)
def test_a_value_tied_to_a_step_waits_for_it(value, on, expected):
    assert rules.once_done(value, on, TODAY) == expected


@pytest.mark.parametrize(
    ("dates", "count", "text"),
    [
        ([TODAY - timedelta(days=2), TODAY - timedelta(days=3)], rules.Value(2), rules.Value("2026-05-29;2026-05-30")),
        ([TODAY + timedelta(days=1), TODAY - timedelta(days=1)], rules.Value(1), rules.Value("2026-05-31")),
        ([TODAY + timedelta(days=1), TODAY + timedelta(days=2)], rules.NOT_YET, rules.NOT_YET),
        ([], NR, NR),
    ],
)
def test_only_the_collections_done_are_counted(dates, count, text):
    assert rules.past_dates(dates, TODAY) == (count, text)


FUTURE, PAST = TODAY + timedelta(days=4), TODAY - timedelta(days=4)


@pytest.mark.parametrize(
    ("cryostored", "first_apheresis", "expected"),
    [
        (PAST, PAST, rules.Value("yes")),
        (FUTURE, PAST, rules.NOT_YET),
        (None, FUTURE, rules.NOT_YET),  # the collection itself is still ahead
        (None, PAST, NR),
        (None, None, NR),
    ],
)
def test_graft_cryopreserved(cryostored, first_apheresis, expected):
    assert rules.graft_cryopreserved(cryostored, first_apheresis, TODAY) == expected


@pytest.mark.parametrize(
    ("first_apheresis", "expected"),
    [(PAST, rules.Value("peripheral_blood")), (FUTURE, rules.NOT_YET), (None, NR)],
)
def test_stem_cell_source(first_apheresis, expected):
    assert rules.stem_cell_source(first_apheresis, TODAY) == expected


@pytest.mark.parametrize(
    ("protocol", "conditioning", "day0", "expected"),
    [
        (rules.Value("cy_atg"), PAST, FUTURE, rules.Value("cy_atg")),  # conditioning has begun
        (rules.Value("cy_atg"), None, PAST, rules.Value("cy_atg")),
        (rules.Value("cy_atg"), FUTURE, FUTURE, rules.NOT_YET),  # chosen, not given
        (rules.Value("cy_atg"), None, None, rules.NOT_YET),
        (NR, PAST, PAST, NR),
    ],
)
def test_the_regimen_once_conditioning_has_begun(protocol, conditioning, day0, expected):
    assert rules.conditioning_regimen(protocol, conditioning, day0, TODAY) == expected


# The rows ---------------------------------------------------------------------------------------------------


def test_a_patient_before_day_0_has_no_planned_step_as_a_fact(patient):
    """Downloaded before Day 0: the steps still ahead are NY, the ones done are their dates."""
    today = timezone.localdate()
    episode = transplant(
        patient, today + timedelta(days=25), mobilised_days_before=30, collected_days_before=10
    )  # mobilised 5 days ago, collection in 15 days, conditioning in 20
    TransplantEpisode.objects.filter(pk=episode.pk).update(
        gcsf_start_date=today + timedelta(days=1), cd34_dose=Decimal("5.0"), cryostorage_date=today + timedelta(days=16)
    )
    ApheresisSession.objects.create(episode=episode, collected_on=today + timedelta(days=15), cd34_per_kg="5.0")
    patient.refresh_from_db()
    values = _row(patient)
    assert values["cibmtr.mobilisation_date"] == rules.Value(today - timedelta(days=5))  # done: the date
    assert values["cibmtr.mobilisation_agents"] == rules.Value("cyclophosphamide")  # G-CSF not started yet
    for item_id in (
        "cibmtr.gcsf_start_date",
        "cibmtr.apheresis_first_date",
        "cibmtr.apheresis_sessions",
        "cibmtr.apheresis_dates",
        "cibmtr.cd34_dose",
        "medA.graft_cryopreserved",
        "medA.stem_cell_source",
        "cibmtr.conditioning_start_date",
        "cibmtr.conditioning_regimen",
        "cibmtr.conditioning_regimen_name",
        "medA.edss_at_transplant",
        "medA.hsct_date",
    ):
        assert values[item_id] == rules.NOT_YET, item_id


# UTC is 10:30 on 1 June: it is already 2 June on Kiritimati (UTC+14), still 31 May in Pago Pago (UTC-11).
NOW = datetime(2026, 6, 1, 10, 30, tzinfo=UTC)


@pytest.fixture
def zones(centre):
    """Two patients whose Day 0 differs from the server's (UTC) today: `ahead` on Kiritimati with Day 0 on its
    local 2 June (tomorrow in UTC), `behind` in Pago Pago with Day 0 on 1 June (today in UTC, tomorrow there)."""
    with time_machine.travel(NOW, tick=False):
        ahead = PatientFactory(centre=centre, timezone="Pacific/Kiritimati", hospital_number="AHEAD")
        behind = PatientFactory(centre=centre, timezone="Pacific/Pago_Pago", hospital_number="BEHIND")
        transplant(ahead, date(2026, 6, 2))
        transplant(behind, date(2026, 6, 1))
    ahead.refresh_from_db()
    behind.refresh_from_db()
    return ahead, behind


@pytest.mark.parametrize(
    ("which", "hsct_date", "hsct_type"),
    [
        (0, rules.Value(date(2026, 6, 2)), rules.Value("autologous")),  # Day 0 locally, not yet on the server
        (1, rules.NOT_YET, rules.NOT_YET),  # Day 0 on the server, not yet where the patient is
    ],
)
def test_day_0_is_the_patients_own_today(zones, which, hsct_date, hsct_type):
    with time_machine.travel(NOW, tick=False):
        values = _row(zones[which])
    assert values["medA.hsct_date"] == hsct_date
    assert values["medA.hsct_type"] == hsct_type


def test_the_centre_export_selects_transplanted_on_the_patients_own_today(zones, coordinator, centre):
    ahead, behind = zones
    with time_machine.travel(NOW, tick=False):
        rows = centre_rows(coordinator, centre)
        assert [row.patient for row in rows] == [ahead]  # not `behind`: still 31 May in Pago Pago
        assert rows[0].values["medA.hsct_date"] == rules.Value(date(2026, 6, 2))
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):  # 1 June, 00:30 in Pago Pago
        assert {row.patient for row in centre_rows(coordinator, centre)} == {ahead, behind}


def test_the_query_count_does_not_depend_on_the_zones(zones, coordinator, centre):
    with time_machine.travel(NOW + timedelta(hours=1), tick=False), CaptureQueriesContext(connection) as queries:
        rows = registry_rows(list(zones))
    assert len(rows) == 2
    assert len(queries.captured_queries) == REGISTRY_QUERIES
