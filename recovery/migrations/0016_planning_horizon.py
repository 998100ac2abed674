from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recovery", "0015_outcome_summaries"),
    ]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="reminders_planned_until",
            field=models.DateTimeField(blank=True, db_index=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="patient",
            name="reminders_plan_claimed_until",
            field=models.DateTimeField(blank=True, editable=False, null=True),
        ),
    ]
