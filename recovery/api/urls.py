from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from recovery.api import labs, notifications, outcomes, symptoms, timeline, vaccinations, views

app_name = "api"

urlpatterns = [
    path("v1/auth/token/", views.obtain_token, name="token"),
    path("v1/auth/token/revoke/", views.revoke_token, name="token-revoke"),
    path("v1/me/", views.me, name="me"),
    path("v1/patients/", views.patient_list, name="patient-list"),
    path("v1/patients/<str:patient_id>/", views.patient_detail, name="patient-detail"),
    path("v1/patients/<str:patient_id>/transplant/", timeline.transplant, name="transplant"),
    path("v1/patients/<str:patient_id>/timeline/", timeline.timeline, name="timeline"),
    path("v1/patients/<str:patient_id>/symptom-reports/", symptoms.symptom_reports, name="symptom-reports"),
    path("v1/patients/<str:patient_id>/edss/", outcomes.edss, name="edss"),
    path("v1/patients/<str:patient_id>/relapses/", outcomes.relapses, name="relapses"),
    path("v1/patients/<str:patient_id>/relapses/<str:relapse_id>/", outcomes.relapse_detail, name="relapse-detail"),
    path("v1/patients/<str:patient_id>/mri/", outcomes.mri, name="mri"),
    path("v1/patients/<str:patient_id>/outcomes/", outcomes.patient_outcomes, name="outcomes"),
    path("v1/patients/<str:patient_id>/notifications/", notifications.notifications, name="notifications"),
    path("v1/patients/<str:patient_id>/labs/", labs.labs, name="labs"),
    path("v1/patients/<str:patient_id>/transfusions/", labs.transfusions, name="transfusions"),
    path("v1/patients/<str:patient_id>/vaccinations/", vaccinations.vaccinations, name="vaccinations"),
    path("v1/cohort/outcomes/", outcomes.cohort_outcomes, name="cohort-outcomes"),
    path("v1/alerts/", symptoms.alert_list, name="alert-list"),
    path("v1/alerts/<str:alert_id>/acknowledge/", symptoms.alert_acknowledge, name="alert-acknowledge"),
    path("v1/alerts/<str:alert_id>/resolve/", symptoms.alert_resolve, name="alert-resolve"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
]
