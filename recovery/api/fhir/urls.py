from django.urls import path

from recovery.api import fhir_export, fhir_labs
from recovery.api.fhir import views

app_name = "fhir"

urlpatterns = [
    # POST of a laboratory's Bundle of Observations to the base (docs/fhir-lab-import.md)
    path("", fhir_labs.batch, name="batch"),
    # the bulk $export before the generic type patterns, which would take "$export" for a type
    *fhir_export.urlpatterns,
    path("metadata", views.Metadata.as_view(), name="metadata"),
    path("Patient/<str:patient_id>/$everything", views.Everything.as_view(), name="everything"),
    path("<str:resource_type_name>/<str:resource_id>", views.Read.as_view(), name="read"),
    path("<str:resource_type_name>", views.Search.as_view(), name="search"),
]
