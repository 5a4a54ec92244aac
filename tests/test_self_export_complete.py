"""The patient's own export is complete: every kind of record a patient creates (or that is
kept about them) appears in it, in the JSON, in a CSV, and in the FHIR Bundle where FHIR has a
resource for it: diary days, medicines, doses, questionnaires, consent history, NHS number,
sharing grants, the access log of who read their data, radiographs (the image files) and
their scores and reviews.

test_every_patient_owned_model_is_exported_or_excused fails when a new model holding patient
data is added without being put in the export (or excused here with a reason)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import time, timedelta

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from fhir.resources.R4B.bundle import Bundle

from consent import services as consent_services
from consent.models import ConsentDocument, Registry
from diary import services
from diary.selectors import patient_today
from tests.diary.conftest import save_day
from tests.factories import StaffFactory
from tests.imaging.conftest import grant
from tests.imaging.review_helpers import model_grades
from tests.personas import login_verified
from tests.questionnaire_data import eq5d, esspri, osdi

pytestmark = pytest.mark.django_db

# Where each kind of patient record lands in diary.json.
EXPORTED = {
    "diary.DailyEntry": "entries",
    "diary.Medicine": "medicines",
    "diary.DoseLog": "doses",
    "diary.QuestionnaireResponse": "questionnaires",
    "consent.ConsentEvent": "consent.consent_history",
    "consent.NhsNumber": "consent.nhs_number",
    "consent.SharingGrant": "consent.sharing",
    "consent.AccessLogEvent": "consent.access_log",
    "imaging.Study": "imaging.radiographs",
    "imaging.Result": "imaging.results",
    "imaging.Review": "imaging.reviews",
    "imaging.JointReview": "imaging.reviews",
    "imaging.RaReview": "imaging.reviews",
    "imaging.MriStudy": "mri.series",
    "imaging.MriResult": "mri.results",
    "imaging.MriReview": "mri.reviews",
    "reminders.ReminderSettings": "reminders.reminder_settings",
    "reminders.ReminderSend": "reminders.reminders_sent",
    "reminders.PushSubscription": "reminders.push_devices",
    "account.EmailAddress": "account.email",
}
# Linked to a user, but not the patient's data (with the reason).
EXCUSED = {
    "admin.LogEntry": "staff's admin actions",
    "otp_totp.TOTPDevice": "a secret for signing in, not data",
    "otp_static.StaticDevice": "backup codes: secrets, not data",
    "accounts.ApiToken": "credentials, not data",
    "diary.PatientKey": "the wrapped data key (useless outside the server)",
    "diary.SaveReceipt": "idempotency receipts of the offline queue, no content",
    "diary.DoseTally": "monthly counts derived from the doses, which are exported",
    "consent.ConsentDocument": "documents written by staff (their titles are in the history)",
    "consent.ClinicianProfile": "clinicians' own details",
    "registry_export.ExportRun": "researchers' and staff's runs (reads are in the access log)",
    "registry_export.ExportRunMember": "which pseudonymised run held a patient: its downloads "
    "are in the access log",
    "registry_export.ExportRunWithdrawal": "a registry's deletion list, from the consent history",
    "registry_export.ExportPartition": "a run's files (no patient fields)",
    "registry_export.Destination": "registries set up by staff",
    "registry_export.BulkClient": "registry machine clients",
    "registry_export.BulkExportJob": "registry pull jobs (downloads are in the access log)",
    "account.EmailConfirmation": "one-time confirmation keys, not data",
    "otp_static.StaticToken": "backup codes: secrets, not data",
}


def _patient_linked_models() -> set[str]:
    """Models with a foreign key to a user, or to a model that has one (one step)."""
    user = get_user_model()
    direct = {
        m for m in apps.get_models()
        if any(getattr(f, "related_model", None) is user and f.concrete
               for f in m._meta.get_fields())
    }  # fmt: skip
    linked = set(direct)
    for model in apps.get_models():
        for f in model._meta.get_fields():
            if f.concrete and getattr(f, "related_model", None) in direct and f.many_to_one:
                linked.add(model)
    return {m._meta.label for m in linked} - {user._meta.label}


def test_every_patient_owned_model_is_exported_or_excused():
    missing = _patient_linked_models() - set(EXPORTED) - set(EXCUSED)
    assert not missing, f"add these to the self-export (or excuse them here): {sorted(missing)}"


@pytest.fixture
def alice_everything(patient_alice, clinician_carol, settings, tmp_path,
                     django_capture_on_commit_callbacks, monkeypatch):  # fmt: skip
    from config.celery import app
    from imaging import services as imaging_services
    from imaging.mri import services as mri_services
    from imaging.training.synth import generate, to_png_bytes
    from reminders import services as reminder_services
    from reminders.models import ReminderSend
    from tests.imaging.mri_helpers import mr_series, zip_of

    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setattr(app.conf, "task_always_eager", True)
    alice = patient_alice
    today = patient_today(alice)
    entry = save_day(alice, 0, factors=["stress"], note="a note")
    save_day(alice, 1)
    med = services.medicine_add(
        patient=alice, name="Pilocarpine", dose="5", unit="mg", schedule="once_daily",
        start_date=today - timedelta(days=3),
    )  # fmt: skip
    services.dose_log_set(patient=alice, medicine_id=med.id, day=entry.date, status="missed")
    esspri(alice, today, 5, 6, 4)
    osdi(alice, today, 1)
    eq5d(alice, today, (1, 2, 3, 2, 1), 64)
    linkage = ConsentDocument.objects.get(kind="nhs_linkage", version=1)
    consent_services.consent_give(
        patient=alice, document=linkage, via="web", nhs_number="9434765919"
    )
    registry = Registry.objects.get(slug="uk-pssr")
    sharing = ConsentDocument.objects.get(kind="registry_sharing", registry=registry, version=1)
    consent_services.consent_give(patient=alice, document=sharing, via="web")
    consent_services.consent_withdraw(
        patient=alice, scope="registry_sharing", via="web", registry=registry
    )
    consent_services.clinician_verify(clinician=clinician_carol, by=StaffFactory())
    grant(alice, clinician_carol, ("diary", "imaging"))
    with django_capture_on_commit_callbacks(execute=True):
        study, result = imaging_services.study_upload(
            uploaded_by=clinician_carol, patient=alice, data=to_png_bytes(generate(7).image)
        )
    result.refresh_from_db()
    reminder_services.reminder_settings_save(
        patient=alice, enabled=True, remind_at=time(20, 0), days=["mon", "fri"], email=True,
        push=True,
    )  # fmt: skip
    reminder_services.push_subscription_save(
        patient=alice, endpoint="https://push.example.net/send/abc", p256dh="B" + "A" * 86,
        auth="A" * 22,
    )  # fmt: skip
    ReminderSend.objects.create(patient=alice, day=today, kind="diary", status="sent")
    imaging_services.result_review_grade(
        result=result, reviewer=clinician_carol, grades=model_grades(study), ra_pattern=False
    )
    files, _ = mr_series(6, 40, 40)
    with django_capture_on_commit_callbacks(execute=True):
        mri, _ = mri_services.mri_study_upload(
            uploaded_by=clinician_carol, patient=alice, files=[("series.zip", zip_of(files))],
            bundle_name="spine-berlin",
        )  # fmt: skip
    mri_result = mri.results.get()
    regions = mri_services.model_regions(mri_result)
    mri_services.mri_review_grade(
        result=mri_result, reviewer=clinician_carol,
        grades={(r["region"], r["feature"]): 0 for r in regions},
    )  # fmt: skip
    return alice, study


def test_the_export_holds_every_kind_of_patient_record(client, alice_everything, clinician_carol):
    alice, study = alice_everything
    # Dr Carol reads Alice's summary: a line in Alice's access log.
    carol = client.__class__()
    login_verified(carol, clinician_carol)
    carol.get(f"/imaging/studies/{study.pk}/")
    client.force_login(alice)
    response = client.post("/diary/my-data/export/")
    if response.status_code == 405:
        response = client.get("/diary/my-data/export/")
    assert response.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("diary.json"))

    for label, where in EXPORTED.items():
        value = data
        for key in where.split("."):
            value = value[key]
        assert value, f"{label} is missing from diary.json ({where})"
    assert data["consent"]["nhs_number"] == "9434765919"
    actions = [e["action"] for e in data["consent"]["consent_history"]]
    assert actions == ["give", "give", "withdraw"]
    assert any("radiograph" in line["what"] for line in data["consent"]["access_log"])
    assert {r["kind"] for r in data["imaging"]["reviews"]} == {"joint", "ra_pattern"}

    names = set(archive.namelist())
    for csv_name in ("entries.csv", "medicines.csv", "doses.csv", "questionnaires.csv",
                     "consent_history.csv", "sharing.csv", "access_log.csv", "radiographs.csv",
                     "radiograph_scores.csv", "radiograph_reviews.csv", "mri_series.csv",
                     "mri_scores.csv", "mri_reviews.csv"):  # fmt: skip
        assert csv_name in names and len(archive.read(csv_name).splitlines()) > 1, csv_name
    image = data["imaging"]["radiographs"][0]["file"]
    assert archive.read(image)[:8] == b"\x89PNG\r\n\x1a\n"  # the radiograph itself
    series = zipfile.ZipFile(io.BytesIO(archive.read(data["mri"]["series"][0]["file"])))
    assert len(series.namelist()) == 6  # the de-identified DICOM files of the MRI series

    bundle = Bundle.model_validate(json.loads(archive.read("fhir_bundle.json")))
    kinds = {entry.resource.__resource_type__ for entry in bundle.entry}
    assert {"Patient", "Observation", "MedicationStatement", "QuestionnaireResponse",
            "Consent", "DocumentReference"} <= kinds  # fmt: skip


def test_the_export_holds_no_one_elses_records(client, alice_everything, patient_bob):
    save_day(patient_bob, 0, note="bob's own note")
    client.force_login(patient_bob)
    response = client.post("/diary/my-data/export/")
    if response.status_code == 405:
        response = client.get("/diary/my-data/export/")
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    data = json.loads(archive.read("diary.json"))
    assert data["consent"]["consent_history"] == [] and data["imaging"]["radiographs"] == []
    assert data["consent"]["nhs_number"] is None
    assert not [n for n in archive.namelist() if n.startswith("radiographs/")]
    assert data["mri"]["series"] == [] and not [n for n in archive.namelist() if "mri/" in n]
