"""FHIR Procedure: the transplant's procedures, from the episode's dates, its apheresis sessions and the
procedures added by hand to the timeline.

* mobilisation (`mobilisation_date`): chemotherapy (cyclophosphamide), SNOMED CT 367336001;
* each apheresis session (`ApheresisSession`, with its CD34+ yield), or the episode's first apheresis date when no
  session is recorded: text only (no checked SNOMED CT code in terminology_data/snomed.csv);
* conditioning (`conditioning_start_date` to the day before Day 0): chemotherapy, the regimen in `usedCode`;
* reinfusion (Day 0, `reinfusion_date`, with the CD34+ dose): autologous peripheral blood stem cell transplant,
  SNOMED CT 425983008;
* a timeline event of kind procedure or chemotherapy added by hand (no protocol key): its title as text. The
  protocol's own events are the plan of the procedures above and are not repeated.

The status, on the patient's own today (FHIR R4 Procedure.status; H-49):

* a timeline event added by hand: its recorded status, done `completed`, cancelled `not-done`; still planned,
  `preparation` while its date is today or ahead, `unknown` once the date has passed with nothing recorded (the
  app shows it as overdue or not recorded: nobody said it was done);
* mobilisation and the reinfusion (one day each): the protocol's own timeline event (`mobilisation-cy`,
  `reinfusion-d0`) when it is recorded done (`completed`, even on the day) or cancelled (`not-done`); otherwise
  `preparation` before the day, `in-progress` on it, `completed` once it has passed (the episode's date is the
  date the app counts the pathway from);
* conditioning (start to the day before Day 0): `preparation` before it starts, `in-progress` from its start
  through its last day (also while Day 0 is not recorded: the end is not known), `completed` from Day 0;
* an apheresis session (recorded with its CD34+ yield) or the first apheresis date: as a one-day procedure.

Ids are the episode's id and the step (`<episode uuid>-conditioning`, `<episode uuid>-apheresis-<session>`), so
they stay the same between reads and name their episode (`episode_of_procedure_id`).
"""

import re
import uuid
from datetime import UTC, date, time, timedelta

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from recovery.clinical.phases import local_date
from recovery.clinical.terminology import coding
from recovery.clinical.timeline import EventKind, EventStatus
from recovery.models import ApheresisSession, Patient, TimelineEvent, TransplantEpisode
from recovery.queries.fhir.common import DateRange, ResourceType, fhir_date, patient_reference

EPISODE_DATES = ("mobilisation_date", "apheresis_date", "conditioning_start_date", "reinfusion_date")
HAND_ADDED_KINDS = (EventKind.PROCEDURE, EventKind.CHEMOTHERAPY)
_EVENT_STATUS = {EventStatus.DONE: "completed", EventStatus.CANCELLED: "not-done"}
# The protocol's timeline events that record mobilisation and the reinfusion as given (clinical/timeline.py).
RECORDED_BY = {"mobilisation": "mobilisation-cy", "reinfusion": "reinfusion-d0"}
EPISODE_STEPS = ("mobilisation", "apheresis", "conditioning", "reinfusion")  # the steps an episode's dates give


def in_window(day: date | None, dates: DateRange) -> bool:
    """Whether a day overlaps the window, as `DateRange.q_date` decides it in SQL."""
    if day is None:
        return False
    if dates.start is not None and day < dates.start.astimezone(UTC).date():
        return False
    if dates.end is None:
        return True
    end = dates.end.astimezone(UTC)
    return day < (end.date() if end.time() == time(0) else end.date() + timedelta(days=1))


def day_status(day: date, today: date, recorded: str | None = None) -> str:
    """A one-day procedure of the episode: the recorded status of its protocol event when done or cancelled,
    else a plan before the day, in progress on it, completed after it."""
    if recorded in _EVENT_STATUS:
        return _EVENT_STATUS[recorded]
    if day > today:
        return "preparation"
    return "in-progress" if day == today else "completed"


def period_status(start: date, day0: date | None, today: date) -> str:
    """Conditioning, from `start` to the day before Day 0: completed only once Day 0 has come."""
    if start > today:
        return "preparation"
    return "completed" if day0 is not None and day0 > start and day0 <= today else "in-progress"


def event_status(status: str, day: date, today: date) -> str:
    """A hand-added timeline event: as recorded; a plan whose day has passed with nothing recorded is unknown."""
    if status in _EVENT_STATUS:
        return _EVENT_STATUS[status]
    return "preparation" if day >= today else "unknown"


def procedure_id(episode_uuid: uuid.UUID, what: str) -> str:
    return f"{episode_uuid}-{what}"


def episode_of_procedure_id(resource_id: str) -> uuid.UUID | None:
    """The episode a step's id names, or None for another id (a timeline event's uuid, or none of ours)."""
    episode, what = resource_id[:36], resource_id[37:]
    if resource_id[36:37] != "-" or not (what in EPISODE_STEPS or re.fullmatch(r"apheresis-\d{1,18}", what)):
        return None
    try:
        return uuid.UUID(episode) if str(uuid.UUID(episode)) == episode else None
    except ValueError:
        return None


def _procedure(episode, what: str, code: dict, day: date, today: date, recorded: str | None = None, **extra) -> dict:
    resource = {
        "resourceType": "Procedure",
        "id": procedure_id(episode.uuid, what),
        "status": day_status(day, today, recorded),
        "category": {"text": "aHSCT"},
        "code": code,
        "subject": patient_reference(episode.patient),
        "performedDateTime": fhir_date(day),
    }
    resource.update(extra)
    return resource


