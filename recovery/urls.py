from django.contrib import admin
from django.urls import include, path

from accounts import mfa_views
from recovery.views import alerts, care, checkin, cohort, common, labs, notifications, outcomes, patient, staff

recovery_patterns = [
    path("", common.home, name="home"),
    path("patients/", staff.patient_list, name="patient-list"),
    path("patients/new/", staff.patient_create, name="patient-create"),
    path("patients/<uuid:patient_id>/", staff.patient_detail, name="patient-detail"),
    path("patients/<uuid:patient_id>/edit/", staff.patient_edit, name="patient-edit"),
    path("patients/<uuid:patient_id>/access-log/", staff.patient_access_log, name="patient-access-log"),
    path("patients/<uuid:patient_id>/transplant/", staff.episode_edit, name="episode-edit"),
    path("patients/<uuid:patient_id>/transplant/apheresis/", staff.apheresis_add, name="apheresis-add"),
    path("patients/<uuid:patient_id>/timeline/add/", staff.event_add, name="event-add"),
    path("patients/<uuid:patient_id>/timeline/<uuid:event_id>/", staff.event_change, name="event-change"),
    path("patients/<uuid:patient_id>/invite/", staff.patient_invite, name="patient-invite"),
    path("patients/<uuid:patient_id>/eligibility/", staff.eligibility_review, name="eligibility"),
    path("week/", staff.this_week, name="this-week"),
    path("patients/<uuid:patient_id>/review/", alerts.patient_review, name="patient-review"),
    path("patients/<uuid:patient_id>/outcomes/", outcomes.patient_outcomes, name="patient-outcomes"),
    path("patients/<uuid:patient_id>/labs/", labs.patient_labs, name="patient-labs"),
    path("patients/<uuid:patient_id>/outcomes/<str:kind>/", outcomes.outcome_add, name="outcome-add"),
    path("patients/<uuid:patient_id>/labs/results/", labs.lab_panel_add, name="lab-panel-add"),
    path("patients/<uuid:patient_id>/labs/transfusions/", labs.transfusion_add, name="transfusion-add"),
    path(
        "patients/<uuid:patient_id>/labs/engraftment/<str:kind>/",
        labs.engraftment_confirm,
        name="engraftment-confirm",
    ),
    path("patients/<uuid:patient_id>/immune/", labs.patient_immune, name="patient-immune"),
    path("labs/import/", labs.lab_import, name="lab-import"),
    path("labs/import/template.csv", labs.lab_import_template, name="lab-import-template"),
    path("labs/import/<uuid:import_id>/", labs.lab_import_report, name="lab-import-report"),
    path("my/immune/", labs.my_immune, name="my-immune"),
    path("cohort/", cohort.cohort_dashboard, name="cohort"),
    path("cohort/export.csv", cohort.cohort_export, name="cohort-export"),
    path("dashboard/", alerts.dashboard, name="dashboard"),
    path("alerts/queue/", alerts.alert_queue, name="alert-queue"),
    path("alerts/<uuid:alert_id>/", alerts.alert_detail, name="alert-detail"),
    path("alerts/<uuid:alert_id>/acknowledge/", alerts.alert_acknowledge, name="alert-acknowledge"),
    path("alerts/<uuid:alert_id>/resolve/", alerts.alert_resolve, name="alert-resolve"),
    path("my/", patient.my_recovery, name="my-recovery"),
    path("my/calendar/", patient.my_calendar, name="my-calendar"),
    path("my/check-in/", checkin.checkin, name="checkin"),
    path("my/temperature/", checkin.temperature, name="temperature"),
    path("my/check-in/<uuid:report_id>/", checkin.checkin_result, name="checkin-result"),
    path("my/history/", checkin.my_history, name="my-history"),
    path("calendar/<str:token>.ics", patient.calendar_feed, name="calendar-feed"),
    path("patients/<uuid:patient_id>/reminders/", notifications.patient_reminders, name="patient-reminders"),
    path("patients/<uuid:patient_id>/reminders/hold/", notifications.reminder_hold, name="reminder-hold"),
    path("my/reminders/", notifications.my_reminders, name="my-reminders"),
    path("tasks/", notifications.task_list, name="tasks"),
    path("tasks/<uuid:task_id>/done/", notifications.task_done, name="task-done"),
    path("inbox/", notifications.inbox_page, name="inbox"),
    path("inbox/read/", notifications.inbox_mark_read, name="inbox-read"),
    path("patients/<uuid:patient_id>/vaccinations/", care.patient_vaccinations, name="patient-vaccinations"),
    path("patients/<uuid:patient_id>/prophylaxis/", care.patient_prophylaxis, name="patient-prophylaxis"),
    path("vaccinations/due/", care.vaccinations_due, name="vaccinations-due"),
    path("my/vaccinations/", care.my_vaccinations, name="my-vaccinations"),
]

urlpatterns = [
    path("", include((recovery_patterns, "recovery"))),
    path("accounts/", include("accounts.urls")),
    path("accounts/passkeys/", include((mfa_views.webauthn_patterns, "otp_webauthn"))),
    path("api/", include("recovery.api.urls")),
    path("healthz", common.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]

handler403 = "recovery.views.common.error_403"
handler404 = "recovery.views.common.error_404"
handler500 = "recovery.views.common.error_500"
