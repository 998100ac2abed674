"""A synthetic long-term cohort (Day 0 from 2004 to 2023) whose outcomes look like the Swedish aHSCT cohort.

Benchmarks reproduced (shared/domain.md sections 4.6, 5 and section 8 item 23; Silfverberg et al. 2024 and the
Swedish Cy/ATG vs BEAM/ATG comparison):

* 174 RRMS patients, 81% Cy/ATG and 19% BEAM/ATG (141 and 33 in Sweden).
* NEDA-3 by Kaplan-Meier about 73% at 5 years and 65% at 10 years: the time to NEDA-3 loss is drawn from a
  piecewise-exponential hazard, -ln(0.73)/5 per year over years 0-5 and -ln(0.65/0.73)/5 per year after that.
  The loss is then written as the records that make the outcome rules (recovery/clinical/outcomes.py) find it on
  that date: a relapse (about 50%), new lesions on an MRI scan after the M6 re-baseline (about 35%), or a
  confirmed progression (about 15%: an assessment at baseline + the configured step, a confirmation visit the
  configured number of months later, and every later score staying up).
* EDSS improved / stable / worse roughly 54 / 37 / 9% (baseline median about 3.0).
* Febrile neutropenia in about 68% (Cy/ATG) and 88% (BEAM/ATG), as one symptom report in aplasia
  (38.4-39.0 C, neutropenic_fever=True) with a neutrophil count (ANC) of 0.1 x10^9/L an hour later, so that it
  meets the CTCAE definition the cohort dashboard counts; every other patient has one ANC of 0.1 on Day +5
  (the nadir), so that they count as "no" rather than "not known". History only: no triage, no alerts.
* A few patients are lost to follow-up early; everyone else is followed to today.

Deterministic (random.Random with fixed seeds), idempotent (an existing COH- number is left alone), fast (every
row by bulk_create), and it creates no logins. Refuses with DEBUG off unless --force.
"""

import math
import random
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.models import Centre
from recovery.clinical.config import OutcomeConfig
from recovery.clinical.outcomes import required_step, survival_endpoints
from recovery.clinical.phases import add_months, local_date
from recovery.clinical.survival import kaplan_meier, survival_at
from recovery.management.commands.seed_demo import COHORT_PREFIX, DEMO_CENTRE, FIRST_NAMES, LAST_NAMES
from recovery.models import (
    EDSSAssessment,
    LabResult,
    LabTest,
    MRIScan,
    MSType,
    Patient,
    ProtocolTemplate,
    Relapse,
    Sex,
    SymptomReport,
    TransplantEpisode,
)
from recovery.models.outcomes import MS_DOMAINS
from recovery.queries.configuration import active_config
from recovery.queries.outcomes import cohort_outcomes
from recovery.services.audit import AuditContext, record_event

PREFIX = COHORT_PREFIX
NADIR_ANC = Decimal("0.1")  # x10^9/L
DEFAULT_PATIENTS = 174
SEED = 20230925  # the same synthetic cohort on every run
FIRST_DAY0 = date(2004, 1, 1)
LAST_DAY0 = date(2023, 12, 31)
DAYS_PER_YEAR = 365.25

# Regimens (Swedish cohort: 141 Cy/ATG, 33 BEAM/ATG).
CY_ATG, BEAM_ATG = "cy_atg", "beam_atg"
BEAM_SHARE = 0.19
CONDITIONING_DAYS = {CY_ATG: 5, BEAM_ATG: 6}
EXTRA_STAY_DAYS = {CY_ATG: 0, BEAM_ATG: 3}  # BEAM/ATG stayed about 3 days longer
FEBRILE_NEUTROPENIA = {CY_ATG: 0.68, BEAM_ATG: 0.88}
FEVER_RANGE_C = (38.4, 39.0)

# NEDA-3: Kaplan-Meier 73% at 5 years, 65% at 10 years.
NEDA_5Y, NEDA_10Y = 0.73, 0.65
HAZARD_YEARS_0_5 = -math.log(NEDA_5Y) / 5
HAZARD_YEARS_5_ON = -math.log(NEDA_10Y / NEDA_5Y) / 5
RELAPSE, MRI, PROGRESSION = "relapse", "mri", "progression"
LOSS_CAUSES = ((RELAPSE, 0.50), (MRI, 0.35), (PROGRESSION, 0.15))

