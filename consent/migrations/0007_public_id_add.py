"""Opaque public ids (issue 16), step 1 of 3: add the column, nullable (ConsentDocument, ConsentEvent, SharingGrant).

Three steps as Django's docs advise for a unique field on existing rows: a default on AddField is
computed once, so every existing row would share one UUID.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("consent", "0006_access_log_seal_chain")]

    operations = [
        migrations.AddField(
            model_name="consentdocument",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="consentevent",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="sharinggrant",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
    ]
