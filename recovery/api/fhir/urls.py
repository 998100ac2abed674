from django.urls import path

from recovery.api.fhir import views

app_name = "fhir"

urlpatterns = [
    path("metadata", views.Metadata.as_view(), name="metadata"),
    path("Patient/<str:patient_id>/$everything", views.Everything.as_view(), name="everything"),
    path("<str:resource_type_name>/<str:resource_id>", views.Read.as_view(), name="read"),
    path("<str:resource_type_name>", views.Search.as_view(), name="search"),
]
