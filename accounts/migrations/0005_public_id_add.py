"""Opaque public ids (issue 16), step 1 of 3: add the column, nullable (User).

Three steps as Django's docs advise for a unique field on existing rows: a default on AddField is
computed once, so every existing row would share one UUID.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("accounts", "0004_user_text_size")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
    ]
