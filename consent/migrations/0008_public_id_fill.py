"""Opaque public ids (issue 16), step 2 of 3: give every existing row its own random UUID."""

import uuid

from django.db import migrations

BATCH = 1000


def fill(apps, schema_editor):
    for name in (
        "consentdocument",
        "consentevent",
        "sharinggrant",
    ):
        model = apps.get_model("consent", name)
        while True:
            rows = list(model.objects.filter(public_id__isnull=True).only("pk")[:BATCH])
            if not rows:
                break
            for row in rows:
                row.public_id = uuid.uuid4()
            model.objects.bulk_update(rows, ["public_id"])


class Migration(migrations.Migration):
    dependencies = [("consent", "0007_public_id_add")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
