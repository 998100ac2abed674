"""The engraftment flag days live in the phase block only (issue 13: one threshold set).

A centre configuration that set them in the labs block keeps its value, moved to the phase block (where the
phase block already had its own, that one wins: it drove the phase flags).
"""

from django.db import migrations

MOVED = ("delayed_engraftment_day", "possible_graft_failure_day")


def move_to_phase(apps, schema_editor):
    CentreConfiguration = apps.get_model("recovery", "CentreConfiguration")
    for config in CentreConfiguration.objects.all():
        values = dict(config.values or {})
        labs = dict(values.get("labs") or {})
        if not any(key in labs for key in MOVED):
            continue
        phase = dict(values.get("phase") or {})
        for key in MOVED:
            if key in labs:
                phase.setdefault(key, labs.pop(key))
        values["labs"], values["phase"] = labs, phase
        CentreConfiguration.objects.filter(pk=config.pk).update(values=values)


class Migration(migrations.Migration):
    dependencies = [("recovery", "0008_vaccination_safety")]

    operations = [migrations.RunPython(move_to_phase, migrations.RunPython.noop)]
