"""Opaque public ids (issue 16), step 3 of 3: unique, not null, a fresh UUID for each new row."""

import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("imaging", "0007_public_id_fill")]

    operations = [
        migrations.AlterField(
            model_name="review",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
