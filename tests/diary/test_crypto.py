"""Envelope encryption: round-trips, and refusal on wrong keys, tampering and moved blobs."""

from __future__ import annotations

import base64
import os

import pytest

from diary import crypto
from diary.models import PatientKey

pytestmark = pytest.mark.django_db

RECORD = {"record_type": "diary.entry", "record_id": "r-1"}


@pytest.mark.parametrize(
    "payload",
    [0, "", False, [], {}, None, {"a": 0, "b": "", "c": False, "d": []}, "Sjögren ✓", 3.5],
)
def test_falsy_and_unicode_payloads_round_trip_exactly(patient_alice, payload):
    blob = crypto.encrypt_json(patient_id=patient_alice.pk, payload=payload, **RECORD)
    back = crypto.decrypt_json(patient_id=patient_alice.pk, blob=blob, **RECORD)
    assert back == payload
    assert type(back) is type(payload)


def test_blob_carries_version_and_key_id(patient_alice):
    blob = crypto.encrypt_json(patient_id=patient_alice.pk, payload={"x": 1}, **RECORD)
    key = PatientKey.objects.get(patient=patient_alice)
    assert blob[0] == crypto.FORMAT_VERSION
    assert blob[1:9] == bytes.fromhex(key.key_id)
    assert b'"x"' not in blob


def test_encryption_is_randomised(patient_alice):
    a = crypto.encrypt_json(patient_id=patient_alice.pk, payload="same", **RECORD)
    b = crypto.encrypt_json(patient_id=patient_alice.pk, payload="same", **RECORD)
    assert a != b


def test_tampered_blob_raises(patient_alice):
    blob = bytearray(crypto.encrypt_json(patient_id=patient_alice.pk, payload="x", **RECORD))
    blob[-1] ^= 1
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_json(patient_id=patient_alice.pk, blob=bytes(blob), **RECORD)


@pytest.mark.parametrize(
    "moved",
    [
        {"record_type": "diary.entry", "record_id": "r-2"},
        {"record_type": "diary.medicine", "record_id": "r-1"},
    ],
)
def test_blob_moved_to_another_record_raises(patient_alice, moved):
    blob = crypto.encrypt_json(patient_id=patient_alice.pk, payload="x", **RECORD)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_json(patient_id=patient_alice.pk, blob=blob, **moved)


def test_blob_moved_to_another_patient_raises(patient_alice, patient_bob):
    blob = crypto.encrypt_json(patient_id=patient_alice.pk, payload="x", **RECORD)
    crypto.ensure_patient_key(patient_bob.pk)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_json(patient_id=patient_bob.pk, blob=blob, **RECORD)


@pytest.mark.parametrize("blob", [b"", b"\x01", b"\x02" + b"\x00" * 40, None])
def test_truncated_or_unknown_format_raises(patient_alice, blob):
    crypto.ensure_patient_key(patient_alice.pk)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_json(patient_id=patient_alice.pk, blob=blob, **RECORD)


def test_missing_data_key_raises(patient_alice, patient_bob):
    blob = crypto.encrypt_json(patient_id=patient_alice.pk, payload="x", **RECORD)
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_json(patient_id=patient_bob.pk, blob=blob, **RECORD)


def test_missing_kek_raises(patient_alice, settings):
    blob = crypto.encrypt_json(patient_id=patient_alice.pk, payload="x", **RECORD)
    settings.DIARY_KEKS = [("other", os.urandom(32))]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_json(patient_id=patient_alice.pk, blob=blob, **RECORD)


def test_wrong_kek_under_the_same_id_raises(patient_alice, settings):
    blob = crypto.encrypt_json(patient_id=patient_alice.pk, payload="x", **RECORD)
    kek_id = settings.DIARY_KEKS[0][0]
    settings.DIARY_KEKS = [(kek_id, os.urandom(32))]
    with pytest.raises(crypto.DecryptionError):
        crypto.decrypt_json(patient_id=patient_alice.pk, blob=blob, **RECORD)


def test_destroyed_key_raises_key_destroyed(patient_alice):
    blob = crypto.encrypt_json(patient_id=patient_alice.pk, payload="x", **RECORD)
    assert crypto.destroy_patient_key(patient_alice.pk)
    with pytest.raises(crypto.KeyDestroyed):
        crypto.decrypt_json(patient_id=patient_alice.pk, blob=blob, **RECORD)
    with pytest.raises(crypto.KeyDestroyed):
        crypto.encrypt_json(patient_id=patient_alice.pk, payload="y", **RECORD)
    assert bytes(PatientKey.objects.get(patient=patient_alice).wrapped_dek) == b""