# EDSS: improved 54%, stable 37%, worse 9% (Sweden, of those with baseline disability).
IMPROVED_SHARE = 0.54 / 0.91  # of the patients who do not get worse
SECONDARY_PROGRESSION = 0.14  # of the patients who lost NEDA-3 by a relapse or MRI: a progression later on
BASELINE_EDSS = (  # score, weight: median 3.0
    ("0", 2),
    ("1.0", 3),
    ("1.5", 7),
    ("2.0", 12),
    ("2.5", 14),
    ("3.0", 14),
    ("3.5", 12),
    ("4.0", 11),
    ("4.5", 8),
    ("5.0", 6),
    ("5.5", 5),
    ("6.0", 4),
    ("6.5", 2),
)

LOST_TO_FOLLOW_UP = 0.06  # followed for 1 to 4 years only
LATER_RELAPSES_PER_YEAR = 0.12  # after NEDA-3 is lost
LATER_SCAN_ACTIVE = 0.2
PREVIOUS_TREATMENTS = ["Interferon beta", "Glatiramer acetate", "Natalizumab", "Fingolimod", "Rituximab"]
RELAPSE_DESCRIPTIONS = [
    "Numbness and tingling in the left leg for ten days.",
    "Blurred vision in the right eye, pain on moving it.",
    "Unsteady walking and poor balance over a week.",
    "Weakness of the right arm and hand.",
    "Double vision for two weeks.",
    "Urgency and bladder problems with new leg stiffness.",
]


@dataclass
class PlannedPatient:
    """Everything one synthetic patient gets, before anything is written."""

    number: str
    patient: Patient | dict  # a dict of its fields for seed_transplanted (no model instance)
    regimen: str
    episode: dict
    assessments: list[tuple[date, Decimal]] = field(default_factory=list)
    relapses: list[dict] = field(default_factory=list)
    scans: dict[date, dict] = field(default_factory=dict)
    fever: dict | None = None


def _edss(value: Decimal) -> Decimal:
    """A valid EDSS score: 0, or 1.0 to 9.5 in steps of 0.5 (a value below 1.0 becomes 0)."""
    value = min(Decimal("9.5"), value)
    if value < 1:
        return Decimal("0")
    return (value * 2).to_integral_value() / 2


def _days(years: float) -> timedelta:
    return timedelta(days=round(years * DAYS_PER_YEAR))


def _time_to_neda_loss(u: float) -> float:
    """Years from Day 0 to NEDA-3 loss under the piecewise-exponential hazard (`u` uniform on [0, 1))."""
    exposure = -math.log(1.0 - u)
    if exposure < 5 * HAZARD_YEARS_0_5:
        return exposure / HAZARD_YEARS_0_5
    return 5 + (exposure - 5 * HAZARD_YEARS_0_5) / HAZARD_YEARS_5_ON


def _weighted(rng: random.Random, options, u: float | None = None):
    """One of the options by weight; with `u` (uniform on [0, 1)) given, the option whose share covers it."""
    values, weights = zip(*options, strict=True)
    if u is None:
        return rng.choices(values, weights=weights)[0]
    target, total = u * sum(weights), 0
    for value, weight in options:
        total += weight
        if target < total:
            return value
    return values[-1]


