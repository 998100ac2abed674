"""A summary of each stored vaccination plan on `VaccinationPlanState` (`first_due`, `first_overdue`), so that the
list of doses due reads one row a patient instead of grouping every stored dose.

The data step fills the summary of the plans already stored from their `PlannedVaccination` rows, as
`recovery.queries.vaccinations.due_summary` computes it for the plans stored from now on.
"""

from datetime import timedelta

from django.db import migrations, models

BATCH = 2000


def fill_summaries(apps, schema_editor):
    planned = apps.get_model("recovery", "PlannedVaccination")
    state = apps.get_model("recovery", "VaccinationPlanState")
    summaries: dict[int, tuple] = {}
    rows = planned.objects.order_by().values_list("patient_id", "due_date", "due_until")
    for patient_id, due_date, due_until in rows.iterator(chunk_size=BATCH):
        overdue = max(due_date, due_until + timedelta(days=1))
        known = summaries.get(patient_id)
        summaries[patient_id] = (
            (due_date, overdue) if known is None else (min(known[0], due_date), min(known[1], overdue))
        )
    ids = sorted(summaries)
    for at in range(0, len(ids), BATCH):
        states = list(state.objects.filter(patient_id__in=ids[at : at + BATCH]))
        for s in states:
            s.first_due, s.first_overdue = summaries[s.patient_id]
        state.objects.bulk_update(states, ["first_due", "first_overdue"])


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
