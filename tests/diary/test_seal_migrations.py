"""The issue 16 data migrations: rows written with clear health columns are sealed on the way
forward (and read back through today's selectors), and restored on the way back.

Runs the real migrations on the test database (diary 0002 -> 0003, imaging 0005 -> 0006), with
rows made through the historical models exactly as the code before the change stored them.
"""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from diary import crypto, selectors
from diary.models import DOSE_RECORD, ENTRY_RECORD, QUESTIONNAIRE_RECORD
from imaging.joints import JOINTS
from imaging.models import JointReview, RaReview, Result
from tests.diary.conftest import day_values

pytestmark = pytest.mark.django_db(transaction=True)

DIARY_BEFORE = [("diary", "0002_save_receipts")]
DIARY_AFTER = [("diary", "0003_seal_flare_dose_status_and_scores")]
IMAGING_BEFORE = [("imaging", "0005_study_deidentified_preview")]
IMAGING_AFTER = [("imaging", "0006_seal_scores_and_grades")]


def migrate(targets):
    """Migrate to targets and return the apps of that state."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection).loader.project_state(targets).apps


@pytest.fixture
def back_to_latest():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _seal(patient_id, record_type, record_id, payload):
    return crypto.encrypt_json(
        patient_id=patient_id, record_type=record_type, record_id=str(record_id), payload=payload
    )


def _old_diary_rows(apps, patient_id):
    """An entry whose payload lacks the flag (the clear column says flare), one that agrees, a
    dose with a clear status and a questionnaire with a clear score: as the old code stored them."""
    Entry = apps.get_model("diary", "DailyEntry")
    Medicine = apps.get_model("diary", "Medicine")
    Dose = apps.get_model("diary", "DoseLog")
    Response = apps.get_model("diary", "QuestionnaireResponse")
    without_flag = {k: v for k, v in day_values().items() if k != "flare"}
    for day, payload, flare in (
        (date(2026, 1, 1), without_flag, True),
        (date(2026, 1, 2), day_values(flare=False), False),
    ):
        entry_id = uuid.uuid4()
        Entry.objects.create(
            id=entry_id, patient_id=patient_id, date=day, flare=flare,
            payload=_seal(patient_id, ENTRY_RECORD, entry_id, payload),
        )  # fmt: skip
    medicine_id = uuid.uuid4()
    Medicine.objects.create(
        id=medicine_id, patient_id=patient_id, start_date=date(2026, 1, 1),
        payload=_seal(patient_id, "diary.medicine", medicine_id,
                      {"name": "Pilocarpine", "dose": "5", "unit": "mg",
                       "schedule": "once_daily", "history": []}),
    )  # fmt: skip
    Dose.objects.create(medicine_id=medicine_id, date=date(2026, 1, 2), slot=1, status="skipped")
    response_id = uuid.uuid4()
    Response.objects.create(
        id=response_id, patient_id=patient_id, instrument="esspri", score=6.5,
        period_start=date(2026, 1, 1), period_end=date(2026, 1, 14),
        payload=_seal(patient_id, QUESTIONNAIRE_RECORD, response_id,
                      {"dryness": 6, "fatigue": 7, "pain": 6}),
    )  # fmt: skip


def test_diary_migration_seals_flare_dose_status_and_score_and_goes_back(
    patient_alice, back_to_latest
):
    crypto.ensure_patient_key(patient_alice.pk)
    _old_diary_rows(migrate(DIARY_BEFORE), patient_alice.pk)

    migrate(DIARY_AFTER)
    entries = selectors.entries_between(patient=patient_alice, date_from=None, date_to=None)
    assert [e.flare for e in entries] == [True, False]  # the clear flag won where it was missing
    (dose,) = selectors.dose_logs_between(
        patient=patient_alice, date_from=date.min, date_to=date.max
    )
    assert dose.status == "skipped"
    (response,) = selectors.questionnaires_between(
        patient=patient_alice, date_from=None, date_to=None
    )
    assert (response.score, response.answers) == (6.5, {"dryness": 6, "fatigue": 7, "pain": 6})
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ANY(%s)",
            [["diary_dailyentry", "diary_doselog", "diary_questionnaireresponse"]],
        )
        columns = {name for (name,) in cursor.fetchall()}
    assert not {"flare", "status", "score"} & columns
    # A sealed dose cannot be moved to another row: the record id is in the associated data.
    with connection.cursor() as cursor:
        cursor.execute("SELECT payload FROM diary_doselog")
        (blob,) = cursor.fetchone()
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_json(
            patient_id=patient_alice.pk, record_type=DOSE_RECORD, record_id="another", blob=blob
        )

    old = migrate(DIARY_BEFORE)
    Entry = old.get_model("diary", "DailyEntry")
    assert list(Entry.objects.order_by("date").values_list("flare", flat=True)) == [True, False]
    assert old.get_model("diary", "DoseLog").objects.get().status == "skipped"
    restored = old.get_model("diary", "QuestionnaireResponse").objects.get()
    assert restored.score == 6.5
    assert crypto.decrypt_json(
        patient_id=patient_alice.pk, record_type=QUESTIONNAIRE_RECORD,
        record_id=str(restored.id), blob=restored.payload,
    ) == {"dryness": 6, "fatigue": 7, "pain": 6}  # fmt: skip


def test_imaging_migration_seals_scores_and_grades_and_goes_back(
    patient_alice, clinician_carol, back_to_latest
):
    crypto.ensure_patient_key(patient_alice.pk)
    apps = migrate(IMAGING_BEFORE)
    Study = apps.get_model("imaging", "Study")
    study = Study.objects.create(
        patient_id=patient_alice.pk, kind="png", rows=8, columns=8,
        blob_name=f"imaging/test/{uuid.uuid4()}.bin", size_bytes=1,
    )  # fmt: skip
    joints = [{"joint": j, "jsn": 2, "erosion": 1, "confidence": 0.9} for j in JOINTS]
    result = apps.get_model("imaging", "Result").objects.create(
        study=study, status="scored", confidence=0.875, joint_scores=joints,
        scores={"ra_pattern": {"probability": 0.625}},
    )  # fmt: skip
    review = apps.get_model("imaging", "Review").objects.create(
        result=result, kind="independent", reviewed_by_id=clinician_carol.pk
    )
    apps.get_model("imaging", "JointReview").objects.create(
        result=result, review=review, joint="MCP2", action="override", model_jsn=2,
        model_erosion=1, model_confidence=0.9, jsn=3, erosion=4,
        reviewed_by_id=clinician_carol.pk,
    )  # fmt: skip
    apps.get_model("imaging", "RaReview").objects.create(
        result=result, review=review, action="confirm", model_probability=0.625,
        ra_pattern=True, reviewed_by_id=clinician_carol.pk,
    )  # fmt: skip

    migrate(IMAGING_AFTER)
    sealed = Result.objects.get(pk=result.pk)
    assert (sealed.confidence, sealed.scores, sealed.joint_scores) == (
        0.875, {"ra_pattern": {"probability": 0.625}}, joints,
    )  # fmt: skip
    graded = JointReview.objects.get()
    assert (graded.model_jsn, graded.jsn, graded.erosion, graded.model_abstained) == (
        2,
        3,
        4,
        False,
    )
    assert (RaReview.objects.get().ra_pattern, RaReview.objects.get().model_probability) == (
        True, 0.625,
    )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("SELECT confidence, jsn FROM imaging_result, imaging_jointreview")
        confidence, jsn = cursor.fetchone()
    assert isinstance(confidence, bytes | memoryview) and isinstance(jsn, bytes | memoryview)
    with pytest.raises(TypeError):
        JointReview.objects.update(jsn=1)  # a sealed value is never written without its row

    old = migrate(IMAGING_BEFORE)
    restored = old.get_model("imaging", "Result").objects.get()
    assert (restored.confidence, restored.scores) == (0.875, {"ra_pattern": {"probability": 0.625}})
    row = old.get_model("imaging", "JointReview").objects.get()
    assert (row.jsn, row.erosion, row.model_jsn) == (3, 4, 2)
    assert old.get_model("imaging", "RaReview").objects.get().ra_pattern is True
