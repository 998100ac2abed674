"""An index on neutrophil engraftment: the dashboard's high-risk list reads only the patients not engrafted by
today (`queries.dashboard.may_be_high_risk`), a few among tens of thousands."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("recovery", "0021_vaccination_due_index"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="transplantepisode",
            index=models.Index(fields=["neutrophil_engraftment_date"], name="episode_engraftment_idx"),
        ),
    ]
