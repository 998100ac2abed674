from django.db import migrations, models


def redate_rule_events(apps, schema_editor):
    """Move the untouched planned prophylaxis and vaccination events of existing timelines to the dates the
    rules give (`recovery.clinical.timeline_rules`), under each centre's latest configuration: until now they
    were fixed day counts (the live-vaccine event 730 days after Day 0, not 24 calendar months)."""
    from recovery.clinical.labs_config import DEFAULT_PROPHYLAXIS_CONFIG, DEFAULT_VACCINATION_CONFIG
    from recovery.clinical.timeline_rules import RULE_KEYS, rule_dates

    configuration = apps.get_model("recovery", "CentreConfiguration")
    episode_model = apps.get_model("recovery", "TransplantEpisode")
    event_model = apps.get_model("recovery", "TimelineEvent")
    values: dict[int, dict] = {}
    for row in configuration.objects.order_by("centre_id", "version"):
        values[row.centre_id] = row.values or {}
    episodes = episode_model.objects.filter(reinfusion_date__isnull=False).select_related("patient")
    for episode in episodes.iterator():
        overrides = values.get(episode.patient.centre_id, {})
        dates = rule_dates(
            day0=episode.reinfusion_date,
            conditioning_start=episode.conditioning_start_date,
            neutrophil_engraftment=episode.neutrophil_engraftment_date,
            vaccination=DEFAULT_VACCINATION_CONFIG.with_overrides(overrides.get("vaccination")),
            prophylaxis=DEFAULT_PROPHYLAXIS_CONFIG.with_overrides(overrides.get("prophylaxis")),
        )
        untouched = event_model.objects.filter(
            episode=episode, template_key__in=RULE_KEYS, status="planned", manually_changed=False
        )
        for event in untouched:
            planned = dates[event.template_key]
            if planned is not None and planned != event.planned_date:
                event.planned_date = planned
                event.save(update_fields=["planned_date", "updated_at"])


class Migration(migrations.Migration):
    """Issue 12, items 12-13: the answer to "immunosuppressed?" kept with each dose (rows recorded before the
    question was asked stay empty: there is no value to carry over), immunoglobulin (IVIG) as a product of the
    transfusion record, which holds back live vaccines, and the rule-dated timeline events re-dated."""

    dependencies = [("recovery", "0007_outcomes_safety")]

    operations = [
        migrations.AddField(
            model_name="vaccinationdose",
            name="immunosuppressed",
            field=models.BooleanField(
                blank=True,
                help_text="The answer when the dose was recorded: on immunosuppressive treatment then? Empty when "
                "not answered (recorded before the question was asked, or a non-live vaccine).",
                null=True,
            ),
        ),
        migrations.AlterField(
            model_name="transfusion",
            name="product",
            field=models.CharField(
                choices=[
                    ("platelets", "Platelets"),
                    ("red_cells", "Red cells"),
                    ("immunoglobulin", "Immunoglobulin (IVIG)"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(redate_rule_events, migrations.RunPython.noop),
    ]
