"""A summary of each stored vaccination plan on `VaccinationPlanState` (`first_due`, `first_overdue`), so that the
list of doses due reads one row a patient instead of grouping every stored dose.

The data step fills the summary of the plans already stored from their `PlannedVaccination` rows, as
`recovery.queries.vaccinations.due_summary` computes it for the plans stored from now on (the earliest due date;
the earliest of each dose's first overdue day, the day after `due_until` and never before `due_date`): one
UPDATE, written for each database.
"""

from django.db import migrations, models

UPDATE = (
    "UPDATE recovery_vaccinationplanstate SET first_due = m.first_due, first_overdue = m.first_overdue "
    "FROM (SELECT patient_id, MIN(due_date) AS first_due, MIN({first_overdue}) AS first_overdue "
    "FROM recovery_plannedvaccination GROUP BY patient_id) AS m "
    "WHERE m.patient_id = recovery_vaccinationplanstate.patient_id"
)
FILL = {
    "postgresql": UPDATE.format(first_overdue="GREATEST(due_date, due_until + 1)"),
    "sqlite": UPDATE.format(first_overdue="MAX(due_date, DATE(due_until, '+1 day'))"),
}


def fill_summaries(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FILL[schema_editor.connection.vendor])


class Migration(migrations.Migration):
    dependencies = [
        ("recovery", "0020_stored_phase"),
    ]

    operations = [
        migrations.AddField(
            model_name="vaccinationplanstate",
            name="first_due",
            field=models.DateField(blank=True, help_text="The earliest due date of the open doses.", null=True),
        ),
        migrations.AddField(
            model_name="vaccinationplanstate",
            name="first_overdue",
            field=models.DateField(blank=True, help_text="The first day an open dose is overdue.", null=True),
        ),
        migrations.RunPython(fill_summaries, migrations.RunPython.noop),
    ]
