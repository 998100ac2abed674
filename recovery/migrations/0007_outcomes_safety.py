import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    """A clinician's classification of a relapse as a relapse or a pseudo-relapse (issue 12, item 10)."""

    dependencies = [
        ("recovery", "0006_reminders_labs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="relapse",
            name="classification",
            field=models.CharField(
                blank=True,
                choices=[("relapse", "Relapse"), ("pseudo_relapse", "Pseudo-relapse")],
                default="",
                help_text="The clinician's call: a relapse or a pseudo-relapse. Blank: not classified, counted as a "
                "relapse.",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="relapse",
            name="classified_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="relapse",
            name="classified_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddConstraint(
            model_name="relapse",
            constraint=models.CheckConstraint(
                condition=models.Q(("classification__in", ["", "relapse", "pseudo_relapse"])),
                name="relapse_classification_valid",
            ),
        ),
    ]
