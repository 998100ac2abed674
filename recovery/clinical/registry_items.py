"""The registry export's items as data (issue 17 item 4): each item the app can report for the EBMT MED-A day-100
registration and the CIBMTR core transplant forms, where its value comes from, and the codes that say why a value
is empty.

The export (recovery/queries/registry.py, recovery/views/registry.py) and the data dictionary
(docs/registry-export.md, written by `recovery.clinical.registry.dictionary_markdown` and checked by
tests/test_registry_export.py) both come from `ITEMS`, so that they cannot drift apart. A new item needs its rule
in recovery/queries/registry.py (`_values`, which fails on an item it does not fill).

The item ids are the app's own names, chosen to be close to the MED-A and CIBMTR items; they are approximations
and need a mapping review by the registry data manager before any submission (the official forms could not be
fetched when this was written: see `SOURCES`). No Django here: this is plain data.
"""

from dataclasses import dataclass
from enum import StrEnum

from recovery.clinical.config import DEFAULT_OUTCOME_CONFIG as _FN

# The registries' first reporting time point: MED-A registers a transplant "at 100 days post-transplant or at the
# time of the patient's death, whichever comes first"; the CIBMTR Post-TED is due at 100 days, 6 months and yearly
# (domain.md 3.3). Every "by Day +100" item counts from Day 0 through this day, both included.
REGISTRY_DAY = 100

MED_A = "EBMT MED-A (registration, day 100)"
CIBMTR = "CIBMTR core (Pre-TED 2400 / Post-TED 2450 / 2006)"

SOURCES: tuple[tuple[str, str], ...] = (
    (
        "EBMT, Data collection (MED-A is the minimum essential data; unavailable answers are to be stated as such)",
        "https://www.ebmt.org/registry/data-collection",
    ),
    (
        "EBMT, MED-A registration at 100 days post-transplant or at death, whichever comes first",
        "http://ebmt.org/4Registry/registry2.html",
    ),
    ("CIBMTR Forms Instruction Manual, Pre-TED (2400)", "https://www.cibmtr.org/manuals/fim/1/en/topic/2400"),
    (
        "CIBMTR Forms Instruction Manual, Post-TED (2450): due at 100 days, six months and annually",
        "https://www.cibmtr.org/manuals/fim/1/en/topic/2450",
    ),
    (
        "CIBMTR, Post-TED questions 8-11: initial ANC recovery (first of three values >= 0.5 x 10^9/L)",
        "https://www.cibmtr.org/manuals/fim/1/en/topic/q8-11-initial-anc-recovery",
    ),
    (
        "CIBMTR, Post-TED questions 1-7: date of actual contact to determine medical status",
        "https://www.cibmtr.org/manuals/fim/1/en/topic/q1-7-100-day-report-only",
    ),
    (
        "Ljungman P, Griffiths P, Paya C. Definitions of cytomegalovirus infection and disease in transplant "
        "recipients. Clin Infect Dis 2002;34:1094-7 (CMV infection: detection of viral nucleic acid in any body "
        "fluid or tissue specimen)",
        "https://doi.org/10.1086/339329",
    ),
)


class Missing(StrEnum):
    """Why a value is empty. The cell (CSV) or `value` (JSON) is then empty and this code says why."""

    NOT_RECORDED = "NR"  # the app holds this item, but nothing is recorded for this patient
    NOT_HELD = "NH"  # the app does not hold this item at all (the registry form must be completed by hand)
    NOT_YET = "NY"  # the time point has not come yet (Day 0 or Day +100 still ahead, not engrafted yet)
    NOT_CONFIRMED = "NC"  # a date is recorded but no clinician confirmed it (engraftment)
    UNKNOWN = "UNK"  # the app holds data but they do not answer the question (e.g. no contact after Day +100)
    NOT_APPLICABLE = "NA"  # the question does not apply (the date of death of a living patient)


