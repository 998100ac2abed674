"""The FHIR R4 API over the demo data (`seed_demo`: 40 patients in every phase and the 174-patient cohort): every
resource of every registered type for the demo centre, page by page, is valid R4, and each transplanted patient
has their episode; the demo patient fetches their whole record."""

import pytest
from fhir.resources import construct_fhir_element
from fhir.resources.bundle import Bundle

from recovery.models import Patient, TransplantEpisode
from recovery.queries.fhir import RESOURCE_TYPES

pytestmark = pytest.mark.slow


@pytest.fixture
def seeded(demo, db):
    return demo


def _pages(client, url: str):
    while url:
        response = client.get(url)
        assert response.status_code == 200, response.content
        data = response.json()
        Bundle.parse_obj(data)
        yield data
        url = next((link["url"] for link in data["link"] if link["relation"] == "next"), None)


@pytest.mark.parametrize("name", sorted(name for name, kind in RESOURCE_TYPES.items() if kind.search))
def test_every_resource_of_the_demo_centre_is_valid(api_for, seeded, name):
    client = api_for(seeded["clinician"])
    ids = []
    for page in _pages(client, f"/fhir/R4/{name}?_count=200"):
        for entry in page.get("entry", []):
            construct_fhir_element(name, entry["resource"])
            ids.append(entry["resource"]["id"])
    assert len(ids) == len(set(ids))
    if name == "EpisodeOfCare":
        centre = seeded["_patient"].centre
        episodes = TransplantEpisode.objects.filter(patient__centre=centre, patient__deactivated_at__isnull=True)
        assert sorted(ids) == sorted(str(uuid) for uuid in episodes.values_list("uuid", flat=True))
    if name == "Patient":
        assert len(ids) == Patient.objects.filter(centre=seeded["_patient"].centre).active().count()


def test_the_demo_patient_fetches_their_whole_record(api_for, seeded):
    patient = seeded["_patient"]
    response = api_for(seeded["patient"]).get(f"/fhir/R4/Patient/{patient.uuid}/$everything")
    assert response.status_code == 200
    data = response.json()
    Bundle.parse_obj(data)
    types = {entry["resource"]["resourceType"] for entry in data["entry"]}
    assert {"Patient", "EpisodeOfCare", "Procedure", "Condition"} <= types
