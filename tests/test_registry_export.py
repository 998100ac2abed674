"""The registry-ready export (issue 17 item 4): the items' rules, the rows, the files, who may download them, the
audit, the query count and the data dictionary. The seeded demo's rows are in tests/test_registry_seed.py."""

import csv
import io
import json
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts.models import Role
from recovery.clinical import registry as rules
from recovery.clinical.febrile_neutropenia import FNStatus
from recovery.clinical.labs_config import DEFAULT_LAB_CONFIG
from recovery.clinical.registry_items import ITEM_IDS, ITEMS, Missing, csv_header
from recovery.models import (
    ApheresisSession,
    AuditEvent,
    EDSSAssessment,
    EngraftmentConfirmation,
    EngraftmentKind,
    LabResult,
    LabTest,
    PatientStatus,
    Sex,
    SymptomReport,
    TransplantEpisode,
)
from recovery.queries.registry import REGISTRY_QUERIES, registry_rows
from tests.factories import CentreFactory, PatientFactory, UserFactory, transplant

DOCS = Path(__file__).resolve().parent.parent / "docs" / "registry-export.md"
TODAY = date(2026, 6, 1)
D0 = date(2026, 1, 1)  # Day +100 is 11 April 2026


# The rules, as tables ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confirmed", "recorded", "expected"),
    [
        (date(2026, 1, 12), date(2026, 1, 12), rules.Value(date(2026, 1, 12))),
        (None, date(2026, 1, 12), rules.Value(missing=Missing.NOT_CONFIRMED)),  # typed, never confirmed
        (date(2026, 1, 12), date(2026, 1, 14), rules.Value(missing=Missing.NOT_CONFIRMED)),  # changed since
        (None, None, rules.Value(missing=Missing.NOT_YET)),
        (date(2026, 1, 12), None, rules.Value(missing=Missing.NOT_YET)),  # confirmed, then cleared
        (TODAY + timedelta(days=1), TODAY + timedelta(days=1), rules.NOT_YET),  # a date still ahead is no fact
    ],
)
def test_engraftment_is_the_confirmed_date_only(confirmed, recorded, expected):
    assert rules.confirmed_engraftment(confirmed, recorded, TODAY) == expected


@pytest.mark.parametrize(
    ("results", "day0", "today", "detected", "highest"),
    [
        ([(D0 + timedelta(days=30), Decimal("4200"))], D0, TODAY, rules.Value("yes"), rules.Value(Decimal("4200"))),
        ([(D0 + timedelta(days=7), Decimal("0"))] * 3, D0, TODAY, rules.Value("no"), rules.Value(Decimal("0"))),
        # detected while the window is open: yes at once, the highest load only once it has closed
        ([(D0 + timedelta(days=7), Decimal("900"))], D0, D0 + timedelta(days=20), rules.Value("yes"), rules.NOT_YET),
        ([(D0 + timedelta(days=7), Decimal("0"))], D0, D0 + timedelta(days=20), rules.NOT_YET, rules.NOT_YET),
        # only results outside Day 0 to Day +100 (before Day 0, at Day +101): none in the window
        (
            [(D0 - timedelta(days=1), Decimal("900")), (D0 + timedelta(days=101), Decimal("50"))],
            D0,
            TODAY,
            rules.Value(missing=Missing.NOT_RECORDED),
            rules.Value(missing=Missing.NOT_RECORDED),
        ),
        # Day +100 itself is in the window
        ([(D0 + timedelta(days=100), Decimal("150"))], D0, TODAY, rules.Value("yes"), rules.Value(Decimal("150"))),
        ([], None, TODAY, rules.NOT_YET, rules.NOT_YET),
        ([], TODAY + timedelta(days=3), TODAY, rules.NOT_YET, rules.NOT_YET),  # a planned Day 0
        # a sample dated after today is no result (the window is still open)
        ([(D0 + timedelta(days=20), Decimal("900"))], D0, D0 + timedelta(days=10), rules.NOT_YET, rules.NOT_YET),
    ],
)
def test_viraemia_by_day_100(results, day0, today, detected, highest):
    assert rules.viraemia(results, day0, today) == (detected, highest)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (FNStatus.YES, rules.Value("yes")),
        (FNStatus.NO, rules.Value("no")),
        (FNStatus.PENDING, rules.NOT_YET),
        (FNStatus.NO_ANC, rules.Value(missing=Missing.NOT_RECORDED)),  # no ANC: never "no"
        (None, rules.NOT_YET),
    ],
)
def test_febrile_neutropenia(status, expected):
    assert rules.febrile_neutropenia(status) == expected


