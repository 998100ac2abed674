"""Pseudonymised FHIR resources for a bulk export (`_pseudonymise=true`, issue 17): pure functions on JSON dicts.

What is done to every resource (and to any resource inside it, `contained` or a Bundle's entries):

- Its `meta` loses `lastUpdated`, `versionId` and `source` (a row's exact write time would link two exports) and
  gains the security label PSEUDED.
- Its `id`, and every reference `Type/id` (relative or absolute), becomes a keyed pseudonym: HMAC-SHA256 of
  "Type/id" under the export's own key. References stay consistent within one export (the Observation of a patient
  points to that patient's pseudonym) and do not link across exports (another export has another key).
- Business identifiers (`identifier`) are removed everywhere: a hospital number, a personal number, a row's id.
- A Patient loses its `name`, `telecom`, `contact`, `address`, `photo`, `generalPractitioner` and `link`; its
  `birthDate` (and `deceasedDateTime`) keep the year only.
- Free text is removed: the narrative (`text` with a `div`), `note`, `comment`, `valueString`, `valueMarkdown`,
  a reference's `display` (it may name the person; a Coding's `display` is the code's name and stays), and every
  other `text` string (a CodeableConcept's, which the app fills with a timeline event's title or an alert's
  reason as staff typed them; a HumanName's, a Dosage's), except a questionnaire item's `text` beside its
  `linkId`, the question's wording. A CodeableConcept left without a coding says "masked" (data-absent-reason)
  so the resource stays valid. An answer or an extension left without a value is dropped; an Observation (or
  component) left without a value says `dataAbsentReason` "masked".
"""

import copy
import hashlib
import hmac
import re

PSEUDONYM_LENGTH = 40  # hex characters: 160 bits of the HMAC, a valid FHIR id (at most 64)
_PATIENT_ONLY = ("name", "telecom", "contact", "address", "photo", "generalPractitioner", "link")
_FREE_TEXT = ("note", "comment", "valueString", "valueMarkdown")
_YEAR_ONLY = ("birthDate", "deceasedDateTime")
_VALUE_KEYS = re.compile(r"^value[A-Z]")
_REFERENCE = re.compile(
    r"^(?P<base>.*/)?(?P<type>[A-Z][A-Za-z]+)/(?P<id>[A-Za-z0-9\-.]{1,64})(?P<history>/_history/[A-Za-z0-9\-.]+)?$"
)
PSEUDONYMISED_LABEL = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue",
    "code": "PSEUDED",
    "display": "pseudonymized",
}
_META_DROPPED = ("lastUpdated", "versionId", "source")  # a row's exact write time would link two exports
MASKED_CODING = {"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "masked"}
DATA_ABSENT_MASKED = {"coding": [MASKED_CODING]}
_CONCEPT_KEYS = frozenset({"coding", "text", "id", "extension"})  # the elements of a CodeableConcept
# Elements that are no CodeableConcept though they may hold nothing but `text` (a HumanName, an Address, a Dosage):
# their words go, and with nothing left so do they.
_NOT_CONCEPTS = frozenset({"name", "address", "dosage", "dosageInstruction", "note", "contact"})


def pseudonym(key: bytes, resource_type: str, resource_id: str) -> str:
    """The pseudonymous id of `resource_type/resource_id` under `key` (the same input, the same pseudonym)."""
    digest = hmac.new(key, f"{resource_type}/{resource_id}".encode(), hashlib.sha256).hexdigest()
    return digest[:PSEUDONYM_LENGTH]


def pseudonymise_reference(key: bytes, reference: str) -> str | None:
    """`Patient/<id>` (or an absolute URL ending so) as `Patient/<pseudonym>`; None for any other reference (a
    `#contained` one is kept as it is by the caller, anything else is dropped)."""
    match = _REFERENCE.match(reference)
    if match is None:
        return None
    return f"{match['type']}/{pseudonym(key, match['type'], match['id'])}"


def pseudonymise(resource: dict, key: bytes) -> dict:
    """A pseudonymised copy of one FHIR resource (the input is left as it was)."""
    return _resource(copy.deepcopy(resource), key)


def _resource(resource: dict, key: bytes, *, local_id: bool = False) -> dict:
    """`local_id`: a contained resource, whose id is local to its container (its references say `#id`)."""
    kind = resource.get("resourceType", "")
    if "id" in resource and kind and not local_id:
        resource["id"] = pseudonym(key, kind, str(resource["id"]))
    if kind == "Patient":
        for name in _PATIENT_ONLY:
            resource.pop(name, None)
        for name in _YEAR_ONLY:
            if isinstance(resource.get(name), str):
                resource[name] = resource[name][:4]
    if isinstance(resource.get("text"), dict) and "div" in resource["text"]:
        del resource["text"]
    meta = {name: value for name, value in resource.get("meta", {}).items() if name not in _META_DROPPED}
    meta["security"] = [*meta.get("security", []), PSEUDONYMISED_LABEL]
    resource["meta"] = meta
    cleaned = _element({name: value for name, value in resource.items() if name != "id"}, key)
    return {"resourceType": kind, **({"id": resource["id"]} if "id" in resource else {}), **cleaned}


def _element(node: dict, key: bytes) -> dict:
    out: dict = {}
    lost_value = False
    for name, value in node.items():
        if name == "identifier" or name in _FREE_TEXT:
            lost_value = lost_value or _VALUE_KEYS.match(name) is not None
            continue
        if name == "display" and "code" not in node and "system" not in node:  # a Reference's, not a Coding's
            continue
        if name == "text" and isinstance(value, str) and "linkId" not in node:  # typed words; not a question's
            continue
        if name == "reference" and isinstance(value, str):
            if value.startswith("#"):
                out[name] = value
            elif (rewritten := pseudonymise_reference(key, value)) is not None:
                out[name] = rewritten
            continue
        cleaned = _value(name, value, key)
        if cleaned is not None:
            out[name] = cleaned
    if lost_value and "code" in out and not any(_VALUE_KEYS.match(name) for name in out):
        out.setdefault("dataAbsentReason", DATA_ABSENT_MASKED)
    return out


def _value(name: str, value, key: bytes):
    """A cleaned value, or None when nothing of it is left."""
    if isinstance(value, dict):
        if "resourceType" in value:
            return _resource(value, key, local_id=name == "contained")
        cleaned = _element(value, key)
        if name not in _NOT_CONCEPTS and _is_concept(value) and not cleaned.get("coding"):
            return {**cleaned, "coding": [MASKED_CODING]}  # known only by its words: still there, masked
        return cleaned if _has_content(name, cleaned) else None
    if isinstance(value, list):
        items = [_value(name, item, key) for item in value]
        items = [item for item in items if item is not None]
        return items or None
    return value


def _is_concept(element: dict) -> bool:
    """A CodeableConcept with words (`text`), by its shape: nothing but coding, text, id and extension."""
    return isinstance(element.get("text"), str) and set(element) <= _CONCEPT_KEYS


def _has_content(name: str, element: dict) -> bool:
    """Whether an element still says something: an answer or an extension needs its value, a reference its
    target, anything else any field at all."""
    if name == "answer" or name.endswith("xtension"):  # extension, modifierExtension
        return any(_VALUE_KEYS.match(field) for field in element) or "extension" in element or "item" in element
    return bool(element)
