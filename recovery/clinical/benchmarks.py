"""Published results the cohort dashboard compares a centre's own figures with (domain.md sections 4.6 and 5;
section 8 item 23).

This is the one place these numbers live: the charts, the safety table and the API read them from here. Every
figure carries its domain.md source tag and the population it describes, because a centre's cohort is rarely
like any of them (Muraro 2017 was 78% progressive MS; Sweden and Burt 2021 were relapsing MS). They are
reference points to read a curve against, not targets, and they are not clinical guidance.
"""

from dataclasses import dataclass

# What a figure measures. The survival keys are those of recovery.clinical.outcomes.survival_endpoints.
NEDA3 = "neda3"
PROGRESSION_FREE = "progression_free"
RELAPSE_FREE = "relapse_free"
FEBRILE_NEUTROPENIA = "febrile_neutropenia"
TREATMENT_RELATED_MORTALITY = "treatment_related_mortality"
EDSS_IMPROVED = "edss_improved"
EDSS_STABLE = "edss_stable"
EDSS_WORSE = "edss_worse"


@dataclass(frozen=True)
class Benchmark:
    """One published figure: a proportion (0 to 1), at `months` after Day 0 for a survival estimate."""

    measure: str
    value: float
    study: str  # short, for a chart label
    source: str  # the domain.md source tag
    population: str
    months: int | None = None
    regimen: str | None = None  # a protocol code, for figures that belong to one regimen
    ci: tuple[float, float] | None = None  # the published 95% confidence interval, when there is one

    @property
    def percent(self) -> str:
        """The value as printed in the source: "73%", "80.1%", "0.19%"."""
        return (f"{self.value * 100:.2f}".rstrip("0").rstrip(".") or "0") + "%"


BENCHMARKS: tuple[Benchmark, ...] = (
    # Kaplan-Meier anchors
    Benchmark(NEDA3, 0.73, "Sweden", "S5", "174 RRMS, Silfverberg 2024", months=60, ci=(0.66, 0.81)),
    Benchmark(NEDA3, 0.65, "Sweden", "S5", "174 RRMS, Silfverberg 2024", months=120, ci=(0.57, 0.75)),
    Benchmark(NEDA3, 0.83, "Sormani", "S9", "meta-analysis, 764 patients, Sormani 2017", months=24),
    Benchmark(NEDA3, 0.67, "Sormani", "S9", "meta-analysis, 764 patients, Sormani 2017", months=60),
    Benchmark(PROGRESSION_FREE, 0.46, "Muraro", "S8", "281 patients, 78% progressive MS, Muraro 2017", months=60),
    Benchmark(RELAPSE_FREE, 0.801, "Burt", "S10", "414 RRMS, non-myeloablative, Burt 2021", months=60),
    # Safety
    Benchmark(FEBRILE_NEUTROPENIA, 0.68, "Sweden Cy/ATG", "S6", "141 Cy/ATG, Sweden 2024", regimen="cy_atg"),
    Benchmark(FEBRILE_NEUTROPENIA, 0.88, "Sweden BEAM/ATG", "S6", "33 BEAM/ATG, Sweden 2024", regimen="beam_atg"),
    Benchmark(TREATMENT_RELATED_MORTALITY, 0.0, "Sweden", "S5", "174 RRMS, Silfverberg 2024 (no treatment deaths)"),
    Benchmark(TREATMENT_RELATED_MORTALITY, 0.021, "Sormani", "S9", "meta-analysis, 764 patients, Sormani 2017"),
    Benchmark(TREATMENT_RELATED_MORTALITY, 0.0019, "Burt", "S10", "507 patients, Burt 2021"),
    Benchmark(EDSS_IMPROVED, 0.54, "Sweden", "S5", "149 with baseline disability, Silfverberg 2024"),
    Benchmark(EDSS_STABLE, 0.37, "Sweden", "S5", "149 with baseline disability, Silfverberg 2024"),
    Benchmark(EDSS_WORSE, 0.09, "Sweden", "S5", "149 with baseline disability, Silfverberg 2024"),
)


def benchmarks_for(measure: str) -> list[Benchmark]:
    return [benchmark for benchmark in BENCHMARKS if benchmark.measure == measure]