def test_bytes_round_trip_for_files(patient_alice):
    data = os.urandom(5000)
    blob = crypto.encrypt_bytes(
        patient_id=patient_alice.pk, record_type="imaging.study", record_id="s", data=data
    )
    assert (
        crypto.decrypt_bytes(
            patient_id=patient_alice.pk, record_type="imaging.study", record_id="s", blob=blob
        )
        == data
    )


@pytest.mark.parametrize("plain", [b'{"a":1}x', b"", b"\xff\xfe", b"NaN"])
def test_authentic_blob_that_is_not_strict_json_raises(patient_alice, plain):
    blob = crypto.encrypt_bytes(
        patient_id=patient_alice.pk, record_type="t", record_id="r", data=plain
    )
    with pytest.raises(crypto.DecryptionError, match="not valid JSON"):
        crypto.decrypt_json(patient_id=patient_alice.pk, record_type="t", record_id="r", blob=blob)
    with pytest.raises(crypto.DecryptionError, match="not valid JSON"):
        list(
            crypto.decrypt_json_many(
                record_type="t", rows=[(patient_alice.pk, "r", blob)], cache=crypto.DataKeyCache()
            )
        )


def test_ensure_patient_key_is_idempotent(patient_alice):
    crypto.ensure_patient_key(patient_alice.pk)
    first = PatientKey.objects.get(patient=patient_alice).key_id
    crypto.ensure_patient_key(patient_alice.pk)
    assert PatientKey.objects.get(patient=patient_alice).key_id == first
    assert PatientKey.objects.count() == 1


def test_wrapped_key_is_not_the_data_key(patient_alice, settings):
    crypto.ensure_patient_key(patient_alice.pk)
    row = PatientKey.objects.get(patient=patient_alice)
    assert row.kek_id == settings.DIARY_KEKS[0][0]
    assert len(bytes(row.wrapped_dek)) == 12 + 32 + 16
    assert base64.b64encode(settings.DIARY_KEKS[0][1]) not in bytes(row.wrapped_dek)


def _rows(patient_id, count=3):
    return [
        (
            patient_id,
            f"r-{i}",
            crypto.encrypt_json(
                patient_id=patient_id,
                record_type="diary.entry",
                record_id=f"r-{i}",
                payload={"i": i},
            ),
        )
        for i in range(count)
    ]


def test_batch_decryption_round_trips(patient_alice, patient_bob):
    rows = _rows(patient_alice.pk) + _rows(patient_bob.pk)
    out = list(
        crypto.decrypt_json_many(record_type="diary.entry", rows=rows, cache=crypto.DataKeyCache())
    )
    assert out == [{"i": 0}, {"i": 1}, {"i": 2}] * 2


@pytest.mark.parametrize("attack", ["tamper", "swap_ids", "other_patient", "other_type"])
def test_batch_decryption_refuses_tampered_or_moved_blobs(patient_alice, patient_bob, attack):
    rows = _rows(patient_alice.pk)
    crypto.ensure_patient_key(patient_bob.pk)
    pid, rid, blob = rows[0]
    record_type = "diary.entry"
    if attack == "tamper":
        rows[0] = (pid, rid, blob[:-1] + bytes([blob[-1] ^ 1]))
    elif attack == "swap_ids":
        rows[0] = (pid, "r-1", blob)
    elif attack == "other_patient":
        rows[0] = (patient_bob.pk, rid, blob)
    else:
        record_type = "diary.medicine"
    with pytest.raises(crypto.DecryptionError):
        list(
            crypto.decrypt_json_many(
                record_type=record_type, rows=rows, cache=crypto.DataKeyCache()
            )
        )


def test_iter_entry_chunks_streams_many_patients_in_order(patient_alice, patient_bob):
    from diary import selectors
    from tests.diary.conftest import save_day

    for days_ago in range(3):
        save_day(patient_alice, days_ago=days_ago)
        save_day(patient_bob, days_ago=days_ago, note="bob")
    chunks = list(
        selectors.iter_entry_chunks(patient_ids=[patient_alice.pk, patient_bob.pk], chunk_size=2)
    )
    assert [len(c) for c in chunks] == [2, 2, 2]
    flat = [e for c in chunks for e in c]
    assert [e.patient_id for e in flat] == sorted(e.patient_id for e in flat)
    assert {e.note for e in flat if e.patient_id == patient_bob.pk} == {"bob"}