@pytest.mark.parametrize(
    ("deceased", "contact", "vital", "death"),
    [
        (False, D0, rules.Value("alive"), rules.NOT_APPLICABLE),
        (False, None, rules.UNKNOWN, rules.NOT_APPLICABLE),
        (True, D0, rules.Value("dead"), rules.NOT_HELD),  # the date of death is not held: never guessed
        (True, None, rules.Value("dead"), rules.NOT_HELD),
    ],
)
def test_vital_status_and_death(deceased, contact, vital, death):
    assert rules.vital_status(deceased, contact) == vital
    assert rules.death(deceased) == death


@pytest.mark.parametrize(
    ("day0", "today", "contact", "expected"),
    [
        (D0, TODAY, D0 + timedelta(days=100), rules.Value("alive")),
        (D0, TODAY, D0 + timedelta(days=99), rules.UNKNOWN),  # no contact since Day +100
        (D0, TODAY, None, rules.UNKNOWN),
        (D0, D0 + timedelta(days=99), D0 + timedelta(days=99), rules.NOT_YET),
        (None, TODAY, TODAY, rules.NOT_YET),
    ],
)
def test_day_100_status(day0, today, contact, expected):
    assert rules.day100_status(day0, today, contact) == expected


def test_last_contact_leaves_out_the_future():
    assert rules.last_contact([D0, None, TODAY + timedelta(days=1), D0 + timedelta(days=3)], TODAY) == date(2026, 1, 4)
    assert rules.last_contact([None], TODAY) is None


@pytest.mark.parametrize(
    ("mobilised", "gcsf", "expected"),
    [
        (D0, D0, rules.Value("cyclophosphamide+g_csf")),
        (D0, None, rules.Value("cyclophosphamide")),
        (None, D0, rules.Value("g_csf")),
        (None, None, rules.Value(missing=Missing.NOT_RECORDED)),
        (D0, TODAY + timedelta(days=1), rules.Value("cyclophosphamide")),  # G-CSF planned, not given
        (TODAY + timedelta(days=1), TODAY + timedelta(days=2), rules.NOT_YET),  # both planned
    ],
)
def test_mobilisation_agents(mobilised, gcsf, expected):
    assert rules.mobilisation_agents(mobilised, gcsf, TODAY) == expected


def test_a_value_is_a_value_or_a_code_never_both():
    with pytest.raises(ValueError, match="never both or neither"):
        rules.Value("x", Missing.UNKNOWN)
    with pytest.raises(ValueError, match="never both or neither"):
        rules.Value()
    assert rules.Value(Decimal("6.30")).text() == "6.3"
    assert rules.Value(Decimal("120000.0000")).text() == "120000"
    assert rules.Value(date(2026, 1, 2)).text() == "2026-01-02"
    assert rules.Value(missing=Missing.NOT_HELD).text() == ""


# The dictionary ------------------------------------------------------------------------------------------------


def test_the_docs_dictionary_is_the_modules():
    """docs/registry-export.md is written from the item definitions: regenerate it when they change."""
    assert DOCS.read_text(encoding="utf-8") == rules.dictionary_markdown(), (
        "Regenerate: .venv/bin/python -m recovery.clinical.registry > docs/registry-export.md"
    )
    text = DOCS.read_text(encoding="utf-8")
    assert all(f"`{item_id}`" in text for item_id in ITEM_IDS)
    assert "mapping review" in text


def test_item_ids_are_unique_and_named_by_form():
    assert len(set(ITEM_IDS)) == len(ITEMS)
    assert all(item_id.split(".")[0] in {"medA", "cibmtr"} for item_id in ITEM_IDS)


# The rows ------------------------------------------------------------------------------------------------------


def _at(patient, on: date, hour: int = 8) -> datetime:
    return datetime.combine(on, time(hour, 0), tzinfo=patient.tz)


