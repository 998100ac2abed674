from django.db import migrations


def load(apps, schema_editor):
    from recovery.services.protocols import load_default_protocols

    load_default_protocols(apps.get_model("recovery", "ProtocolTemplate"), apps.get_model("recovery", "ProtocolEvent"))


class Migration(migrations.Migration):
    dependencies = [("recovery", "0002_timeline")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
