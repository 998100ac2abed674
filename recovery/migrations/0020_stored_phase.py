"""The stored current phase on Patient (services/phases.py).

No data step: the rows start unstored (`phase_as_of` NULL), which the lists compute exactly in Python until
`manage.py refresh_phases` (run after migrate) or the hourly `refresh_due_phases` fills them.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recovery", "0019_analytics_snapshots"),
    ]

    operations = [
        migrations.AddField(
            model_name="patient",
            name="phase",
            field=models.CharField(
                choices=[
                    ("evaluation", "Evaluation"),
                    ("mobilisation", "Mobilisation"),
                    ("collection", "Collection"),
                    ("conditioning", "Conditioning"),
                    ("aplasia", "Aplasia"),
                    ("early_recovery", "Early recovery"),
                    ("recovery", "Recovery"),
                    ("reconstitution", "Reconstitution"),
                    ("follow_up", "Follow up"),
                ],
                default="evaluation",
                editable=False,
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="patient",
            name="phase_as_of",
            field=models.DateField(blank=True, db_index=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="patient",
            name="phase_changes_on",
            field=models.DateField(blank=True, db_index=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="patient",
            name="phase_config_version",
            field=models.PositiveIntegerField(blank=True, editable=False, null=True),
        ),
        migrations.AddField(
            model_name="patient",
            name="phase_flagged",
            field=models.BooleanField(default=False, editable=False),
        ),
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(fields=["phase", "centre"], name="patient_phase_centre_idx"),
        ),
    ]
