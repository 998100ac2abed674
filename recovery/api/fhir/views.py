"""/fhir/R4/: metadata, read, search and Patient/{id}/$everything (issue 17, shared/api.md "FHIR R4").

The same sign-in as /api/v1/ (a session, or `Authorization: Token ...`) and the same access rules
(`recovery.access`: a patient the caller may not see is a 404). Every answer is FHIR JSON
(`application/fhir+json`), an error an OperationOutcome. Every read of patient data is in the access log:
`fhir.read` (a Patient), `fhir.search` (the patients whose resources a page shows), `fhir.everything`.

A search pages through the patients in batches (`Cursor`): a batch's resources are read with the type's
`search` (a fixed number of queries), the page takes `_count` of them, and the next link says where to go on. A
batch that yields too little for the page is followed by one twice its size, so a sparse type over a large
centre takes a few batches, not one per patient. `total` is given when the page's batch holds every patient of
the search (always with `patient=`).
"""

from django.urls import reverse
from django.utils.http import urlencode
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from recovery import access
from recovery.access import Action
from recovery.api.fhir import params
from recovery.api.fhir.bundle import bundle, capability_statement
from recovery.api.fhir.common import FHIR_JSON, FhirError
from recovery.api.fhir.common import FhirView as BaseFhirView
from recovery.models import Patient
from recovery.queries.fhir import RESOURCE_TYPES
from recovery.queries.fhir.common import DateRange
from recovery.queries.fhir.owners import owner
from recovery.queries.fhir.patient import patient_resource
from recovery.services.audit import AuditContext, record_event, record_reads

FIRST_BATCH = 20  # patients: a dense type (daily labs) reads a few thousand rows a page, not every patient's
MAX_BATCH = 3200
SEARCH_PARAMETERS = {"patient", "date", "_count", "_cursor", "_format"}
EVERYTHING_PARAMETERS = {"start", "end", "_type", "_format"}
FORMATS = {"json", "application/json", FHIR_JSON}


class FhirView(BaseFhirView):
    """The read API's views: the common FHIR base (recovery/api/fhir/common.py), and the parameters they take."""

    def check_format(self, request: Request, allowed: set[str]) -> None:
        unknown = sorted(set(request.query_params) - allowed)
        if unknown:
            raise FhirError(
                f"Unknown parameter(s): {', '.join(unknown)}. This server takes {', '.join(sorted(allowed))}.",
                code="not-supported",
            )
        fmt = request.query_params.get("_format")
        if fmt is not None and fmt not in FORMATS:
            raise FhirError(f"_format={fmt!r}: this server answers in JSON only.", 406, "not-supported")


def base_url(request: Request) -> str:
    """The absolute address of /fhir/R4/, ending in a slash (fullUrl is this plus Type/id)."""
    return request.build_absolute_uri(reverse("fhir:metadata")).removesuffix("metadata")


def resource_type(name: str):
    kind = RESOURCE_TYPES.get(name)
    if kind is None:
        raise FhirError(
            f"{name!r} is not a resource type this server offers (see /fhir/R4/metadata).", 404, "not-found"
        )
    return kind