class CohortSimulation:
    """Plans one synthetic patient at a time; pure Python, no queries."""

    def __init__(
        self,
        *,
        centre: Centre,
        config: OutcomeConfig,
        today: date,
        count: int,
        seed: int = SEED,
        prefix: str = PREFIX,
        first_day0: date = FIRST_DAY0,
        last_day0: date = LAST_DAY0,
    ):
        self.centre = centre
        self.config = config
        self.today = today
        self.count = count
        self.seed = seed
        self.prefix = prefix
        self.first_day0 = first_day0
        master = random.Random(seed)
        self.beam = set(master.sample(range(1, count + 1), round(count * BEAM_SHARE)))
        self.span = (last_day0 - first_day0).days
        # Stratified draws (one stratum of [0, 1) per patient, in random order), so that even 174 patients follow
        # the target distributions closely rather than by the luck of the seed.
        self.strata = {name: master.sample(range(count), count) for name in ("loss", "cause", "edss")}

    def _uniform(self, name: str, index: int, rng: random.Random) -> float:
        return (self.strata[name][index - 1] + rng.random()) / self.count

    def plan(self, index: int) -> PlannedPatient:
        rng = random.Random(self.seed * 1000 + index)
        number = f"{self.prefix}{index:05d}"
        regimen = BEAM_ATG if index in self.beam else CY_ATG
        day0 = self.day0(index, rng)
        baseline = Decimal(_weighted(rng, BASELINE_EDSS))
        patient = self._patient(rng, number, day0, baseline)
        planned = PlannedPatient(
            number=number, patient=patient, regimen=regimen, episode=self._episode(rng, day0, regimen)
        )

        end = self.today
        if rng.random() < LOST_TO_FOLLOW_UP:
            end = min(end, day0 + _days(rng.uniform(1.0, 4.0)))
        self._course(rng, planned, day0, baseline, end, index)
        if rng.random() < FEBRILE_NEUTROPENIA[regimen]:
            planned.fever = self._fever(rng, day0, planned.episode["neutrophil_engraftment_date"])
            fever_day = planned.fever["recorded_at"].date()
            window = timedelta(days=self.config.pseudo_relapse_window_days)
            for relapse in planned.relapses:
                relapse["possible_pseudo_relapse"] = abs(relapse["onset_date"] - fever_day) <= window
        return planned

    def day0(self, index: int, rng: random.Random) -> date:
        """Day 0 spread evenly over the span (stratified), so the numbers run in order of transplant."""
        return self.first_day0 + timedelta(days=int((index - 1 + rng.random()) / self.count * self.span))

    def _patient(self, rng: random.Random, number: str, day0: date, baseline: Decimal) -> Patient:
        return Patient(centre=self.centre, **self.patient_values(rng, number, day0, baseline))

    def patient_values(self, rng: random.Random, number: str, day0: date, baseline: Decimal) -> dict:
        """The patient's fields (by name), drawn from `rng`."""
        age = min(52.0, max(18.0, rng.gauss(31, 7)))
        born = day0 - _days(age) - timedelta(days=rng.randrange(0, 365))
        onset = max(born + _days(14), day0 - _days(min(14.0, max(1.0, rng.gauss(6, 3)))))
        first_dmt = onset.year + rng.randint(0, 2)
        treatments = rng.sample(PREVIOUS_TREATMENTS, rng.randint(1, 3))
        history, year = [], min(first_dmt, day0.year)
        for name in treatments:
            stop = min(day0.year, year + rng.randint(1, 4))
            history.append(f"{name} {year}-{stop}")
            year = stop
        return {
            "first_name": rng.choice(FIRST_NAMES),
            "last_name": rng.choice(LAST_NAMES),
            "date_of_birth": born,
            "sex": rng.choice([Sex.FEMALE, Sex.FEMALE, Sex.MALE]),
            "hospital_number": number,
            "timezone": self.centre.timezone,
            "ms_type": MSType.RRMS,
            "ms_onset_date": onset,
            "baseline_edss": baseline,
            "previous_treatments": "\n".join(history),
        }

    def _episode(self, rng: random.Random, day0: date, regimen: str) -> dict:
        mobilisation = day0 - timedelta(days=rng.randint(35, 70))
        apheresis = mobilisation + timedelta(days=rng.randint(9, 14))
        conditioning = day0 - timedelta(days=CONDITIONING_DAYS[regimen])
        engrafted = day0 + timedelta(days=min(16, max(8, round(rng.gauss(11, 1.5)))))
        cd34 = min(26.3, max(2.6, rng.lognormvariate(math.log(6.3), 0.45)))
        return {
            "mobilisation_date": mobilisation,
            "gcsf_start_date": mobilisation + timedelta(days=1),
            "apheresis_date": apheresis,
            "cd34_dose": Decimal(f"{cd34:.2f}"),
            "cryostorage_date": apheresis,
            "admission_date": conditioning - timedelta(days=1),
            "conditioning_start_date": conditioning,
            "reinfusion_date": day0,
            "neutrophil_engraftment_date": engrafted,
            "platelet_engraftment_date": engrafted + timedelta(days=rng.randint(0, 4)),
            "discharge_date": engrafted + timedelta(days=rng.randint(2, 5) + EXTRA_STAY_DAYS[regimen]),
        }

    def _fever(self, rng: random.Random, day0: date, engrafted: date) -> dict:
        day = rng.randint(3, max(3, (engrafted - day0).days - 1))
        local = datetime.combine(day0 + timedelta(days=day), time(rng.randint(0, 23), rng.randrange(0, 60)))
        return {
            "recorded_at": local.replace(tzinfo=ZoneInfo(self.centre.timezone)),
            "temperature_c": Decimal(f"{rng.uniform(*FEVER_RANGE_C):.1f}"),
            "day": day,
        }

    def _course(
        self, rng: random.Random, planned: PlannedPatient, day0: date, baseline: Decimal, end: date, index: int
    ) -> None:
        """Visits, scans and relapses from Day 0 to `end`, with NEDA-3 lost as the hazard says."""
        step = required_step(baseline, self.config)
        confirm = self.config.confirmation_months
        visits = self._visits(rng, day0, end)
        rebaseline = visits[0] if visits else None
        cause, lost_on = self._neda_loss(index, rng, day0, end, rebaseline, confirm)

        progression_on = lost_on if cause == PROGRESSION else None
        improved_from = None
        u = self._uniform("edss", index, rng)
        if cause != PROGRESSION and baseline - step >= 0 and u < IMPROVED_SHARE:
            improved_from = visits[0 if rng.random() < 0.6 else 1] if len(visits) >= 2 else None
        elif cause in (RELAPSE, MRI) and IMPROVED_SHARE <= u < IMPROVED_SHARE + SECONDARY_PROGRESSION:
            later = lost_on + _days(rng.uniform(0.75, 3.0))
            if add_months(later, confirm) <= end:
                progression_on = later

        # EDSS: the baseline before Day 0, then each visit; a progression adds its own visit and a confirmation.
        planned.assessments.append((day0 - timedelta(days=rng.randint(20, 60)), baseline))
        dated_visits = list(visits)
        if progression_on is not None:
            dated_visits += [progression_on, add_months(progression_on, confirm)]
        improved_score = _edss(
            baseline - step - _weighted(rng, ((Decimal("0"), 5), (Decimal("0.5"), 3), (Decimal("1.0"), 2)))
        )
        for on in sorted(set(dated_visits)):
            if progression_on is not None and on >= progression_on:
                score = _edss(baseline + step + rng.choice([Decimal("0"), Decimal("0"), Decimal("0.5")]))
            elif improved_from is not None and on >= improved_from:
                score = improved_score
            else:
                score = self._stable(rng, baseline, step)
            planned.assessments.append((on, score))

        # MRI: the re-baseline at M6, then one at each yearly visit; active scans only from NEDA-3 loss on.
        for on in visits:
            planned.scans[on] = {
                "scan_date": on,
                "is_rebaseline": on == rebaseline,
                "new_t2_lesions": 0,
                "gd_enhancing_lesions": 0,
                "notes": "",
            }
        if rebaseline is not None:
            planned.scans[rebaseline]["notes"] = "Post-transplant re-baseline."
        if cause == MRI:
            planned.scans[lost_on] = self._active_scan(rng, lost_on, "New lesions.")
        if lost_on is not None:
            for on in visits:
                if on > lost_on and rng.random() < LATER_SCAN_ACTIVE:
                    planned.scans[on] = self._active_scan(rng, on, "")

        # Relapses: none before NEDA-3 is lost; the first on that day when it is the cause, some later.
        if cause == RELAPSE:
            planned.relapses.append(self._relapse(rng, lost_on))
        if lost_on is not None:
            on = lost_on
            while True:
                on += _days(rng.expovariate(LATER_RELAPSES_PER_YEAR) + 0.1)
                if on > end:
                    break
                if progression_on is not None and progression_on - timedelta(days=45) <= on <= add_months(
                    progression_on, confirm + 1
                ):
                    continue  # keep the progression visits clear of the post-relapse exclusion window
                planned.relapses.append(self._relapse(rng, on))

    def _visits(self, rng: random.Random, day0: date, end: date) -> list[date]:
        """M6, M12 and then yearly, each within two weeks of its date, up to `end`."""
        visits = []
        month = 6
        while True:
            on = add_months(day0, month) + timedelta(days=rng.randint(-14, 14))
            if on > end:
                return visits
            visits.append(on)
            month = 12 if month == 6 else month + 12

    def _neda_loss(self, index: int, rng, day0: date, end: date, rebaseline: date | None, confirm: int):
        """(cause, date) of NEDA-3 loss, or (None, None) when it holds to the end of follow-up."""
        lost_on = day0 + _days(_time_to_neda_loss(self._uniform("loss", index, rng)))
        lost_on = max(lost_on, day0 + timedelta(days=1))
        if lost_on > end:
            return None, None
        cause = _weighted(rng, LOSS_CAUSES, self._uniform("cause", index, rng))
        if cause == MRI and (rebaseline is None or lost_on <= rebaseline):
            cause = RELAPSE  # new lesions count only against the re-baseline scan
        if cause == PROGRESSION and add_months(lost_on, confirm) > end:
            cause = RELAPSE  # a progression needs its confirmation visit within follow-up
        return cause, lost_on

    @staticmethod
    def _stable(rng: random.Random, baseline: Decimal, step: Decimal) -> Decimal:
        """The baseline give or take half a point, never as far as a step (so never a confirmed change)."""
        half = Decimal("0.5")
        noise = rng.choices([-half, Decimal("0"), half], weights=[15, 70, 15])[0] if step > half else Decimal("0")
        score = baseline + noise
        return score if score == _edss(score) and abs(noise) < step else baseline

    @staticmethod
    def _active_scan(rng: random.Random, on: date, notes: str) -> dict:
        t2 = rng.randint(0, 4)
        gd = rng.randint(0 if t2 else 1, 2)
        return {
            "scan_date": on,
            "is_rebaseline": False,
            "new_t2_lesions": t2,
            "gd_enhancing_lesions": gd,
            "notes": notes,
        }

    @staticmethod
    def _relapse(rng: random.Random, onset: date) -> dict:
        domains = [code for code, _ in rng.sample(MS_DOMAINS, rng.randint(1, 2))]
        return {
            "onset_date": onset,
            "domains": domains,
            "description": rng.choice(RELAPSE_DESCRIPTIONS),
            "treated_with_steroids": rng.random() < 0.6,
            "possible_pseudo_relapse": False,
        }


