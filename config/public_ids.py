"""Step 2 of the three-step public_id migrations (issue 16), shared by every app that added one:
give each existing row its own random UUID, in batches."""

from __future__ import annotations

import uuid

BATCH = 1000


def fill_public_ids(app_label: str, model_names: tuple[str, ...]):
    """A RunPython function filling public_id on the given models of one app."""

    def fill(apps, schema_editor):
        for name in model_names:
            model = apps.get_model(app_label, name)
            while True:
                rows = list(model.objects.filter(public_id__isnull=True).only("pk")[:BATCH])
                if not rows:
                    break
                for row in rows:
                    row.public_id = uuid.uuid4()
                model.objects.bulk_update(rows, ["public_id"])

    return fill