def _chemotherapy(text: str) -> dict:
    return {"coding": [coding("snomed", "chemotherapy").as_fhir()], "text": text}


def _apheresis_code() -> dict:
    return {"text": "Peripheral blood stem cell collection (apheresis)"}


def episode_procedures(
    episode: TransplantEpisode, today: date, dates: DateRange, recorded: dict[str, str] | None = None
) -> list[dict]:
    """The procedures the episode's own dates record (those in the window); `recorded`: the status of each of its
    protocol events in `RECORDED_BY` (template key -> status)."""
    recorded = recorded or {}
    found = []
    if in_window(episode.mobilisation_date, dates):
        code = _chemotherapy("Stem cell mobilisation: cyclophosphamide")
        found.append(
            _procedure(
                episode,
                "mobilisation",
                code,
                episode.mobilisation_date,
                today,
                recorded.get(RECORDED_BY["mobilisation"]),
            )
        )
    if not episode.session_count and in_window(episode.apheresis_date, dates):
        found.append(_procedure(episode, "apheresis", _apheresis_code(), episode.apheresis_date, today))
    start = episode.conditioning_start_date
    if in_window(start, dates):
        regimen = episode.protocol.name if episode.protocol_id else ""
        code = _chemotherapy(f"Conditioning chemotherapy ({regimen})" if regimen else "Conditioning chemotherapy")
        procedure = _procedure(episode, "conditioning", code, start, today)
        del procedure["performedDateTime"]
        period = {"start": fhir_date(start)}
        day0 = episode.reinfusion_date
        procedure["status"] = period_status(start, day0, today)
        if day0 is not None and day0 > start:
            period["end"] = fhir_date(day0 - timedelta(days=1))
        procedure["performedPeriod"] = period
        if regimen:
            procedure["usedCode"] = [{"text": regimen}]
        found.append(procedure)
    if in_window(episode.reinfusion_date, dates):
        ahsct = coding("snomed", "ahsct")
        code = {"coding": [ahsct.as_fhir()], "text": "Stem cell reinfusion (Day 0)"}
        extra = {}
        if episode.cd34_dose is not None:
            extra["note"] = [{"text": f"CD34+ dose {episode.cd34_dose} x 10^6/kg"}]
        found.append(
            _procedure(
                episode,
                "reinfusion",
                code,
                episode.reinfusion_date,
                today,
                recorded.get(RECORDED_BY["reinfusion"]),
                **extra,
            )
        )
    return found


def session_procedure(session: ApheresisSession, today: date) -> dict:
    episode = session.episode
    return _procedure(
        episode,
        f"apheresis-{session.pk}",
        _apheresis_code(),
        session.collected_on,
        today,
        note=[{"text": f"CD34+ yield {session.cd34_per_kg} x 10^6/kg"}],
    )


def event_procedure(event: TimelineEvent, today: date) -> dict:
    day = event.actual_date or event.planned_date
    resource = {
        "resourceType": "Procedure",
        "id": str(event.uuid),
        "status": event_status(event.status, day, today),
        "code": {"text": event.title},
        "subject": patient_reference(event.episode.patient),
        "performedDateTime": fhir_date(day),
    }
    if event.note:
        resource["note"] = [{"text": event.note}]
    return resource


def search(patients: QuerySet[Patient], dates: DateRange) -> list[dict]:
    """Four queries: the episodes with a date in the window, the statuses of their mobilisation and reinfusion
    events, the sessions in the window, the hand-added events in it."""
    in_dates = Q()
    for field in EPISODE_DATES:
        in_dates |= dates.q_date(field) & Q(**{f"{field}__isnull": False})
    episodes = (
        TransplantEpisode.objects.filter(patient__in=patients)
        .filter(in_dates)
        .select_related("patient", "protocol")
        .annotate(session_count=Count("apheresis_sessions"))
        .order_by("patient_id")
    )
    sessions = (
        ApheresisSession.objects.filter(episode__patient__in=patients)
        .filter(dates.q_date("collected_on"))
        .select_related("episode__patient")
        .order_by("episode_id", "collected_on", "id")
    )
    events = (
        TimelineEvent.objects.filter(episode__patient__in=patients, kind__in=HAND_ADDED_KINDS)
        .filter(template_key__isnull=True)
        .annotate(day=Coalesce("actual_date", "planned_date"))
        .filter(dates.q_date("day"))
        .select_related("episode__patient")
        .order_by("episode_id", "planned_date", "id")
    )
    now = timezone.now()
    todays: dict[str, date] = {}

    def today_of(patient: Patient) -> date:
        if patient.timezone not in todays:
            todays[patient.timezone] = local_date(now, patient.timezone)
        return todays[patient.timezone]

    episodes = list(episodes)
    recorded: dict[int, dict[str, str]] = {episode.pk: {} for episode in episodes}
    if episodes:
        for episode_pk, key, status in TimelineEvent.objects.filter(
            episode__in=[episode.pk for episode in episodes], template_key__in=RECORDED_BY.values()
        ).values_list("episode_id", "template_key", "status"):
            recorded[episode_pk][key] = status
    resources = []
    for episode in episodes:
        resources.extend(episode_procedures(episode, today_of(episode.patient), dates, recorded[episode.pk]))
    resources.extend(session_procedure(session, today_of(session.episode.patient)) for session in sessions)
    resources.extend(event_procedure(event, today_of(event.episode.patient)) for event in events)
    return resources


PROCEDURE = ResourceType(
    "Procedure",
    search=search,
    description="Mobilisation, apheresis sessions, conditioning and the stem cell reinfusion (Day 0).",
)