def _nadir_count(patient_id: int, plan: PlannedPatient, tz: ZoneInfo) -> LabResult:
    """An ANC at the nadir: an hour after the fever when there is one, else on Day +5 (no random draw, so the rest
    of the cohort stays as it was)."""
    if plan.fever is not None:
        collected_at = plan.fever["recorded_at"] + timedelta(hours=1)
    else:
        day5 = plan.episode["reinfusion_date"] + timedelta(days=5)
        collected_at = datetime.combine(day5, time(6, 0), tzinfo=tz)
    return LabResult(
        patient_id=patient_id, test=LabTest.ANC, value=NADIR_ANC, unit="x10^9/L", collected_at=collected_at
    )


class Command(BaseCommand):
    help = "Create a synthetic long-term cohort (2004-2023) with MS outcomes like the Swedish aHSCT cohort."

    def add_arguments(self, parser):
        parser.add_argument(
            "--patients", type=int, default=DEFAULT_PATIENTS, help=f"How many patients (default {DEFAULT_PATIENTS})."
        )
        parser.add_argument("--centre", default=DEMO_CENTRE, help=f'The centre\'s name (default "{DEMO_CENTRE}").')
        parser.add_argument("--force", action="store_true", help="Allow with DEBUG off (never on a real system).")

    def handle(self, *args, patients: int, centre: str, force: bool, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "Refusing to create synthetic patients with DEBUG off. Use --force if you really mean it."
            )
        if patients < 0:
            raise CommandError("--patients must be 0 or more.")
        protocols = {p.code: p for p in ProtocolTemplate.objects.filter(code__in=[CY_ATG, BEAM_ATG])}
        if len(protocols) != 2:
            raise CommandError("The cy_atg and beam_atg protocols are missing: run migrate first.")
        with transaction.atomic():
            centre_obj, _ = Centre.objects.get_or_create(
                name=centre, defaults={"timezone": "Europe/Stockholm", "phone_24h": "+46 18 611 00 00"}
            )
            today = local_date(timezone.now(), centre_obj.timezone)
            created = self._create(centre_obj, protocols, patients, today)
            if created:
                record_event(
                    context=AuditContext.system("seed_cohort"), action="cohort.seed", detail={"patients": created}
                )
        self.stdout.write(self.style.SUCCESS(f"Synthetic cohort at {centre}: {created} new patients."))
        # the cohort dashboard reads stored outcomes: build them (every patient's, seed_demo's included)
        call_command("refresh_outcome_summaries", stdout=self.stdout)
        # the list of doses due reads stored vaccination plans: build them too (seed_demo's patients included)
        call_command("refresh_vaccination_plans", stdout=self.stdout)
        # the patient list's filters and the high-risk list read the stored phase: store it (every patient's)
        call_command("refresh_phases", stdout=self.stdout)
        if patients:
            self.stdout.write(self._summary(centre_obj, today))

    def _create(self, centre: Centre, protocols: dict, count: int, today: date) -> int:
        existing = set(
            Patient.objects.filter(centre=centre, hospital_number__startswith=PREFIX).values_list(
                "hospital_number", flat=True
            )
        )
        simulation = CohortSimulation(centre=centre, config=active_config(centre).outcomes, today=today, count=count)
        plans = [simulation.plan(i) for i in range(1, count + 1) if f"{PREFIX}{i:05d}" not in existing]
        if not plans:
            return 0
        Patient.objects.bulk_create([p.patient for p in plans], batch_size=500)
        ids = dict(
            Patient.objects.filter(centre=centre, hospital_number__in=[p.number for p in plans]).values_list(
                "hospital_number", "id"
            )
        )
        episodes, assessments, relapses, scans, reports, counts = [], [], [], [], [], []
        for plan in plans:
            pid = ids[plan.number]
            episodes.append(TransplantEpisode(patient_id=pid, protocol=protocols[plan.regimen], **plan.episode))
            assessments += [
                EDSSAssessment(patient_id=pid, assessed_on=on, score=score) for on, score in plan.assessments
            ]
            relapses += [Relapse(patient_id=pid, **values) for values in plan.relapses]
            scans += [MRIScan(patient_id=pid, **values) for _, values in sorted(plan.scans.items())]
            if plan.fever is not None:
                reports.append(
                    SymptomReport(
                        patient_id=pid,
                        recorded_at=plan.fever["recorded_at"],
                        temperature_c=plan.fever["temperature_c"],
                        notes="Febrile neutropenia during aplasia (from the inpatient record).",
                        phase="aplasia",
                        day=plan.fever["day"],
                        neutropenic_fever=True,
                    )
                )
            counts.append(_nadir_count(pid, plan, ZoneInfo(centre.timezone)))
        TransplantEpisode.objects.bulk_create(episodes, batch_size=500)
        EDSSAssessment.objects.bulk_create(assessments, batch_size=1000)
        Relapse.objects.bulk_create(relapses, batch_size=1000)
        MRIScan.objects.bulk_create(scans, batch_size=1000)
        SymptomReport.objects.bulk_create(reports, batch_size=1000)
        LabResult.objects.bulk_create(counts, batch_size=1000)
        return len(plans)

    def _summary(self, centre: Centre, today: date) -> str:
        """What the cohort looks like through the app's own outcome rules (the benchmarks in brackets)."""
        cohort = list(
            Patient.objects.filter(centre=centre, hospital_number__startswith=PREFIX).select_related(
                "episode__protocol"
            )
        )
        rows = cohort_outcomes(cohort, today)
        endpoints = [survival_endpoints(outcome)["neda3"] for _, outcome in rows]
        curve = kaplan_meier([m for m, _ in endpoints], [e for _, e in endpoints])
        five, ten = survival_at(curve, 60), survival_at(curve, 120)
        categories = [o.edss_change_category for p, o in rows if o.edss_change_category and p.baseline_edss]
        share = (
            {c: categories.count(c) / len(categories) for c in ("improved", "stable", "worse")} if categories else {}
        )
        fevers = set(
            SymptomReport.objects.filter(patient__in=cohort, neutropenic_fever=True).values_list(
                "patient_id", flat=True
            )
        )
        by_regimen = {}
        for patient in cohort:
            code = patient.episode.protocol.code
            total, with_fever = by_regimen.get(code, (0, 0))
            by_regimen[code] = (total + 1, with_fever + (patient.pk in fevers))

        def pct(value):
            return "n/a" if value is None else f"{value:.0%}"

        regimens = ", ".join(
            f"{code} {n} (febrile neutropenia {f / n:.0%})" for code, (n, f) in sorted(by_regimen.items())
        )
        return (
            f"{len(cohort)} cohort patients: {regimens}. NEDA-3 {pct(five)} at 5 years (73%), {pct(ten)} at 10 years "
            f"(65%). EDSS improved {pct(share.get('improved'))} / stable {pct(share.get('stable'))} / worse "
            f"{pct(share.get('worse'))} (54/37/9%)."
        )
