"""Every FHIR URL answers its errors the same way (recovery/api/fhir/common.py): an OperationOutcome as
`application/fhir+json; charset=utf-8`, 401 `login` with WWW-Authenticate, 403 `forbidden`, 404 `not-found`,
405/415 `not-supported` — the read API, the bulk export and the lab Bundle import alike."""

import json

import pytest
from django.urls import reverse
from fhir.resources.operationoutcome import OperationOutcome

pytestmark = pytest.mark.django_db
FHIR_JSON = "application/fhir+json; charset=utf-8"
ASYNC = {"HTTP_PREFER": "respond-async"}
BUNDLE = json.dumps({"resourceType": "Bundle", "type": "batch", "entry": []})


def _issue(response, status: int) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == FHIR_JSON
    OperationOutcome.parse_obj(response.json())
    (issue,) = response.json()["issue"]
    assert issue["severity"] == "error"
    assert issue["diagnostics"]
    return issue


def _requests(patient, centre):
    """One request of each kind of FHIR endpoint: (name, method, url, extra)."""
    return [
        ("read", "get", f"/fhir/R4/Patient/{patient.uuid}", {}),
        ("search", "get", f"/fhir/R4/Condition?patient={patient.uuid}", {}),
        ("everything", "get", f"/fhir/R4/Patient/{patient.uuid}/$everything", {}),
        ("export", "get", reverse("fhir:bulk-export-group", kwargs={"centre_id": centre.uuid}), ASYNC),
        ("labs", "post", "/fhir/R4/", {"data": BUNDLE, "content_type": "application/fhir+json"}),
    ]


def test_not_signed_in_is_401_login_with_www_authenticate_everywhere(api_for, patient, centre):
    for name, method, url, extra in _requests(patient, centre):
        response = getattr(api_for(None), method)(url, **extra)
        assert _issue(response, 401)["code"] == "login", name
        assert response["WWW-Authenticate"] == "Token", name


def test_not_allowed_is_403_forbidden_in_the_same_words(api_for, patient, centre):
    """A patient may not export nor post labs: the same code from both, each naming what the role lacks."""
    client = api_for(patient.user)
    export = _issue(client.get(reverse("fhir:bulk-export-group", kwargs={"centre_id": centre.uuid}), **ASYNC), 403)
    labs = _issue(client.post("/fhir/R4/", data=BUNDLE, content_type="application/fhir+json"), 403)
    assert export["code"] == labs["code"] == "forbidden"
    assert export["diagnostics"] == "Your role may not do this (patients.list)."
    assert labs["diagnostics"] == "Your role may not do this (labs.record)."


def test_out_of_sight_is_404_not_found_everywhere(api_for, other_centre_coordinator, patient, centre):
    client = api_for(other_centre_coordinator)
    for name, method, url, extra in _requests(patient, centre)[:4]:
        assert _issue(getattr(client, method)(url, **extra), 404)["code"] == "not-found", name


def test_a_method_or_media_type_not_taken_is_not_supported(api_for, coordinator, patient):
    client = api_for(coordinator)
    assert _issue(client.delete(f"/fhir/R4/Patient/{patient.uuid}"), 405)["code"] == "not-supported"
    assert _issue(client.get("/fhir/R4/"), 405)["code"] == "not-supported"
    refused = client.post("/fhir/R4/", data="<Bundle/>", content_type="application/fhir+xml")
    assert _issue(refused, 415)["code"] == "not-supported"


def test_a_body_too_large_for_the_view_itself_is_the_same_too_costly_outcome(coordinator, settings):
    """The view reads the body through Django's own limit (here without the middleware, which usually reads it
    first): the same 400 `too-costly` OperationOutcome, never Django's bare 400."""
    from rest_framework.test import APIRequestFactory, force_authenticate

    from recovery.api.fhir_labs import batch

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    request = APIRequestFactory().post("/fhir/R4/", data=BUNDLE + " " * 100, content_type="application/fhir+json")
    force_authenticate(request, user=coordinator)
    response = batch(request)
    assert response.status_code == 400
    assert response["Content-Type"] == FHIR_JSON
    (issue,) = OperationOutcome.parse_raw(response.content).issue
    assert issue.code == "too-costly"
    assert "larger than 100 bytes" in issue.diagnostics
