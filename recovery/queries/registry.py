"""The registry export's rows (issue 17 item 4): one row per patient, the EBMT MED-A day-100 and CIBMTR core items
the app holds (defined in recovery/clinical/registry_items.py, derived by recovery/clinical/registry.py).

Every row of any number of patients is read in a fixed number of queries (REGISTRY_QUERIES): one per kind of
record, never one per patient. Nothing here writes; the views audit each patient exported.
"""

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import Max, QuerySet
from django.utils import timezone

from accounts.models import Centre, User
from recovery import access
from recovery.clinical import registry as rules
from recovery.clinical.outcomes import Assessment, baseline_edss
from recovery.clinical.phases import local_date
from recovery.clinical.registry_items import ITEM_IDS, ITEMS, Missing, csv_header
from recovery.clinical.timeline import EventStatus
from recovery.models import (
    ApheresisSession,
    EDSSAssessment,
    EngraftmentConfirmation,
    EngraftmentKind,
    LabResult,
    LabTest,
    MRIScan,
    Patient,
    PatientStatus,
    Sex,
    SymptomReport,
    TimelineEvent,
    VaccinationDose,
)
from recovery.queries.cohort_rows import febrile_neutropenia
from recovery.queries.configuration import active_configs

# The queries `registry_rows` makes for any number of patients (tests/test_registry_export.py holds it to this):
# the patients, collections, confirmations, EDSS, PCR results, centre configurations, temperatures and ANC for
# the febrile-neutropenia rule, and the six kinds of contact.
REGISTRY_QUERIES = 14

# A patient's local date is at most this far from UTC's (UTC-12 to UTC+14), so a date filter widened by it never
# misses anyone (as recovery/queries/reporting.py).
_TZ_SLACK = timedelta(days=1)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # as the cohort CSV (recovery/queries/cohort.py)


@dataclass(frozen=True)
class RegistryRow:
    patient: Patient
    values: dict[str, rules.Value]  # by item id, in ITEM_IDS order


def centre_patients(user: User, centre: Centre) -> QuerySet[Patient]:
    """A superset, in SQL, of the transplanted patients of one of the user's centres: a Day 0 on or before the
    latest local today anywhere, deactivated patients included (a registry counts every transplant), erased ones
    not (their personal data are gone). `centre_rows` keeps those whose Day 0 has come in their own time zone."""
    latest_today = (timezone.now() + _TZ_SLACK).date()
    return access.visible_patients(user, include_deactivated=True).filter(
        centre=centre, episode__reinfusion_date__lte=latest_today, erased_at__isnull=True
    )


def centre_rows(user: User, centre: Centre) -> list[RegistryRow]:
    """The registry rows of the centre's transplanted patients (Day 0 today or earlier where each patient is)."""
    return registry_rows(centre_patients(user, centre), transplanted_only=True)


def _patients(patients) -> list[Patient]:
    pks = [p.pk for p in patients] if isinstance(patients, list | tuple) else patients.values("pk")
    return list(
        Patient.objects.filter(pk__in=pks)
        .select_related("centre", "episode__protocol")
        .order_by("episode__reinfusion_date", "hospital_number", "pk")
    )


def _episode(patient: Patient):
    try:
        return patient.episode
    except Patient.episode.RelatedObjectDoesNotExist:
        return None


def _latest_by_patient(queryset, field: str, date_field: str) -> dict[int, object]:
    rows = queryset.order_by().values(field).annotate(latest=Max(date_field)).values_list(field, "latest")
    return dict(rows)


def _contacts(pks: list[int]) -> dict[int, list]:
    """Each patient's latest date of each kind of contact (datetimes for check-ins and samples), six queries."""
    now = timezone.now()
    found: dict[int, list] = defaultdict(list)
    sources = (
        (SymptomReport.objects.filter(patient_id__in=pks, recorded_at__lte=now), "patient_id", "recorded_at"),
        (LabResult.objects.filter(patient_id__in=pks, collected_at__lte=now), "patient_id", "collected_at"),
        (EDSSAssessment.objects.filter(patient_id__in=pks), "patient_id", "assessed_on"),
        (MRIScan.objects.filter(patient_id__in=pks), "patient_id", "scan_date"),
        (VaccinationDose.objects.filter(patient_id__in=pks), "patient_id", "given_date"),
        (
            TimelineEvent.objects.filter(
                episode__patient_id__in=pks, status=EventStatus.DONE, actual_date__isnull=False
            ),
            "episode__patient_id",
            "actual_date",
        ),
    )
    for queryset, field, date_field in sources:
        for pk, latest in _latest_by_patient(queryset, field, date_field).items():
            found[pk].append(latest)
    return found


