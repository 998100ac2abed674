"""Codes from official code systems (LOINC, SNOMED CT, CVX, UCUM), kept as data files with their source named.

Each file in `terminology_data/` is a CSV: comment lines starting with `#` name the source list and its version;
the header is `key,code,display,unit`, where `key` is this app's own code (a lab test, a vaccine, a procedure) and
`unit` is the UCUM unit where the code has one. Pure: no Django, read once.
"""

import csv
from dataclasses import dataclass
from functools import cache
from pathlib import Path

DATA = Path(__file__).with_name("terminology_data")

SYSTEMS: dict[str, str] = {
    "loinc": "http://loinc.org",
    "snomed": "http://snomed.info/sct",
    "cvx": "http://hl7.org/fhir/sid/cvx",
    "ucum": "http://unitsofmeasure.org",
    "atc": "http://www.whocc.no/atc",
    "snomed_outcomes": "http://snomed.info/sct",  # the MS outcome scales (snomed_outcomes.csv)
}


@dataclass(frozen=True)
class Coding:
    system: str  # the system's URI
    code: str
    display: str
    unit: str = ""  # UCUM

    def as_fhir(self) -> dict:
        return {"system": self.system, "code": self.code, "display": self.display}


@cache
def codings(system: str) -> dict[str, Coding]:
    """The app's keys and their codings in one file (`loinc`, `snomed`, `cvx`, `atc`, `snomed_outcomes`)."""
    with (DATA / f"{system}.csv").open(encoding="utf-8", newline="") as handle:
        rows = csv.DictReader(line for line in handle if not line.startswith("#"))
        return {row["key"]: Coding(SYSTEMS[system], row["code"], row["display"], row.get("unit") or "") for row in rows}


def coding(system: str, key: str) -> Coding:
    return codings(system)[key]


def key_for(system: str, code: str) -> str | None:
    """The app's key for a code of the system (the reverse lookup, for results that arrive coded)."""
    return next((key for key, found in codings(system).items() if found.code == code), None)
