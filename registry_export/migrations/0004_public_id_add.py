"""Opaque public ids (issue 16), step 1 of 3: add the column, nullable (ExportRun, BulkClient).

Three steps as Django's docs advise for a unique field on existing rows: a default on AddField is
computed once, so every existing row would share one UUID.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("registry_export", "0003_run_cancelled")]

    operations = [
        migrations.AddField(
            model_name="exportrun",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="bulkclient",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
    ]