def _local_date(value, patient: Patient) -> date:
    return timezone.localtime(value, patient.tz).date() if isinstance(value, datetime) else value


def _day0(patient: Patient) -> date | None:
    episode = _episode(patient)
    return episode.reinfusion_date if episode else None


def registry_rows(patients, *, transplanted_only: bool = False) -> list[RegistryRow]:
    """The registry rows of these patients (a list or a queryset), ordered by Day 0, in REGISTRY_QUERIES queries.

    Every rule is applied on the patient's own today (their time zone), taken from one instant; with
    `transplanted_only`, the patients whose Day 0 has not come yet where they are are left out."""
    now = timezone.now()
    patients = _patients(patients)
    todays = {p.pk: local_date(now, p.timezone) for p in patients}
    if transplanted_only:
        patients = [p for p in patients if rules.transplanted(_day0(p), todays[p.pk])]
    pks = [p.pk for p in patients]
    sessions: dict[int, list[date]] = defaultdict(list)
    for pk, on in ApheresisSession.objects.filter(episode__patient_id__in=pks).values_list(
        "episode__patient_id", "collected_on"
    ):
        sessions[pk].append(on)
    confirmed: dict[tuple[int, str], date] = {}
    for pk, kind, on in (
        EngraftmentConfirmation.objects.filter(patient_id__in=pks)
        .order_by("created_at", "id")
        .values_list("patient_id", "kind", "confirmed_date")
    ):
        confirmed[(pk, kind)] = on  # the latest confirmation of each kind wins
    edss: dict[int, list[Assessment]] = defaultdict(list)
    for pk, on, score in (
        EDSSAssessment.objects.filter(patient_id__in=pks)
        .order_by("assessed_on", "id")
        .values_list("patient_id", "assessed_on", "score")
    ):
        edss[pk].append(Assessment(on, score))
    loads: dict[tuple[int, str], list[tuple[datetime, Decimal]]] = defaultdict(list)
    for pk, test, at, value in LabResult.objects.filter(
        patient_id__in=pks, test__in=[LabTest.EBV_PCR, LabTest.CMV_PCR]
    ).values_list("patient_id", "test", "collected_at", "value"):
        loads[(pk, test)].append((at, value))
    with_day0 = [p for p in patients if rules.transplanted(_day0(p), todays[p.pk])]
    configs = active_configs({p.centre_id for p in patients})
    fn = febrile_neutropenia(with_day0, configs, todays) if with_day0 else {}
    contacts = _contacts(pks)
    rows = []
    for patient in patients:
        context = _Context(
            sessions=sorted(sessions[patient.pk]),
            neutrophil=confirmed.get((patient.pk, EngraftmentKind.NEUTROPHIL)),
            platelet=confirmed.get((patient.pk, EngraftmentKind.PLATELET)),
            edss=edss[patient.pk],
            ebv=[(_local_date(at, patient), v) for at, v in loads[(patient.pk, LabTest.EBV_PCR)]],
            cmv=[(_local_date(at, patient), v) for at, v in loads[(patient.pk, LabTest.CMV_PCR)]],
            fn_status=fn[patient.pk].status if patient.pk in fn else None,
            contacts=[_local_date(on, patient) for on in contacts[patient.pk]],
        )
        rows.append(RegistryRow(patient=patient, values=_values(patient, context, todays[patient.pk])))
    return rows


@dataclass(frozen=True)
class _Context:
    """What `registry_rows` read about one patient, besides the patient and the episode."""

    sessions: list[date]
    neutrophil: date | None
    platelet: date | None
    edss: list[Assessment]
    ebv: list[tuple[date, Decimal]]
    cmv: list[tuple[date, Decimal]]
    fn_status: str | None
    contacts: list[date]