@pytest.fixture
def transplanted(patient, clinician):
    """Day 0 150 days ago, neutrophils engrafted and confirmed on Day +11, two collections, an EDSS before Day 0,
    a febrile neutropenia on Day +3, EBV detected on Day +30 and CMV never."""
    day0 = timezone.localdate() - timedelta(days=150)
    episode = transplant(patient, day0, engrafted=day0 + timedelta(days=11))
    TransplantEpisode.objects.filter(pk=episode.pk).update(
        cd34_dose=Decimal("6.30"), gcsf_start_date=day0 - timedelta(days=29), cryostorage_date=day0 - timedelta(days=19)
    )
    for days, dose in ((20, "4.10"), (19, "2.20")):
        ApheresisSession.objects.create(episode=episode, collected_on=day0 - timedelta(days=days), cd34_per_kg=dose)
    EngraftmentConfirmation.objects.create(
        patient=patient,
        kind=EngraftmentKind.NEUTROPHIL,
        proposed_date=day0 + timedelta(days=11),
        confirmed_date=day0 + timedelta(days=11),
        confirmed_by=clinician,
    )
    EDSSAssessment.objects.create(patient=patient, assessed_on=day0 - timedelta(days=40), score=Decimal("4.0"))
    fever = _at(patient, day0 + timedelta(days=3))
    SymptomReport.objects.create(patient=patient, recorded_at=fever, temperature_c=Decimal("38.6"))
    lab = DEFAULT_LAB_CONFIG.unit
    LabResult.objects.create(
        patient=patient, test=LabTest.ANC, value=Decimal("0.2"), unit=lab("anc"), collected_at=fever
    )
    for days in (7, 30, 100):
        on = _at(patient, day0 + timedelta(days=days))
        ebv = Decimal("4200") if days == 30 else Decimal("0")
        LabResult.objects.create(patient=patient, test=LabTest.EBV_PCR, value=ebv, unit=lab("ebv_pcr"), collected_at=on)
        LabResult.objects.create(
            patient=patient, test=LabTest.CMV_PCR, value=Decimal("0"), unit=lab("cmv_pcr"), collected_at=on
        )
    patient.refresh_from_db()
    return patient


def _row(patient) -> dict[str, rules.Value]:
    (row,) = registry_rows([patient])
    assert list(row.values) == list(ITEM_IDS)
    return row.values


def test_a_transplanted_patients_row(transplanted):
    values = _row(transplanted)
    day0 = transplanted.episode.reinfusion_date
    assert values["medA.hsct_date"] == rules.Value(day0)
    assert values["medA.hsct_type"] == rules.Value("autologous")
    assert values["medA.diagnosis"] == rules.Value("multiple_sclerosis")
    assert values["medA.ms_type"] == rules.Value("RRMS")
    assert values["medA.edss_at_transplant"] == rules.Value(Decimal("4.0"))  # the assessment, not the baseline 3.5
    assert values["cibmtr.conditioning_regimen"] == rules.Value("cy_atg")
    assert values["cibmtr.conditioning_start_date"] == rules.Value(day0 - timedelta(days=5))
    assert values["cibmtr.mobilisation_agents"] == rules.Value("cyclophosphamide+g_csf")
    assert values["cibmtr.cd34_dose"].text() == "6.3"
    assert values["cibmtr.apheresis_sessions"] == rules.Value(2)
    assert values["cibmtr.apheresis_first_date"] == rules.Value(day0 - timedelta(days=20))
    sessions = f"{day0 - timedelta(days=20)};{day0 - timedelta(days=19)}"
    assert values["cibmtr.apheresis_dates"] == rules.Value(sessions)
    assert values["medA.stem_cell_source"] == rules.Value("peripheral_blood")
    assert values["medA.graft_cryopreserved"] == rules.Value("yes")
    assert values["medA.anc_recovery_date"] == rules.Value(day0 + timedelta(days=11))
    assert values["medA.platelet_recovery_date"] == rules.NOT_YET
    assert values["medA.febrile_neutropenia_d100"] == rules.Value("yes")
    assert values["medA.ebv_viraemia_d100"] == rules.Value("yes")
    assert values["medA.ebv_max_copies_d100"].text() == "4200"
    assert values["medA.cmv_viraemia_d100"] == rules.Value("no")
    assert values["medA.infection_grade3plus_d100"] == rules.NOT_HELD
    assert values["medA.last_contact_date"] == rules.Value(day0 + timedelta(days=100))  # the last PCR sample
    assert values["medA.day100_status"] == rules.Value("alive")
    assert values["medA.vital_status"] == rules.Value("alive")
    assert values["medA.death_date"] == rules.NOT_APPLICABLE


