"""The clinical configuration in force for a centre: the shipped defaults plus the centre's latest overrides."""

from dataclasses import dataclass

from accounts.models import Centre
from recovery.clinical.charts import DEFAULT_CHART_CONFIG, ChartConfig
from recovery.clinical.config import (
    DEFAULT_ALERT_CONFIG,
    DEFAULT_OUTCOME_CONFIG,
    DEFAULT_PHASE_CONFIG,
    DEFAULT_REMINDER_CONFIG,
    DEFAULT_TRANSPLANT_CONFIG,
    DEFAULT_TRIAGE_CONFIG,
    AlertConfig,
    OutcomeConfig,
    PhaseConfig,
    ReminderConfig,
    TransplantConfig,
    TriageConfig,
)
from recovery.clinical.labs_config import (
    DEFAULT_LAB_CONFIG,
    DEFAULT_PROPHYLAXIS_CONFIG,
    DEFAULT_VACCINATION_CONFIG,
    LabConfig,
    ProphylaxisConfig,
    VaccinationConfig,
)
from recovery.clinical.surveillance import DEFAULT_SURVEILLANCE_CONFIG, SurveillanceConfig
from recovery.models import CentreConfiguration


@dataclass(frozen=True)
class ActiveConfig:
    version: int  # 0 = the shipped defaults, unchanged
    phase: PhaseConfig
    transplant: TransplantConfig
    triage: TriageConfig = DEFAULT_TRIAGE_CONFIG
    alerts: AlertConfig = DEFAULT_ALERT_CONFIG
    outcomes: OutcomeConfig = DEFAULT_OUTCOME_CONFIG
    reminders: ReminderConfig = DEFAULT_REMINDER_CONFIG
    prophylaxis: ProphylaxisConfig = DEFAULT_PROPHYLAXIS_CONFIG
    vaccination: VaccinationConfig = DEFAULT_VACCINATION_CONFIG
    surveillance: SurveillanceConfig = DEFAULT_SURVEILLANCE_CONFIG
    labs: LabConfig = DEFAULT_LAB_CONFIG
    charts: ChartConfig = DEFAULT_CHART_CONFIG


DEFAULT_CONFIG = ActiveConfig(version=0, phase=DEFAULT_PHASE_CONFIG, transplant=DEFAULT_TRANSPLANT_CONFIG)


def config_from_values(version: int, values: dict) -> ActiveConfig:
    return ActiveConfig(
        version=version,
        phase=DEFAULT_PHASE_CONFIG.with_overrides(values.get("phase")),
        transplant=DEFAULT_TRANSPLANT_CONFIG.with_overrides(values.get("transplant")),
        triage=DEFAULT_TRIAGE_CONFIG.with_overrides(values.get("triage")),
        alerts=DEFAULT_ALERT_CONFIG.with_overrides(values.get("alerts")),
        outcomes=DEFAULT_OUTCOME_CONFIG.with_overrides(values.get("outcomes")),
        reminders=DEFAULT_REMINDER_CONFIG.with_overrides(values.get("reminders")),
        prophylaxis=DEFAULT_PROPHYLAXIS_CONFIG.with_overrides(values.get("prophylaxis")),
        vaccination=DEFAULT_VACCINATION_CONFIG.with_overrides(values.get("vaccination")),
        surveillance=DEFAULT_SURVEILLANCE_CONFIG.with_overrides(values.get("surveillance")),
        labs=DEFAULT_LAB_CONFIG.with_overrides(values.get("labs")),
        charts=DEFAULT_CHART_CONFIG.with_overrides(values.get("charts")),
    )


def active_config(centre: Centre | int) -> ActiveConfig:
    centre_id = centre if isinstance(centre, int) else centre.pk
    latest = CentreConfiguration.objects.filter(centre_id=centre_id).order_by("-version").first()
    if latest is None:
        return DEFAULT_CONFIG
    return config_from_values(latest.version, latest.values or {})


def active_configs(centre_ids) -> dict[int, ActiveConfig]:
    """The configuration of several centres in one query (for lists)."""
    configs = dict.fromkeys(centre_ids, DEFAULT_CONFIG)
    seen: set[int] = set()
    rows = CentreConfiguration.objects.filter(centre_id__in=list(configs)).order_by("centre_id", "-version")
    for row in rows:
        if row.centre_id not in seen:
            seen.add(row.centre_id)
            configs[row.centre_id] = config_from_values(row.version, row.values or {})
    return configs
