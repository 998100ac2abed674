"""Issue 17's "done when": the registry export exists for every seeded transplanted patient (`make run` seeds the
demo with `seed_demo`, which also seeds the historical cohort). Every test here reads the one demo this module
seeds (the `demo` fixture of tests/conftest.py)."""

import csv
import io

import pytest
from django.urls import reverse

from accounts.models import Centre
from recovery.clinical import registry as rules
from recovery.clinical.registry_items import ITEM_IDS, Missing
from recovery.management.commands.seed_demo import COHORT_PREFIX
from recovery.models import Patient
from recovery.queries.registry import REGISTRY_QUERIES, registry_rows
from recovery.queries.timeline import patient_today

pytestmark = pytest.mark.slow


def _transplanted() -> list[Patient]:
    patients = Patient.objects.filter(episode__reinfusion_date__isnull=False).select_related("episode__protocol")
    return [p for p in patients if p.episode.reinfusion_date <= patient_today(p)]


def test_every_seeded_transplanted_patient_has_a_full_row(demo, db, django_assert_max_num_queries):
    transplanted = _transplanted()
    assert len(transplanted) > 174  # the historical cohort and the demo centre's patients after Day 0
    with django_assert_max_num_queries(REGISTRY_QUERIES):
        rows = registry_rows(transplanted)
    assert len(rows) == len(transplanted)
    by_pk = {p.pk: p for p in transplanted}
    for row in rows:
        episode = by_pk[row.patient.pk].episode
        values = row.values
        where = row.patient.hospital_number
        assert list(values) == list(ITEM_IDS), where
        assert values["medA.hsct_date"] == rules.Value(episode.reinfusion_date), where
        assert values["medA.hsct_type"] == rules.Value("autologous"), where
        assert values["cibmtr.conditioning_regimen"] == rules.Value(episode.protocol.code), where
        assert values["cibmtr.cd34_dose"] == rules.Value(episode.cd34_dose), where
        assert values["cibmtr.mobilisation_date"] == rules.Value(episode.mobilisation_date), where
        assert values["cibmtr.apheresis_first_date"] == rules.Value(episode.apheresis_date), where
        assert values["medA.vital_status"].value in {"alive", "dead"} or values["medA.vital_status"] == rules.UNKNOWN
        assert values["medA.infection_grade3plus_d100"] == rules.NOT_HELD, where


def test_the_seeded_engraftment_dates_are_exported_only_when_confirmed(demo, db):
    """The demo confirms each neutrophil engraftment of its synthetic patients (seed_demo._labs): exported as that
    date. The platelet dates it records, and the historical cohort's dates (typed, never confirmed in the app),
    are coded NC: never passed off as confirmed."""
    rows = registry_rows(_transplanted())
    engrafted = [row for row in rows if row.patient.episode.neutrophil_engraftment_date is not None]
    confirmed = [row for row in engrafted if not row.patient.hospital_number.startswith(COHORT_PREFIX)]
    historical = [row for row in engrafted if row.patient.hospital_number.startswith(COHORT_PREFIX)]
    assert confirmed
    assert historical
    for row in confirmed:
        assert row.values["medA.anc_recovery_date"] == rules.Value(row.patient.episode.neutrophil_engraftment_date)
    for row in historical:
        assert row.values["medA.anc_recovery_date"] == rules.Value(missing=Missing.NOT_CONFIRMED)
    for row in engrafted:
        if row.patient.episode.platelet_engraftment_date is not None:
            assert row.values["medA.platelet_recovery_date"] == rules.Value(missing=Missing.NOT_CONFIRMED)


def test_the_demo_clinician_downloads_the_centres_file(demo, client_for, db):
    centre = Centre.objects.get(pk=demo["_patient"].centre_id)
    response = client_for(demo["clinician"]).get(reverse("recovery:centre-registry-csv"))
    assert response.status_code == 200
    lines = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8"))))
    expected = {p.hospital_number for p in _transplanted() if p.centre_id == centre.pk}
    assert {line["medA.hospital_number"] for line in lines} == expected
    assert all(line["medA.hsct_date"] and line["cibmtr.conditioning_regimen"] for line in lines)
