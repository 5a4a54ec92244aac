"""Opaque public ids (issue 16), step 2 of 3: give every existing row its own random UUID."""

from django.db import migrations

from config.public_ids import fill_public_ids


class Migration(migrations.Migration):
    dependencies = [("accounts", "0005_public_id_add")]

    operations = [
        migrations.RunPython(fill_public_ids("accounts", ("user",)), migrations.RunPython.noop)
    ]