class Metadata(FhirView):
    """The CapabilityStatement: open to all, as FHIR clients read it before they sign in."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        self.check_format(request, {"_format", "mode"})
        return Response(capability_statement(base_url(request)))


class Read(FhirView):
    """`{Type}/{id}`: a Patient, any resource of a patient (the fullUrl of a Bundle entry), or a definition."""

    def get(self, request: Request, resource_type_name: str, resource_id: str) -> Response:
        self.check_format(request, {"_format"})
        kind = resource_type(resource_type_name)
        if resource_type_name == "Patient":
            patient = access.get_patient(request.user, resource_id)
            record_event(
                context=AuditContext.from_request(request),
                action="fhir.read",
                patient=patient,
                detail={"resource": "Patient"},
            )
            return Response(patient_resource(patient))
        if kind.definitions is not None:
            found = next((item for item in kind.definitions() if item.get("id") == resource_id), None)
            if found is None:
                raise FhirError(f"No {resource_type_name} with the id {resource_id!r}.", 404, "not-found")
            return Response(found)
        # A patient's resource: its owner among the patients in sight (recovery/queries/fhir/owners.py), then
        # that type's own search for that one patient, so the answer is the entry a search or $everything gives.

        seen = access.visible_patients(request.user, include_deactivated=True)
        owner_uuid = owner(resource_type_name, resource_id, seen)
        if owner_uuid is None:
            raise FhirError(f"No {resource_type_name} with the id {resource_id!r}.", 404, "not-found")
        patient = access.get_patient(request.user, owner_uuid)
        found = next(
            (
                item
                for item in kind.search(Patient.objects.filter(pk=patient.pk), DateRange())
                if item["id"] == resource_id
            ),
            None,
        )
        if found is None:
            raise FhirError(f"No {resource_type_name} with the id {resource_id!r}.", 404, "not-found")
        record_event(
            context=AuditContext.from_request(request),
            action="fhir.read",
            patient=patient,
            detail={"resource": resource_type_name, "id": resource_id},
        )
        return Response(found)


def _patient_uuids(resource: dict) -> set[str]:
    """The ids of the patients a resource is about (its subject, patient or own id)."""
    if resource.get("resourceType") == "Patient":
        return {str(resource.get("id"))}
    found = set()
    for key in ("subject", "patient"):
        reference = (resource.get(key) or {}).get("reference", "")
        if reference.startswith("Patient/"):
            found.add(reference.removeprefix("Patient/"))
    return found


def _page(patients, kind, dates: DateRange, start: params.Cursor, count: int):
    """The page's resources, the patients they are about, the next cursor (or None) and the total (or None)."""
    resources: list[dict] = []
    shown: dict[str, Patient] = {}
    position, size, skip = start.position, min(start.batch or FIRST_BATCH, MAX_BATCH), start.skip
    total = None
    while True:
        batch = list(patients[position : position + size])
        if not batch:
            return resources, shown, None, total
        found = kind.search(Patient.objects.filter(pk__in=[patient.pk for patient in batch]), dates)
        if position == 0 and len(batch) < size:
            total = len(found)
        taken = found[skip : skip + count - len(resources)]
        resources.extend(taken)
        by_uuid = {str(patient.uuid): patient for patient in batch}
        for resource in taken:
            ids = _patient_uuids(resource) & by_uuid.keys() or by_uuid.keys()
            shown.update((key, by_uuid[key]) for key in ids)
        if skip + len(taken) < len(found):
            return resources, shown, params.Cursor(position, size, skip + len(taken)), total
        if len(batch) < size:
            return resources, shown, None, total
        position, size, skip = position + size, min(size * 2, MAX_BATCH), 0
        if len(resources) >= count:
            return resources, shown, params.Cursor(position, size, 0), total


class Search(FhirView):
    """`{Type}?patient=&date=&_count=`: a searchset Bundle, paged."""

    def get(self, request: Request, resource_type_name: str) -> Response:
        self.check_format(request, SEARCH_PARAMETERS)
        kind = resource_type(resource_type_name)
        query = request.query_params
        base = base_url(request)
        self_url = request.build_absolute_uri()
        if kind.search is None:  # definitions only (a Questionnaire): no patient data
            items = kind.definitions() if kind.definitions else []
            return Response(bundle(base, items, total=len(items), links={"self": self_url}))
        dates = params.date_range(query.getlist("date"))
        count = params.count(query.getlist("_count"))
        start = params.cursor(query.getlist("_cursor"))
        wanted = params.patient_id(query.getlist("patient"))
        if wanted is not None:
            patients = Patient.objects.filter(pk=access.get_patient(request.user, wanted).pk)
        else:
            access.require(request.user, Action.VIEW_PATIENT)
            patients = access.visible_patients(request.user).order_by("pk")
        resources, shown, following, total = _page(patients, kind, dates, start, count)
        if shown:
            record_reads(context=AuditContext.from_request(request), action="fhir.search", patients=shown.values())
        links = {"self": self_url}
        if following is not None:
            kept = [(key, value) for key in query for value in query.getlist(key) if key != "_cursor"]
            path = reverse("fhir:search", kwargs={"resource_type_name": resource_type_name})
            links["next"] = request.build_absolute_uri(f"{path}?{urlencode([*kept, ('_cursor', str(following))])}")
        return Response(bundle(base, resources, total=total, links=links))


class Everything(FhirView):
    """`Patient/{id}/$everything?start=&end=&_type=`: the patient's whole record in one Bundle."""

    def get(self, request: Request, patient_id: str) -> Response:
        self.check_format(request, EVERYTHING_PARAMETERS)
        query = request.query_params
        start = [f"ge{value}" for value in query.getlist("start")]
        end = [f"le{value}" for value in query.getlist("end")]
        dates = params.date_range([*start, *end])
        names = list(RESOURCE_TYPES)
        if "_type" in query:
            names = [name.strip() for value in query.getlist("_type") for name in value.split(",") if name.strip()]
            for name in names:
                resource_type(name)
        patient = access.get_patient(request.user, patient_id)
        one = Patient.objects.filter(pk=patient.pk)
        resources: list[dict] = []
        included: list[dict] = []
        for name in names:
            kind = RESOURCE_TYPES[name]
            if kind.search is not None:
                resources.extend(kind.search(one, DateRange() if name == "Patient" else dates))
            if kind.definitions is not None:
                included.extend(kind.definitions())
        record_event(context=AuditContext.from_request(request), action="fhir.everything", patient=patient)
        links = {"self": request.build_absolute_uri()}
        return Response(bundle(base_url(request), resources, total=len(resources), links=links, included=included))
