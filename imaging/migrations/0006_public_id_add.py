"""Opaque public ids (issue 16), step 1 of 3: add the column, nullable (Review).

Three steps as Django's docs advise for a unique field on existing rows: a default on AddField is
computed once, so every existing row would share one UUID.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("imaging", "0005_study_deidentified_preview")]

    operations = [
        migrations.AddField(
            model_name="review",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
    ]
