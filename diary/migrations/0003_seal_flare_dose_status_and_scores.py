"""Issue 16: every health value encrypted.

Moves the last clear health columns of the diary into the per-patient AES-GCM payloads, with
the real key provider (diary.crypto and settings.DIARY_KEKS, as the services use it):

- DailyEntry.flare: the payload already holds "flare"; the clear copy is checked against it
  (the clear column wins where they disagree or the payload lacks it), then dropped.
- DoseLog.status: sealed as {"status": ...} in a new DoseLog.payload under the medicine's
  patient's key, record type "diary.dose", then the column and its check are dropped.
- QuestionnaireResponse.score: the payload (the answers) is resealed as
  {"answers": ..., "score": ...}, then the column is dropped.

Reversible: going back re-adds the columns and fills them from the payloads (and reseals the
questionnaire payload as the bare answers). Rows are processed in batches so that memory stays
flat; keys are unwrapped once per batch.
"""

from itertools import islice

from django.db import migrations, models

ENTRY_RECORD = "diary.entry"
DOSE_RECORD = "diary.dose"
QUESTIONNAIRE_RECORD = "diary.questionnaire"
BATCH = 1000


def _batches(queryset):
    rows = queryset.iterator(chunk_size=BATCH)
    while batch := list(islice(rows, BATCH)):
        yield batch


def _cache(patient_ids):
    from diary import crypto

    cache = crypto.DataKeyCache()
    cache.preload(set(patient_ids))
    return cache


def _open(cache, patient_id, record_type, record_id, blob):
    from diary import crypto

    return crypto.decrypt_json(
        patient_id=patient_id, record_type=record_type, record_id=str(record_id), blob=blob,
        cache=cache,
    )  # fmt: skip


def _seal(cache, patient_id, record_type, record_id, payload):
    from diary import crypto

    return crypto.encrypt_json(
        patient_id=patient_id, record_type=record_type, record_id=str(record_id),
        payload=payload, cache=cache,
    )  # fmt: skip


def seal_forward(apps, schema_editor):
    DailyEntry = apps.get_model("diary", "DailyEntry")
    DoseLog = apps.get_model("diary", "DoseLog")
    QuestionnaireResponse = apps.get_model("diary", "QuestionnaireResponse")

    for batch in _batches(DailyEntry.objects.order_by("pk")):
        cache = _cache(e.patient_id for e in batch)
        changed = []
        for entry in batch:
            data = _open(cache, entry.patient_id, ENTRY_RECORD, entry.pk, entry.payload)
            if data.get("flare") is not bool(entry.flare):
                data["flare"] = bool(entry.flare)
                entry.payload = _seal(cache, entry.patient_id, ENTRY_RECORD, entry.pk, data)
                changed.append(entry)
        DailyEntry.objects.bulk_update(changed, ["payload"])

    doses = DoseLog.objects.select_related("medicine").order_by("pk")
    for batch in _batches(doses):
        cache = _cache(d.medicine.patient_id for d in batch)
        for dose in batch:
            dose.payload = _seal(
                cache, dose.medicine.patient_id, DOSE_RECORD, dose.pk, {"status": dose.status}
            )
        DoseLog.objects.bulk_update(batch, ["payload"])

    for batch in _batches(QuestionnaireResponse.objects.order_by("pk")):
        cache = _cache(q.patient_id for q in batch)
        for q in batch:
            answers = _open(cache, q.patient_id, QUESTIONNAIRE_RECORD, q.pk, q.payload)
            q.payload = _seal(
                cache, q.patient_id, QUESTIONNAIRE_RECORD, q.pk,
                {"answers": answers, "score": q.score},
            )  # fmt: skip
        QuestionnaireResponse.objects.bulk_update(batch, ["payload"])


def seal_backward(apps, schema_editor):
    DailyEntry = apps.get_model("diary", "DailyEntry")
    DoseLog = apps.get_model("diary", "DoseLog")
    QuestionnaireResponse = apps.get_model("diary", "QuestionnaireResponse")

    for batch in _batches(DailyEntry.objects.order_by("pk")):
        cache = _cache(e.patient_id for e in batch)
        for entry in batch:
            data = _open(cache, entry.patient_id, ENTRY_RECORD, entry.pk, entry.payload)
            entry.flare = bool(data.get("flare", False))
        DailyEntry.objects.bulk_update(batch, ["flare"])

    for batch in _batches(DoseLog.objects.select_related("medicine").order_by("pk")):
        cache = _cache(d.medicine.patient_id for d in batch)
        for dose in batch:
            data = _open(cache, dose.medicine.patient_id, DOSE_RECORD, dose.pk, dose.payload)
            dose.status = data["status"]
        DoseLog.objects.bulk_update(batch, ["status"])

    for batch in _batches(QuestionnaireResponse.objects.order_by("pk")):
        cache = _cache(q.patient_id for q in batch)
        for q in batch:
            data = _open(cache, q.patient_id, QUESTIONNAIRE_RECORD, q.pk, q.payload)
            q.score = data["score"]
            q.payload = _seal(cache, q.patient_id, QUESTIONNAIRE_RECORD, q.pk, data["answers"])
        QuestionnaireResponse.objects.bulk_update(batch, ["score", "payload"])


class Migration(migrations.Migration):
    dependencies = [
        ("diary", "0002_save_receipts"),
    ]

    operations = [
        migrations.AddField(
            model_name="doselog",
            name="payload",
            field=models.BinaryField(default=b""),
            preserve_default=False,
        ),
        # Before the data step, so that going back re-adds the column nullable, fills it, and
        # only then makes it NOT NULL again and restores its check.
        migrations.AlterField(
            model_name="doselog",
            name="status",
            field=models.CharField(
                choices=[("taken", "Taken"), ("missed", "Missed"), ("skipped", "Skipped")],
                max_length=8,
                null=True,
            ),
        ),
        migrations.RemoveConstraint(
            model_name="doselog",
            name="doselog_status_valid",
        ),
        migrations.RunPython(seal_forward, seal_backward, elidable=False),
        migrations.RemoveField(
            model_name="dailyentry",
            name="flare",
        ),
        migrations.RemoveField(
            model_name="doselog",
            name="status",
        ),
        migrations.RemoveField(
            model_name="questionnaireresponse",
            name="score",
        ),
    ]