MISSING_MEANINGS: dict[Missing, str] = {
    Missing.NOT_RECORDED: "Not recorded: the app holds this item, but nothing is recorded for this patient.",
    Missing.NOT_HELD: "Not held: the app does not record this item; complete it from the medical record.",
    Missing.NOT_YET: "Not yet: the time point (Day 0, Day +100, engraftment) has not come yet.",
    Missing.NOT_CONFIRMED: "Not confirmed: a date is recorded, but no clinician has confirmed it in the app.",
    Missing.UNKNOWN: "Unknown: the app's records do not answer the question.",
    Missing.NOT_APPLICABLE: "Not applicable to this patient (e.g. the date of death of a living patient).",
}


class DataType(StrEnum):
    TEXT = "text"
    CODE = "code"  # one of `values`
    DATE = "date"  # ISO 8601, YYYY-MM-DD
    DECIMAL = "decimal"  # a decimal point, never a comma
    INTEGER = "integer"


@dataclass(frozen=True)
class RegistryItem:
    id: str
    label: str
    form: str
    data_type: DataType
    values: str  # allowed values or the unit
    derivation: str  # how the app derives it, and what empties it
    source: str  # the app's field(s)


ITEMS: tuple[RegistryItem, ...] = (
    RegistryItem(
        "medA.centre",
        "Reporting centre",
        MED_A,
        DataType.TEXT,
        "the centre's name in the app (the registry's centre identifier is not held)",
        "The patient's centre.",
        "Centre.name",
    ),
    RegistryItem(
        "medA.hospital_number",
        "Patient's hospital number",
        MED_A,
        DataType.TEXT,
        "the centre's own identifier (the registry's patient number, UPN/CIC, is not held)",
        "As recorded.",
        "Patient.hospital_number",
    ),
    RegistryItem(
        "medA.date_of_birth",
        "Date of birth",
        MED_A,
        DataType.DATE,
        "YYYY-MM-DD",
        "As recorded.",
        "Patient.date_of_birth",
    ),
    RegistryItem(
        "medA.sex",
        "Sex",
        MED_A,
        DataType.CODE,
        "female, male, other",
        "As recorded; 'unknown' in the app is exported empty with UNK.",
        "Patient.sex",
    ),
    RegistryItem(
        "medA.diagnosis",
        "Indication for the transplant",
        MED_A,
        DataType.CODE,
        "multiple_sclerosis",
        "Every patient the app follows is transplanted for multiple sclerosis (autoimmune disease, neurological).",
        "(the app's purpose)",
    ),
    RegistryItem(
        "medA.ms_type",
        "MS type at transplant",
        MED_A,
        DataType.CODE,
        "RRMS, SPMS, PPMS, CIS",
        "As recorded on the patient's details; empty with NR when not recorded.",
        "Patient.ms_type",
    ),
    RegistryItem(
        "medA.ms_onset_date",
        "MS onset date (the app holds onset, not the date of diagnosis the forms ask for)",
        MED_A,
        DataType.DATE,
        "YYYY-MM-DD",
        "As recorded; empty with NR when not recorded.",
        "Patient.ms_onset_date",
    ),
    RegistryItem(
        "medA.edss_at_transplant",
        "EDSS at transplant",
        MED_A,
        DataType.DECIMAL,
        "0.0 to 10.0 in steps of 0.5",
        "The last EDSS assessment on or before Day 0, else the baseline EDSS on the patient's details (the rule of "
        "the cohort outcomes, recovery.clinical.outcomes.baseline_edss); NY while Day 0 is still ahead; NR when "
        "neither is recorded.",
        "EDSSAssessment.score, Patient.baseline_edss",
    ),
    RegistryItem(
        "medA.hsct_date",
        "Date of the transplant (Day 0, reinfusion)",
        MED_A,
        DataType.DATE,
        "YYYY-MM-DD",
        "The reinfusion date when it is today or earlier; a later date is a plan (NY); NR without one.",
        "TransplantEpisode.reinfusion_date",
    ),
    RegistryItem(
        "medA.hsct_type",
        "Type of transplant",
        MED_A,
        DataType.CODE,
        "autologous",
        "The app follows autologous transplants only: 'autologous' once Day 0 has happened (else as medA.hsct_date).",
        "(the app's purpose), TransplantEpisode.reinfusion_date",
    ),
    RegistryItem(
        "medA.stem_cell_source",
        "Stem cell source",
        MED_A,
        DataType.CODE,
        "peripheral_blood",
        "Peripheral blood once an apheresis (collection) has happened (its date today or earlier); NY while it is "
        "planned; NR otherwise (bone marrow is not recorded).",
        "TransplantEpisode.apheresis_date, ApheresisSession",
    ),
    RegistryItem(
        "medA.graft_cryopreserved",
        "Graft cryopreserved",
        MED_A,
        DataType.CODE,
        "yes",
        "'yes' once the cryostorage date has come; NY while it, or the first apheresis, is still ahead; NR "
        "otherwise (a fresh graft is not recorded as such).",
        "TransplantEpisode.cryostorage_date",
    ),
    RegistryItem(
        "cibmtr.mobilisation_agents",
        "Mobilisation agents",
        CIBMTR,
        DataType.CODE,
        "cyclophosphamide, g_csf, cyclophosphamide+g_csf",
        "Cyclophosphamide once the mobilisation (Cy dose) date has come, G-CSF once the G-CSF start date has; NY "
        "while the dates recorded are all still ahead; NR when neither is recorded. Doses and other agents "
        "(plerixafor) are not held.",
        "TransplantEpisode.mobilisation_date, gcsf_start_date",
    ),
    RegistryItem(
        "cibmtr.mobilisation_date",
        "Mobilisation date (cyclophosphamide dose)",
        CIBMTR,
        DataType.DATE,
        "YYYY-MM-DD",
        "As recorded, once it has come: a date after today (the patient's local date) is a plan, not a fact: NY. "
        "NR when not recorded.",
        "TransplantEpisode.mobilisation_date",
    ),
    RegistryItem(
        "cibmtr.gcsf_start_date",
        "G-CSF start date",
        CIBMTR,
        DataType.DATE,
        "YYYY-MM-DD",
        "As recorded, once it has come: a date after today (the patient's local date) is a plan, not a fact: NY. "
        "NR when not recorded.",
        "TransplantEpisode.gcsf_start_date",
    ),
    RegistryItem(
        "cibmtr.apheresis_first_date",
        "First apheresis date",
        CIBMTR,
        DataType.DATE,
        "YYYY-MM-DD",
        "The earliest of the first apheresis date and the collections recorded, once it has come; NY while it is "
        "still ahead (planned); NR without either.",
        "TransplantEpisode.apheresis_date, ApheresisSession.collected_on",
    ),
    RegistryItem(
        "cibmtr.apheresis_sessions",
        "Number of apheresis sessions",
        CIBMTR,
        DataType.INTEGER,
        "1 or more",
        "The collections recorded one by one whose date has come; NY when every one is still ahead; NR when none "
        "is recorded (only a first apheresis date, or nothing).",
        "ApheresisSession",
    ),
    RegistryItem(
        "cibmtr.apheresis_dates",
        "Apheresis dates",
        CIBMTR,
        DataType.TEXT,
        "YYYY-MM-DD dates separated by ';'",
        "The collections recorded one by one whose date has come, in order; NY when every one is still ahead; NR "
        "when none is recorded.",
        "ApheresisSession.collected_on",
    ),
    RegistryItem(
        "cibmtr.cd34_dose",
        "CD34+ cells collected",
        CIBMTR,
        DataType.DECIMAL,
        "x 10^6 CD34+ cells/kg",
        "The total collected (the sum of the collections when they are recorded one by one). The dose infused is "
        "not held separately: for a single autologous reinfusion of the whole collection it is the same. NY while "
        "the last collection recorded is still ahead (the total is not known yet); NR when not recorded.",
        "TransplantEpisode.cd34_dose",
    ),
    RegistryItem(
        "cibmtr.conditioning_regimen",
        "Conditioning (preparative) regimen",
        CIBMTR,
        DataType.CODE,
        "the protocol code, e.g. cy_atg, beam_atg",
        "The protocol of the transplant once conditioning has begun (its start date, or Day 0, today or earlier); "
        "NY while a protocol is chosen but neither date has come (a plan); drug doses are in the protocol, not per "
        "patient. NR without a protocol.",
        "TransplantEpisode.protocol.code",
    ),
    RegistryItem(
        "cibmtr.conditioning_regimen_name",
        "Conditioning regimen (name)",
        CIBMTR,
        DataType.TEXT,
        "e.g. Cy/ATG, BEAM/ATG",
        "The protocol's name, as cibmtr.conditioning_regimen (NY before conditioning); NR without a protocol.",
        "TransplantEpisode.protocol.name",
    ),
    RegistryItem(
        "cibmtr.conditioning_start_date",
        "Conditioning start date",
        CIBMTR,
        DataType.DATE,
        "YYYY-MM-DD",
        "As recorded, once it has come: a date after today (the patient's local date) is a plan, not a fact: NY. "
        "NR when not recorded.",
        "TransplantEpisode.conditioning_start_date",
    ),
    RegistryItem(
        "medA.anc_recovery_date",
        "Neutrophil recovery (engraftment) date",
        MED_A,
        DataType.DATE,
        "YYYY-MM-DD",
        "The date a clinician confirmed (ANC >= 0.5 x 10^9/L, the ASTCT/CIBMTR rule the app proposes from the "
        "counts) and that is still the episode's date. NC when the episode holds a date nobody confirmed (or that "
        "changed since); NY when no date is recorded, or one still ahead.",
        "EngraftmentConfirmation (neutrophil), TransplantEpisode.neutrophil_engraftment_date",
    ),
    RegistryItem(
        "medA.platelet_recovery_date",
        "Platelet recovery (engraftment) date",
        MED_A,
        DataType.DATE,
        "YYYY-MM-DD",
        "As for neutrophils: platelets >= 20 x 10^9/L without a transfusion for 7 days, confirmed by a clinician.",
        "EngraftmentConfirmation (platelet), TransplantEpisode.platelet_engraftment_date",
    ),
    RegistryItem(
        "medA.febrile_neutropenia_d100",
        "Febrile neutropenia by Day +100 (CTCAE v5.0: grade 3 or more by definition)",
        MED_A,
        DataType.CODE,
        "yes, no",
        "The cohort's rule (recovery.clinical.febrile_neutropenia, OutcomeConfig; defaults shown): a check-in "
        f"temperature >= {_FN.fn_single_c} C, or >= {_FN.fn_sustained_c} C for over {_FN.fn_sustained_minutes} "
        f"minutes, with the nearest ANC (within {_FN.fn_anc_window_hours} h) below {_FN.fn_anc_below} x 10^9/L, "
        "from conditioning start through the centre's window end. NY while the window is open; NR when no ANC "
        "result is in it.",
        "SymptomReport.temperature_c, LabResult (anc)",
    ),
    RegistryItem(
        "medA.ebv_viraemia_d100",
        "EBV DNA detected in blood by Day +100",
        MED_A,
        DataType.CODE,
        "yes, no",
        "'yes' when an EBV PCR result from Day 0 through Day +100 is above 0 copies/mL, i.e. any detectable DNA "
        "(the transplant definitions count the detection of viral nucleic acid in blood as infection, whatever the "
        "load: Ljungman et al. 2002, see the sources; the centre's EBV alert threshold is a trigger for treatment, "
        "not this question, and is not used); 'no' when every result in that window is 0 and the window has "
        "closed; NY while it is open; NR without a result. A PCR finding, not a graded infection: EBV disease, "
        "PTLD and treatment (rituximab) are not held.",
        "LabResult (ebv_pcr)",
    ),
    RegistryItem(
        "medA.ebv_max_copies_d100",
        "Highest EBV DNA load, Day 0 to Day +100",
        MED_A,
        DataType.DECIMAL,
        "copies/mL",
        "The highest EBV PCR result in the window once it has closed (NY before; NR without a result).",
        "LabResult (ebv_pcr)",
    ),
    RegistryItem(
        "medA.cmv_viraemia_d100",
        "CMV DNA detected in blood by Day +100",
        MED_A,
        DataType.CODE,
        "yes, no",
        "As for EBV (any detectable CMV DNA, the 'CMV infection' of Ljungman et al. 2002), from the CMV PCR "
        "results. CMV disease and antiviral treatment are not held.",
        "LabResult (cmv_pcr)",
    ),
    RegistryItem(
        "medA.cmv_max_copies_d100",
        "Highest CMV DNA load, Day 0 to Day +100",
        MED_A,
        DataType.DECIMAL,
        "copies/mL",
        "As for EBV.",
        "LabResult (cmv_pcr)",
    ),
    RegistryItem(
        "medA.infection_grade3plus_d100",
        "Infections of CTCAE grade 3 or more by Day +100 (other than febrile neutropenia)",
        MED_A,
        DataType.INTEGER,
        "a count",
        "Always empty with NH: the app records symptoms, temperatures, alerts and viral loads, not infections as "
        "diagnoses with a pathogen, a site and a grade. Febrile neutropenia and EBV/CMV viraemia are the items "
        "above; complete this one from the medical record.",
        "(not held)",
    ),
    RegistryItem(
        "medA.day100_status",
        "Survival status at Day +100",
        MED_A,
        DataType.CODE,
        "alive",
        "'alive' when a contact (see medA.last_contact_date) is on or after Day +100; NY before Day +100; UNK "
        "otherwise (a deceased patient without a later contact may have died before or after Day +100: the date "
        "of death is not held).",
        "TransplantEpisode.reinfusion_date, the contact dates, Patient.status",
    ),
    RegistryItem(
        "medA.vital_status",
        "Vital status at the last contact",
        MED_A,
        DataType.CODE,
        "alive, dead",
        "'dead' when the patient's status is deceased; 'alive' when not and a contact is recorded; UNK without "
        "any contact.",
        "Patient.status, the contact dates",
    ),
    RegistryItem(
        "medA.last_contact_date",
        "Date of the last contact (last follow-up)",
        MED_A,
        DataType.DATE,
        "YYYY-MM-DD",
        "The latest date, today or earlier, of a check-in (in the patient's time zone), a lab sample, an EDSS "
        "assessment, an MRI scan, a vaccination given or a timeline event done; NR without any. Not necessarily a "
        "clinician's evaluation as the CIBMTR asks: review it.",
        "SymptomReport, LabResult, EDSSAssessment, MRIScan, VaccinationDose, TimelineEvent (done)",
    ),
    RegistryItem(
        "medA.death_date",
        "Date of death",
        MED_A,
        DataType.DATE,
        "YYYY-MM-DD",
        "NH for a deceased patient (the app records that a patient died, not when); NA for any other.",
        "(not held)",
    ),
    RegistryItem(
        "medA.death_cause",
        "Main cause of death",
        MED_A,
        DataType.TEXT,
        "free text",
        "NH for a deceased patient (not recorded in the app); NA for any other.",
        "(not held)",
    ),
)

ITEM_IDS: tuple[str, ...] = tuple(item.id for item in ITEMS)


def missing_column(item_id: str) -> str:
    """The CSV column that carries the code of an empty value of `item_id`."""
    return f"{item_id}.missing"


def csv_header() -> list[str]:
    """Each item's column, then its missing-code column."""
    return [column for item_id in ITEM_IDS for column in (item_id, missing_column(item_id))]
