"""Every clinical FHIR resource built for the seeded demo (seed_demo: 40 patients in every phase and the 174-patient
cohort) is valid R4, with unique ids per type; marked slow (the seed and thousands of validations)."""

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from fhir.resources import construct_fhir_element

from recovery.models import Patient
from recovery.queries.fhir import RESOURCE_TYPES
from recovery.queries.fhir.common import ALL_TIME

pytestmark = pytest.mark.slow

CLINICAL = ("Observation", "QuestionnaireResponse", "Immunization", "MedicationStatement")


def test_every_clinical_resource_of_the_demo_is_valid_r4(demo, db):
    patients = Patient.objects.all()
    for name in CLINICAL:
        with CaptureQueriesContext(connection) as queries:
            resources = RESOURCE_TYPES[name].search(patients, ALL_TIME)
        assert len(queries) <= 6, name
        assert resources, name
        assert len({r["id"] for r in resources}) == len(resources), name
        for resource in resources:
            construct_fhir_element(name, json.loads(json.dumps(resource)))
        if name == "Observation":
            assert {r["id"].split("-")[0] for r in resources} == {"lab", "temp", "edss", "mri"}
