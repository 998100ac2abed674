"""Bundles and the CapabilityStatement, as plain FHIR R4 JSON."""

from django.utils import timezone

from recovery.api.fhir.common import FHIR_JSON
from recovery.queries.fhir import RESOURCE_TYPES
from recovery.queries.fhir.common import instant

FHIR_VERSION = "4.0.1"
EVERYTHING = "http://hl7.org/fhir/OperationDefinition/Patient-everything"
SEARCH_PARAMS = [
    {
        "name": "patient",
        "type": "reference",
        "documentation": "The patient's id (or Patient/id). Without it: every patient the caller may see.",
    },
    {
        "name": "date",
        "type": "date",
        "documentation": "Prefixes eq, ge, gt, le, lt; YYYY, YYYY-MM, YYYY-MM-DD or an instant with its zone.",
    },
    {"name": "_count", "type": "number", "documentation": "Resources per page, 1 to 200 (default 50)."},
]


def full_url(base: str, resource: dict) -> str:
    return f"{base}{resource['resourceType']}/{resource['id']}"


def bundle(base: str, resources: list[dict], *, total: int | None, links: dict[str, str], included=()) -> dict:
    """A `searchset` Bundle: the matches, then the resources included with them (`search.mode` include)."""
    data: dict = {
        "resourceType": "Bundle",
        "type": "searchset",
        "timestamp": instant(timezone.now()),
    }
    if total is not None:
        data["total"] = total
    data["link"] = [{"relation": relation, "url": url} for relation, url in links.items()]
    entries = [
        {"fullUrl": full_url(base, resource), "resource": resource, "search": {"mode": mode}}
        for mode, group in (("match", resources), ("include", included))
        for resource in group
    ]
    if entries:
        data["entry"] = entries
    return data


def _resource_entry(name: str, kind) -> dict:
    entry: dict = {"type": name}
    if kind.description:
        entry["documentation"] = kind.description
    interactions = [{"code": "read"}]  # every type is read by id (views.Read, queries/fhir/owners.py)
    interactions.append({"code": "search-type"})
    entry["interaction"] = interactions
    if kind.search is not None:
        entry["searchParam"] = SEARCH_PARAMS
    if name == "Patient":
        entry["operation"] = [{"name": "everything", "definition": EVERYTHING}]
    return entry


def capability_statement(base: str) -> dict:
    """What this server offers, from the registry of resource types."""
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(timezone.now()),
        "publisher": "Recovery tracker",
        "kind": "instance",
        "software": {"name": "Recovery tracker"},
        "implementation": {"description": "aHSCT recovery tracker, FHIR R4 read API", "url": base.rstrip("/")},
        "fhirVersion": FHIR_VERSION,
        "format": [FHIR_JSON, "json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    "Read only. Sign in (session) or send Authorization: Token <token> from POST /api/v1/auth/token/. "
                    "Staff see the patients of their centres, a patient only their own record; every read is in "
                    "the patient's access log."
                ),
                "security": {
                    "cors": False,
                    "description": "Token (Authorization: Token <token>) or a signed-in session.",
                },
                "resource": [_resource_entry(name, kind) for name, kind in sorted(RESOURCE_TYPES.items())],
                "operation": [{"name": "everything", "definition": EVERYTHING}],
            }
        ],
    }
