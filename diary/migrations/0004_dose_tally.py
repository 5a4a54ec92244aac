"""Issue 16: sealed monthly dose tallies, so that a long adherence period does not decrypt
every dose. Creates DoseTally and fills it from the existing doses: per medicine and calendar
month, the statuses are decrypted ({"status": ...}, record type diary.dose) and counted, and
the counts sealed as one blob ({"taken": n, "missed": n, "skipped": n}, record type
diary.dose_tally) under the medicine's patient's key, with the real key provider (diary.crypto
and settings.DIARY_KEKS, as the services use it). Medicines are processed in batches so memory
stays flat. Going back drops the table (the doses are untouched, the tallies are derived).
"""

import uuid
from collections import Counter

import django.db.models.deletion
from django.db import migrations, models

DOSE_RECORD = "diary.dose"
DOSE_TALLY_RECORD = "diary.dose_tally"
STATUSES = ("taken", "missed", "skipped")
MEDICINES_PER_BATCH = 100


def tallies_forward(apps, schema_editor):
    from diary import crypto

    Medicine = apps.get_model("diary", "Medicine")
    DoseLog = apps.get_model("diary", "DoseLog")
    DoseTally = apps.get_model("diary", "DoseTally")
    owners = list(Medicine.objects.order_by("id").values_list("id", "patient_id"))
    for start in range(0, len(owners), MEDICINES_PER_BATCH):
        batch = dict(owners[start : start + MEDICINES_PER_BATCH])
        cache = crypto.DataKeyCache()
        cache.preload(set(batch.values()))
        counts: dict = {}
        doses = DoseLog.objects.filter(medicine_id__in=list(batch))
        for dose_id, medicine_id, day, blob in doses.values_list(
            "id", "medicine_id", "date", "payload"
        ).iterator(chunk_size=5000):
            status = crypto.decrypt_json(
                patient_id=batch[medicine_id], record_type=DOSE_RECORD, record_id=str(dose_id),
                blob=blob, cache=cache,
            )["status"]  # fmt: skip
            counts.setdefault((medicine_id, day.replace(day=1)), Counter())[status] += 1
        tallies = []
        for (medicine_id, month), found in counts.items():
            tally_id = uuid.uuid4()
            payload = crypto.encrypt_json(
                patient_id=batch[medicine_id], record_type=DOSE_TALLY_RECORD,
                record_id=str(tally_id), payload={s: found[s] for s in STATUSES}, cache=cache,
            )  # fmt: skip
            tallies.append(
                DoseTally(id=tally_id, medicine_id=medicine_id, month=month, payload=payload)
            )
        DoseTally.objects.bulk_create(tallies, batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("diary", "0003_seal_flare_dose_status_and_scores"),
    ]

    operations = [
        migrations.CreateModel(
            name="DoseTally",
            fields=[
                (
                    "id",
                    models.UUIDField(
                        default=uuid.uuid4, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("month", models.DateField()),
                ("payload", models.BinaryField()),
                (
                    "medicine",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="dose_tallies",
                        to="diary.medicine",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("medicine", "month"), name="dosetally_one_per_month"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("month__day", 1)), name="dosetally_month_first_day"
                    ),
                ],
            },
        ),
        migrations.RunPython(tallies_forward, migrations.RunPython.noop),
    ]