def _values(patient: Patient, context: _Context, today: date) -> dict[str, rules.Value]:
    """The items of one patient on `today`, the patient's local date; no date ahead of it is reported as a fact."""
    of = rules.of
    episode = _episode(patient)
    day0 = episode.reinfusion_date if episode else None
    done = rules.transplanted(day0, today)
    protocol = episode.protocol if episode and episode.protocol_id else None
    deceased = patient.status == PatientStatus.DECEASED
    contact = rules.last_contact(context.contacts, today)
    collections = [d for d in (episode.apheresis_date if episode else None, *context.sessions) if d]
    first_apheresis = min(collections, default=None)
    sessions, session_dates = rules.past_dates(context.sessions, today)
    dated = {  # the episode's dates of the steps before Day 0, each reported only once it has come
        name: rules.past_date(getattr(episode, name) if episode else None, today)
        for name in ("mobilisation_date", "gcsf_start_date", "conditioning_start_date")
    }
    ebv_detected, ebv_max = rules.viraemia(context.ebv, day0, today)
    cmv_detected, cmv_max = rules.viraemia(context.cmv, day0, today)
    values = {
        "medA.centre": of(patient.centre.name),
        "medA.hospital_number": of(patient.hospital_number),
        "medA.date_of_birth": of(patient.date_of_birth),
        "medA.sex": of(None, Missing.UNKNOWN) if patient.sex == Sex.UNKNOWN else of(patient.sex),
        "medA.diagnosis": rules.Value("multiple_sclerosis"),
        "medA.ms_type": of(patient.ms_type),
        "medA.ms_onset_date": of(patient.ms_onset_date),
        "medA.edss_at_transplant": rules.once_done(
            of(baseline_edss(context.edss, day0, patient.baseline_edss)), day0, today
        ),
        "medA.hsct_date": rules.transplant_date(day0, today),
        "medA.hsct_type": rules.Value("autologous") if done else rules.transplant_date(day0, today),
        "medA.stem_cell_source": rules.stem_cell_source(first_apheresis, today),
        "medA.graft_cryopreserved": rules.graft_cryopreserved(
            episode.cryostorage_date if episode else None, first_apheresis, today
        ),
        "cibmtr.mobilisation_agents": rules.mobilisation_agents(
            episode.mobilisation_date if episode else None, episode.gcsf_start_date if episode else None, today
        ),
        "cibmtr.mobilisation_date": dated["mobilisation_date"],
        "cibmtr.gcsf_start_date": dated["gcsf_start_date"],
        "cibmtr.apheresis_first_date": rules.past_date(first_apheresis, today),
        "cibmtr.apheresis_sessions": sessions,
        "cibmtr.apheresis_dates": session_dates,
        # the total collected is known once the last collection recorded is done
        "cibmtr.cd34_dose": rules.once_done(
            of(episode.cd34_dose if episode else None), max(collections, default=None), today
        ),
        "cibmtr.conditioning_regimen": rules.conditioning_regimen(
            of(protocol.code if protocol else None), episode.conditioning_start_date if episode else None, day0, today
        ),
        "cibmtr.conditioning_regimen_name": rules.conditioning_regimen(
            of(protocol.name if protocol else None), episode.conditioning_start_date if episode else None, day0, today
        ),
        "cibmtr.conditioning_start_date": dated["conditioning_start_date"],
        "medA.anc_recovery_date": rules.confirmed_engraftment(
            context.neutrophil, episode.neutrophil_engraftment_date if episode else None, today
        ),
        "medA.platelet_recovery_date": rules.confirmed_engraftment(
            context.platelet, episode.platelet_engraftment_date if episode else None, today
        ),
        "medA.febrile_neutropenia_d100": rules.febrile_neutropenia(context.fn_status),
        "medA.ebv_viraemia_d100": ebv_detected,
        "medA.ebv_max_copies_d100": ebv_max,
        "medA.cmv_viraemia_d100": cmv_detected,
        "medA.cmv_max_copies_d100": cmv_max,
        "medA.infection_grade3plus_d100": rules.NOT_HELD,
        "medA.day100_status": rules.day100_status(day0, today, contact),
        "medA.vital_status": rules.vital_status(deceased, contact),
        "medA.last_contact_date": of(contact),
        "medA.death_date": rules.death(deceased),
        "medA.death_cause": rules.death(deceased),
    }
    return {item_id: values[item_id] for item_id in ITEM_IDS}


# The files ---------------------------------------------------------------------------------------------------


def _csv_text(text: str) -> str:
    """Text a spreadsheet shows as text, never runs as a formula."""
    return f"'{text}" if text.startswith(_FORMULA_START) else text


def csv_lines(rows: list[RegistryRow]) -> Iterator[list[str]]:
    """The header, then each row: each item's value, then its missing code."""
    yield csv_header()
    for row in rows:
        line = []
        for value in row.values.values():
            line += [_csv_text(value.text()), value.missing.value if value.missing else ""]
        yield line


def dictionary_json() -> list[dict]:
    return [
        {
            "id": item.id,
            "label": item.label,
            "form": item.form,
            "type": item.data_type.value,
            "values": item.values,
            "derivation": item.derivation,
            "source": item.source,
        }
        for item in ITEMS
    ]


def registry_json(rows: list[RegistryRow], centre: Centre | None) -> dict:
    return {
        "generated_at": timezone.now().isoformat(),
        "centre": centre.name if centre is not None else None,
        "items": dictionary_json(),
        "patients": [{item_id: value.as_json() for item_id, value in row.values.items()} for row in rows],
    }