def test_an_engraftment_date_changed_after_its_confirmation_is_not_confirmed(transplanted):
    episode = transplanted.episode
    TransplantEpisode.objects.filter(pk=episode.pk).update(
        neutrophil_engraftment_date=episode.reinfusion_date + timedelta(days=13),
        platelet_engraftment_date=episode.reinfusion_date + timedelta(days=14),
    )
    values = _row(transplanted)
    assert values["medA.anc_recovery_date"] == rules.Value(missing=Missing.NOT_CONFIRMED)
    assert values["medA.platelet_recovery_date"] == rules.Value(missing=Missing.NOT_CONFIRMED)


def test_a_deceased_patient_is_dead_with_no_date_of_death(transplanted):
    transplanted.status = PatientStatus.DECEASED
    transplanted.save()
    values = _row(transplanted)
    assert values["medA.vital_status"] == rules.Value("dead")
    assert values["medA.death_date"] == rules.NOT_HELD
    assert values["medA.death_cause"] == rules.NOT_HELD
    assert values["medA.day100_status"] == rules.Value("alive")  # seen on Day +100


def test_what_the_app_does_not_hold_is_empty_with_a_code_never_guessed(centre):
    patient = PatientFactory(centre=centre, sex=Sex.UNKNOWN, ms_type="", ms_onset_date=None, baseline_edss=None)
    values = _row(patient)
    for item_id in ("medA.ms_type", "medA.ms_onset_date", "medA.edss_at_transplant", "medA.hsct_date"):
        assert values[item_id] == rules.Value(missing=Missing.NOT_RECORDED), item_id
    assert values["medA.sex"] == rules.UNKNOWN
    assert values["cibmtr.cd34_dose"].missing == Missing.NOT_RECORDED
    assert values["cibmtr.conditioning_regimen"].missing == Missing.NOT_RECORDED
    assert values["medA.anc_recovery_date"] == rules.NOT_YET
    assert values["medA.vital_status"] == rules.UNKNOWN  # no contact at all
    assert values["medA.infection_grade3plus_d100"] == rules.NOT_HELD
    assert all((v.value is None) != (v.missing is None) for v in values.values())


def test_a_planned_day_0_is_not_a_transplant_date(patient):
    transplant(patient, timezone.localdate() + timedelta(days=10))
    patient.refresh_from_db()
    values = _row(patient)
    assert values["medA.hsct_date"] == rules.NOT_YET
    assert values["medA.hsct_type"] == rules.NOT_YET
    assert values["medA.febrile_neutropenia_d100"] == rules.NOT_YET


def test_the_query_count_does_not_grow_with_the_patients(centre):
    patients = []
    for i in range(5):
        patient = PatientFactory(centre=centre)
        transplant(patient, timezone.localdate() - timedelta(days=120 + i), engrafted=None)
        patients.append(patient)
    counts = []
    for group in (patients[:1], patients):
        with CaptureQueriesContext(connection) as queries:
            rows = registry_rows(group)
        assert len(rows) == len(group)
        counts.append(len(queries.captured_queries))
    assert counts == [REGISTRY_QUERIES, REGISTRY_QUERIES]


# The downloads -------------------------------------------------------------------------------------------------


