"""The lab CSV import: every line is accepted, a duplicate or rejected with its reason; nothing is imported twice,
and a file with a wrong line imports nothing (all or nothing). The page queues a task and shows its progress."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from recovery.models import Alert, AuditEvent, LabImport, LabImportStatus, LabResult
from recovery.services.audit import AuditContext
from recovery.services.lab_csv import ACCEPTED, DUPLICATE, REJECTED, TEMPLATE_CSV
from recovery.services.lab_import import import_lab_csv
from recovery.tasks import run_lab_import as run_lab_import_task
from tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def pia(patient):
    patient.hospital_number = "UAS-1001"
    patient.timezone = "Europe/Stockholm"
    patient.save()
    return patient


def _yesterday() -> str:
    return (timezone.localdate() - timedelta(days=1)).isoformat()


def _import(user, centre, text: str, name="labs.csv"):
    from recovery.access import visible_patients

    return import_lab_csv(
        context=AuditContext(actor=user),
        centre=centre,
        patients=visible_patients(user).filter(centre=centre),
        filename=name,
        data=text.encode(),
    )


def _outcomes(result: LabImport) -> dict[int, tuple[str, str]]:
    return {line["line"]: (line["outcome"], line["message"]) for line in result.report}


def test_a_file_with_wrong_lines_imports_nothing_and_lists_each_wrong_line_with_its_reason(pia, coordinator, centre):
    """Malformed rows, unknown tests and patients, wrong units and implausible values are rejected with a reason;
    one wrong line and the good lines are not imported either (all or nothing)."""
    day = _yesterday()
    text = (
        "hospital_number,test,value,unit,collected_at\n"
        f"UAS-1001,anc,0.4,x10^9/L,{day} 07:30\n"  # 2 accepted
        f"UAS-1001,platelets,18000,/uL,{day} 07:30\n"  # 3 accepted, converted to 18
        f"UAS-1001,haemoglobin,9.5,g/dL,{day} 07:30\n"  # 4 accepted, converted to 95
        f"UAS-1001,cd4,0.15,mmol/L,{day} 07:30\n"  # 5 wrong unit
        f"UAS-9999,anc,0.4,x10^9/L,{day} 07:30\n"  # 6 unknown patient
        f"UAS-1001,ferritin,300,ug/L,{day} 07:30\n"  # 7 unknown test
        f"UAS-1001,anc,lots,x10^9/L,{day} 07:30\n"  # 8 not a number
        f"UAS-1001,anc,0.4,x10^9/L,yesterday\n"  # 9 bad time
        "UAS-1001,anc\n"  # 10 short row
        f"UAS-1001,anc,40000,x10^9/L,{day} 08:30\n"  # 11 implausible
        f"UAS-1001,wbc,1.2,,{day} 07:30\n"  # 12 no unit
        "\n"  # blank lines are skipped
        f"UAS-1001,anc,0.5,x10^9/L,{day}\n"  # 14 no time of day
        "UAS-1001,anc,0.5,x10^9/L,2999-01-01 07:00\n"  # 15 future
    )
    result = _import(coordinator, centre, text)
    outcomes = _outcomes(result)
    assert result.status == LabImportStatus.FAILED
    assert result.error.startswith("Nothing was imported: 10 lines have errors (listed below), of 13 in the file.")
    assert sorted(outcomes) == [5, 6, 7, 8, 9, 10, 11, 12, 14, 15]  # the wrong lines only
    assert {outcome for outcome, _ in outcomes.values()} == {REJECTED}
    assert (result.accepted, result.duplicates, result.rejected) == (0, 0, 10)
    assert "send it in x10^9/L" in outcomes[5][1]
    assert "No patient with hospital number “UAS-9999”" in outcomes[6][1]
    assert "Unknown test “ferritin”" in outcomes[7][1]
    assert "not a number" in outcomes[8][1]
    assert "not a date and time" in outcomes[9][1]
    assert "No unit" in outcomes[10][1]
    assert "40000 cells/µL is 40 \u00d710^9/L" in outcomes[11][1]
    assert "No unit" in outcomes[12][1]
    assert "no time of day" in outcomes[14][1]
    assert "future" in outcomes[15][1]
    assert not LabResult.objects.exists()
    assert AuditEvent.objects.filter(action="labs.import", detail__status="failed").count() == 1
    assert not AuditEvent.objects.filter(action="labs.record").exists()
    assert bytes(LabImport.objects.get().data) == b""  # the file is not kept once read


def test_good_lines_are_imported_with_their_units_converted_and_audited(pia, coordinator, centre):
    day = _yesterday()
    text = (
        "hospital_number,test,value,unit,collected_at\n"
        f"UAS-1001,anc,0.4,x10^9/L,{day} 07:30\n"
        f"UAS-1001,platelets,18000,/uL,{day} 07:30\n"  # converted to 18
        f"UAS-1001,haemoglobin,9.5,g/dL,{day} 07:30\n"  # converted to 95
    )
    result = _import(coordinator, centre, text)
    assert result.status == LabImportStatus.DONE
    assert [line["outcome"] for line in result.report] == [ACCEPTED] * 3
    values = dict(LabResult.objects.filter(patient=pia).values_list("test", "value"))
    assert values == {"anc": Decimal("0.4"), "platelets": Decimal("18"), "haemoglobin": Decimal("95")}
    assert LabResult.objects.filter(lab_import=result, source="csv", entered_by=coordinator).count() == 3
    assert AuditEvent.objects.filter(action="labs.import", detail__status="done").count() == 1
    assert AuditEvent.objects.filter(action="labs.record", patient=pia).count() == 1


def test_importing_the_same_file_twice_imports_nothing_the_second_time(pia, coordinator, centre):
    text = TEMPLATE_CSV.replace("2025-03-10", _yesterday()).replace("2025-06-02", _yesterday())
    first = _import(coordinator, centre, text)
    assert first.accepted == 4
    second = _import(coordinator, centre, text)
    assert (second.accepted, second.duplicates, second.rejected) == (0, 4, 0)
    assert LabResult.objects.count() == 4
    assert all("not imported again" in line["message"] for line in second.report)


def test_a_duplicate_within_the_file_is_imported_once(pia, coordinator, centre):
    day = _yesterday()
    text = (
        "hospital_number;test;value;unit;collected_at\n"  # semicolons, as European spreadsheets write
        f"UAS-1001;anc;0,4;x10^9/L;{day} 07:30\n"
        f"UAS-1001;anc;0.40;10^9/L;{day} 07:30\n"
    )
    result = _import(coordinator, centre, text)
    assert [line["outcome"] for line in result.report] == [ACCEPTED, DUPLICATE]
    assert LabResult.objects.get().value == Decimal("0.4")


def test_a_conflicting_value_within_the_file_is_rejected_and_nothing_is_imported(pia, coordinator, centre):
    day = _yesterday()
    text = (
        "hospital_number,test,value,unit,collected_at\n"
        f"UAS-1001,anc,0.4,x10^9/L,{day} 07:30\n"
        f"UAS-1001,anc,0.7,x10^9/L,{day} 07:30\n"
    )
    result = _import(coordinator, centre, text)
    assert result.status == LabImportStatus.FAILED
    assert [(line["line"], line["message"]) for line in result.report] == [
        (3, "An earlier line of this file gives another value for the same sample.")
    ]
    assert not LabResult.objects.exists()


def test_a_value_that_conflicts_with_a_stored_result_is_rejected(pia, coordinator, centre):
    day = _yesterday()
    _import(
        coordinator, centre, f"hospital_number,test,value,unit,collected_at\nUAS-1001,anc,0.4,x10^9/L,{day} 07:30\n"
    )
    result = _import(
        coordinator, centre, f"hospital_number,test,value,unit,collected_at\nUAS-1001,anc,0.9,x10^9/L,{day} 07:30\n"
    )
    assert result.report[0]["outcome"] == REJECTED
    assert "already recorded" in result.report[0]["message"]


def test_cd4_in_cells_per_microlitre_is_converted(pia, coordinator, centre):
    day = _yesterday()
    result = _import(
        coordinator,
        centre,
        f"Hospital number,Test,Result,Units,Collected\nUAS-1001,CD4,180,cells/µL,{day}T08:15:00+02:00\n",
    )
    assert result.accepted == 1
    stored = LabResult.objects.get()
    assert stored.value == Decimal("0.18")
    assert stored.collected_at == timezone.datetime.fromisoformat(f"{day}T06:15:00+00:00")


def test_a_time_without_an_offset_is_in_the_patients_zone(pia, coordinator, centre):
    day = _yesterday()
    _import(
        coordinator, centre, f"hospital_number,test,value,unit,collected_at\nUAS-1001,anc,1.1,x10^9/L,{day} 07:30\n"
    )
    assert timezone.localtime(LabResult.objects.get().collected_at, pia.tz).strftime("%H:%M") == "07:30"


def test_another_centres_patient_is_not_found(pia, coordinator, centre, other_centre):
    """A hospital number of another centre is unknown here: nothing about that patient is revealed or changed."""
    PatientFactory(centre=other_centre, hospital_number="OTHER-1")
    day = _yesterday()
    result = _import(
        coordinator, centre, f"hospital_number,test,value,unit,collected_at\nOTHER-1,anc,1.1,x10^9/L,{day} 07:30\n"
    )
    assert result.rejected == 1
    assert not LabResult.objects.exists()


def test_an_ebv_load_above_the_threshold_in_an_import_raises_an_alert(pia, coordinator, centre):
    day = _yesterday()
    _import(
        coordinator,
        centre,
        f"hospital_number,test,value,unit,collected_at\nUAS-1001,ebv,650000,copies/mL,{day} 07:30\n",
    )
    assert Alert.objects.filter(patient=pia, kind="ebv_viraemia").count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"name,value\nx,1\n", "lacks the column"),
        (b"\xff\xfe\x00\x00garbage", "Line 1 contains a control character"),
    ],
)
def test_a_file_that_cannot_be_read_saves_nothing(coordinator, centre, data, message):
    with pytest.raises(ValidationError, match=message):
        import_lab_csv(context=AuditContext(actor=coordinator), centre=centre, patients=[], filename="x.csv", data=data)
    assert not LabImport.objects.exists()


def _upload(client, pia, text: str):
    upload = SimpleUploadedFile("results.csv", text.encode(), content_type="text/csv")
    return client.post(reverse("recovery:lab-import"), {"file": upload, "centre": pia.centre_id})


def test_the_upload_is_queued_and_its_page_polls_its_progress_until_the_task_has_imported_it(
    client_for, coordinator, pia
):
    """The request only stores the file; the page shows the progress and polls it (htmx, no inline script) until
    the task has finished, then asks for a refresh and shows the line-by-line report (filterable, audited)."""
    client = client_for(coordinator)
    day = _yesterday()
    response = _upload(
        client,
        pia,
        f"hospital_number,test,value,unit,collected_at\nUAS-1001,anc,0.4,x10^9/L,{day} 07:30\n"
        f"UAS-1001,platelets,20,x10^9/L,{day} 07:30\n",
    )
    assert response.status_code == 302
    queued = LabImport.objects.get()
    assert queued.status == LabImportStatus.QUEUED
    assert bytes(queued.data).startswith(b"hospital_number")
    assert not LabResult.objects.exists()
    page = client.get(response["Location"]).content.decode()
    assert 'hx-trigger="every 2s"' in page
    assert "Waiting for the import to start" in page
    assert "vendor/htmx/htmx.min.js" in page
    assert "<script>" not in page
    assert "style=" not in page
    poll = client.get(response["Location"], headers={"HX-Request": "true"})
    assert 'hx-trigger="every 2s"' in poll.content.decode()
    assert "HX-Refresh" not in poll

    assert run_lab_import_task(queued.pk) == LabImportStatus.DONE  # what the worker runs

    poll = client.get(response["Location"], headers={"HX-Request": "true"})
    assert poll["HX-Refresh"] == "true"
    assert "hx-trigger" not in poll.content.decode()  # polling stops
    page = client.get(response["Location"]).content.decode()
    assert "hx-trigger" not in page
    assert "2 accepted" in page
    assert "Platelets 20" in page
    accepted_only = client.get(response["Location"] + "?show=duplicate").content.decode()
    assert 'data-outcome="accepted"' not in accepted_only
    assert AuditEvent.objects.filter(action="labs.import_view", actor=coordinator).count() == 3  # pages, not polls
    assert LabResult.objects.count() == 2


def test_the_page_of_a_failed_import_says_nothing_was_imported_and_lists_the_wrong_lines(client_for, coordinator, pia):
    client = client_for(coordinator)
    day = _yesterday()
    response = _upload(
        client,
        pia,
        f"hospital_number,test,value,unit,collected_at\nUAS-1001,anc,0.4,x10^9/L,{day} 07:30\nUAS-1001,anc,x,,\n",
    )
    run_lab_import_task(LabImport.objects.get().pk)
    page = client.get(response["Location"]).content.decode()
    assert "Nothing was imported: 1 line has an error (listed below), of 2 in the file." in page
    assert "No unit" in page
    assert 'data-outcome="accepted"' not in page
    assert not LabResult.objects.exists()


def test_the_progress_shows_the_lines_checked_while_the_task_runs(client_for, coordinator, pia):
    """What the task writes as it goes (rows_total, rows_done) is what the polled fragment shows."""
    result = LabImport.objects.create(
        centre=pia.centre,
        uploaded_by=coordinator,
        filename="big.csv",
        status=LabImportStatus.RUNNING,
        rows_total=20000,
        rows_done=7500,
    )
    url = reverse("recovery:lab-import-report", args=[result.uuid])
    fragment = client_for(coordinator).get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Checking the lines: 7500 of 20000 done." in fragment
    assert '<progress class="w-100" max="20000" value="7500">' in fragment
    LabImport.objects.filter(pk=result.pk).update(rows_done=20000)
    fragment = client_for(coordinator).get(url, headers={"HX-Request": "true"}).content.decode()
    assert "All 20000 lines checked: saving the results" in fragment


def test_the_upload_page_refuses_an_unreadable_file_with_a_message(client_for, coordinator, pia):
    upload = SimpleUploadedFile("results.csv", b"just,some,columns\n", content_type="text/csv")
    response = client_for(coordinator).post(reverse("recovery:lab-import"), {"file": upload, "centre": pia.centre_id})
    assert response.status_code == 200
    assert "lacks the column" in response.content.decode()


def test_the_template_csv_downloads(client_for, clinician):
    response = client_for(clinician).get(reverse("recovery:lab-import-template"))
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.decode().startswith("hospital_number,test,value,unit,collected_at")


def test_another_centres_staff_cannot_open_an_import_report(client_for, coordinator, other_centre_coordinator, pia):
    result = _import(coordinator, pia.centre, "hospital_number,test,value,unit,collected_at\n")
    url = reverse("recovery:lab-import-report", args=[result.uuid])
    assert client_for(other_centre_coordinator).get(url).status_code == 404
    assert client_for(coordinator).get(url).status_code == 200


@pytest.mark.parametrize("rows", [2, 300])
def test_the_report_page_query_count_does_not_grow_with_lines(
    client_for, coordinator, pia, django_assert_max_num_queries, rows
):
    day = _yesterday()
    lines = "".join(f"UAS-1001,anc,0.{i % 9 + 1},x10^9/L,{day} {i // 60:02d}:{i % 60:02d}\n" for i in range(rows))
    result = _import(coordinator, pia.centre, "hospital_number,test,value,unit,collected_at\n" + lines)
    assert result.accepted == rows
    client = client_for(coordinator)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("recovery:lab-import-report", args=[result.uuid]))
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("test", "value", "message"),
    [
        (
            "anc",
            "60",
            "An ANC of 60 \u00d710^9/L is not possible; 60 cells/µL is 0.06 \u00d710^9/L — did you mean 0.06?",
        ),
        ("cd4", "250", "A CD4 count of 250 \u00d710^9/L is not possible; 250 cells/µL is 0.25 \u00d710^9/L"),
        ("anc", "50.01", "An ANC of 50.01 \u00d710^9/L is not possible"),
    ],
)
def test_the_form_the_api_and_the_import_refuse_the_same_value_with_the_same_message(
    pia, coordinator, centre, client_for, api_for, test, value, message
):
    """One check for all three: the lab form, the API and the CSV import refuse the same implausible value with
    the same words, and none of them saves it."""
    local = timezone.localtime(timezone.now(), pia.tz) - timedelta(hours=2)
    unit = "x10^9/L"

    page = client_for(coordinator).post(
        reverse("recovery:lab-panel-add", args=[pia.uuid]),
        {"panel-collected_at": local.strftime("%Y-%m-%dT%H:%M"), f"panel-{test}": value},
    )
    assert page.status_code == 200
    assert f'value="{value}"' in page.content.decode()  # what was typed is kept
    form_message = page.context["panel"].errors[test][0]

    response = api_for(coordinator).post(
        f"/api/v1/patients/{pia.uuid}/labs/",
        {"test": test, "value": value, "unit": unit, "collected_at": local.isoformat()},
        format="json",
    )
    assert response.status_code == 400
    (api_message,) = response.json()["value"]

    text = f"hospital_number,test,value,unit,collected_at\nUAS-1001,{test},{value},{unit},{local:%Y-%m-%d %H:%M}\n"
    result = _import(coordinator, centre, text)
    (line,) = result.report
    assert line["outcome"] == REJECTED

    assert form_message == api_message == line["message"]
    assert message in form_message
    assert not LabResult.objects.exists()