def _csv(response) -> list[dict[str, str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    reader = csv.reader(io.StringIO(text))
    header = next(reader)
    assert header == csv_header()
    return [dict(zip(header, line, strict=True)) for line in reader]


def test_the_patient_csv(client_for, coordinator, transplanted):
    transplanted.hospital_number = "=HYPERLINK(1)"
    transplanted.save()
    response = client_for(coordinator).get(reverse("recovery:patient-registry-csv", args=[transplanted.uuid]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    (row,) = _csv(response)
    assert row["medA.hsct_date"] == transplanted.episode.reinfusion_date.isoformat()
    assert row["medA.hsct_date.missing"] == ""
    assert row["cibmtr.cd34_dose"] == "6.3"
    assert row["medA.hospital_number"] == "'=HYPERLINK(1)"  # never a formula
    assert row["medA.death_date"] == ""
    assert row["medA.death_date.missing"] == "NA"
    assert row["medA.infection_grade3plus_d100.missing"] == "NH"


def test_the_patient_json(client_for, clinician, transplanted):
    response = client_for(clinician).get(reverse("recovery:patient-registry-json", args=[transplanted.uuid]))
    assert response.status_code == 200
    body = json.loads(response.content)
    assert set(body) == {"generated_at", "centre", "items", "patients"}
    assert body["centre"] == transplanted.centre.name
    assert [item["id"] for item in body["items"]] == list(ITEM_IDS)
    (row,) = body["patients"]
    assert row["cibmtr.conditioning_regimen"] == {"value": "cy_atg", "missing": None}
    assert row["medA.death_cause"] == {"value": None, "missing": "NA"}


def test_the_centre_export_has_its_transplanted_patients_only(
    client_for, coordinator, transplanted, other_patient, other_centre_patient
):
    transplant(other_centre_patient, timezone.localdate() - timedelta(days=30))
    not_yet = PatientFactory(centre=transplanted.centre)
    transplant(not_yet, timezone.localdate() + timedelta(days=5))  # planned: not transplanted yet
    response = client_for(coordinator).get(reverse("recovery:centre-registry-csv"))
    rows = _csv(response)
    assert [row["medA.hospital_number"] for row in rows] == [transplanted.hospital_number]
    body = json.loads(client_for(coordinator).get(reverse("recovery:centre-registry-json")).content)
    assert [row["medA.hospital_number"]["value"] for row in body["patients"]] == [transplanted.hospital_number]


def test_each_patient_exported_is_in_the_access_log(client_for, coordinator, transplanted):
    client_for(coordinator).get(reverse("recovery:centre-registry-csv"))
    assert AuditEvent.objects.filter(action="registry.export", patient=transplanted, actor=coordinator).count() == 1
    assert AuditEvent.objects.filter(action="registry.export_file", actor=coordinator).count() == 1


def test_the_centre_export_query_count_does_not_grow(client_for, coordinator, centre):
    client = client_for(coordinator)
    counts = []
    for more in (1, 4):
        for i in range(more):
            transplant(PatientFactory(centre=centre), timezone.localdate() - timedelta(days=200 + i))
        with CaptureQueriesContext(connection) as queries:
            response = client.get(reverse("recovery:centre-registry-json"))
        assert response.status_code == 200
        counts.append(len(queries.captured_queries))
    assert counts[0] == counts[1]


def test_nobody_else_gets_the_export(client_for, patient, other_centre_coordinator, transplanted, other_centre):
    for url in (
        reverse("recovery:patient-registry-csv", args=[transplanted.uuid]),
        reverse("recovery:patient-registry-json", args=[transplanted.uuid]),
    ):
        assert client_for(other_centre_coordinator).get(url).status_code == 404
        assert client_for(transplanted.user).get(url).status_code == 404  # the patient themself too
    assert client_for(transplanted.user).get(reverse("recovery:centre-registry-csv")).status_code == 404


def test_a_centre_is_chosen_among_ones_own(client_for, centre, other_centre, transplanted):
    both = UserFactory(role=Role.CLINICIAN, centres=[centre, other_centre])
    client = client_for(both)
    assert client.get(reverse("recovery:centre-registry-csv")).status_code == 400  # which one?
    response = client.get(reverse("recovery:centre-registry-csv"), {"centre": str(centre.uuid)})
    assert [row["medA.hospital_number"] for row in _csv(response)] == [transplanted.hospital_number]
    elsewhere = CentreFactory(name="Not Theirs")
    assert client.get(reverse("recovery:centre-registry-csv"), {"centre": str(elsewhere.uuid)}).status_code == 404
    assert client.get(reverse("recovery:centre-registry-csv"), {"centre": "not-a-uuid"}).status_code == 404


def test_the_links_on_the_patient_and_cohort_pages(client_for, clinician, coordinator, transplanted):
    page = client_for(coordinator).get(reverse("recovery:patient-detail", args=[transplanted.uuid]))
    assert reverse("recovery:patient-registry-csv", args=[transplanted.uuid]) in page.content.decode()
    cohort = client_for(clinician).get(reverse("recovery:cohort")).content.decode()
    assert f"{reverse('recovery:centre-registry-csv')}?centre={transplanted.centre.uuid}" in cohort
