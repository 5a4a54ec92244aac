"""Envelope encryption of patient data (DESIGN.md section 3).

Each patient has a random 256-bit data key (DEK). The DEK is stored only wrapped (AES-GCM) by a
key-encryption key (KEK) from settings.DIARY_KEKS: the first KEK wraps, every KEK unwraps, so
keys can be rotated by rewrapping DEKs without touching any record.

A record's sensitive fields are serialised as one JSON document and sealed as one AES-GCM blob:

    version (1 byte) | DEK id (8 bytes) | nonce (12 bytes) | ciphertext + tag

with associated data f"{record_type}:{record_id}:{patient_id}", so a blob copied to another row,
another record type or another patient fails authentication. A wrong, missing or destroyed key
RAISES; nothing here ever returns ciphertext or an empty value in place of the plaintext.

Only diary services and selectors (and other apps' services for their own files) call this
module. Unwrapped keys live in a `DataKeyCache` for the duration of one call, never at module
level (DESIGN.md section 1: no process-level caches of patient data).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

FORMAT_VERSION = 1
_KEY_ID_LEN = 8
_NONCE_LEN = 12
_HEADER_LEN = 1 + _KEY_ID_LEN + _NONCE_LEN
_TAG_LEN = 16


class CryptoError(Exception):
    """Base class: something about a key or a blob is not right. Never carries plaintext."""


class DecryptionError(CryptoError):
    """Wrong key, tampered blob, blob moved to another record, unknown format or missing KEK."""


class KeyDestroyed(CryptoError):
    """The patient's data key was destroyed (crypto-shredded): the data is gone for good."""


def _keks() -> dict[str, bytes]:
    return dict(settings.DIARY_KEKS)


def _primary_kek() -> tuple[str, bytes]:
    kek_id, key = settings.DIARY_KEKS[0]
    return kek_id, key


def _wrap_aad(patient_id: int, key_id: str) -> bytes:
    return f"dek:{patient_id}:{key_id}".encode()


def wrap_dek(*, dek: bytes, patient_id: int, key_id: str) -> tuple[str, bytes]:
    """Wrap a DEK under the first KEK; returns (kek_id, nonce + ciphertext)."""
    kek_id, kek = _primary_kek()
    nonce = os.urandom(_NONCE_LEN)
    return kek_id, nonce + AESGCM(kek).encrypt(nonce, dek, _wrap_aad(patient_id, key_id))


def unwrap_dek(*, wrapped: bytes, kek_id: str, patient_id: int, key_id: str) -> bytes:
    kek = _keks().get(kek_id)
    if kek is None:
        raise DecryptionError(f"Key-encryption key {kek_id!r} is not configured.")
    nonce, body = bytes(wrapped[:_NONCE_LEN]), bytes(wrapped[_NONCE_LEN:])
    try:
        return AESGCM(kek).decrypt(nonce, body, _wrap_aad(patient_id, key_id))
    except InvalidTag as exc:
        raise DecryptionError("The data key could not be unwrapped.") from exc


def ensure_patient_key(patient_id: int) -> None:
    """Create the patient's data key if it does not exist yet (safe under concurrency)."""
    from diary.models import PatientKey

    if PatientKey.objects.filter(patient_id=patient_id).exists():
        return
    key_id = os.urandom(_KEY_ID_LEN).hex()
    kek_id, wrapped = wrap_dek(dek=AESGCM.generate_key(256), patient_id=patient_id, key_id=key_id)
    try:
        with transaction.atomic():
            PatientKey.objects.create(
                patient_id=patient_id, key_id=key_id, kek_id=kek_id, wrapped_dek=wrapped
            )
    except IntegrityError:
        pass  # Another process created it first; theirs is the key.


class DataKeyCache:
    """Unwrapped DEKs for the length of one call (a request, a task, one export chunk)."""

    def __init__(self) -> None:
        self._keys: dict[int, tuple[bytes, AESGCM]] = {}

    def get(self, patient_id: int, *, create: bool = False) -> tuple[bytes, AESGCM]:
        """(DEK id as bytes, cipher) for a patient; raises if the key is missing or destroyed."""
        found = self._keys.get(patient_id)
        if found is None:
            found = self._load(patient_id, create=create)
            self._keys[patient_id] = found
        return found

    def add_new(self, patient_id: int):
        """A fresh data key for a new patient: returns the unsaved PatientKey row and keeps
        the cipher here, so bulk loaders (seed_demo) can encrypt before inserting anything."""
        from diary.models import PatientKey

        key_id = os.urandom(_KEY_ID_LEN).hex()
        dek = AESGCM.generate_key(256)
        kek_id, wrapped = wrap_dek(dek=dek, patient_id=patient_id, key_id=key_id)
        self._keys[patient_id] = (bytes.fromhex(key_id), AESGCM(dek))
        return PatientKey(patient_id=patient_id, key_id=key_id, kek_id=kek_id, wrapped_dek=wrapped)

    def preload(self, patient_ids) -> None:
        """Unwrap many patients' keys with one query (exports, benchmarks)."""
        from diary.models import PatientKey

        wanted = [pid for pid in patient_ids if pid not in self._keys]
        self.add_rows(PatientKey.objects.filter(patient_id__in=wanted))

    def add_rows(self, rows) -> None:
        """Unwrap the keys of PatientKey rows already in hand."""
        for row in rows:
            self._keys[row.patient_id] = _cipher_for(row)

    def forget(self) -> None:
        self._keys.clear()

    @staticmethod
    def _load(patient_id: int, *, create: bool) -> tuple[bytes, AESGCM]:
        from diary.models import PatientKey

        # One query when the key exists (every save after a patient's first).
        row = PatientKey.objects.filter(patient_id=patient_id).first()
        if row is None and create:
            ensure_patient_key(patient_id)
            row = PatientKey.objects.filter(patient_id=patient_id).first()
        if row is None:
            raise DecryptionError("This patient has no data key.")
        return _cipher_for(row)


def _cipher_for(row) -> tuple[bytes, AESGCM]:
    if row.destroyed_at is not None or not row.wrapped_dek:
        raise KeyDestroyed("This patient's data key has been destroyed.")
    dek = unwrap_dek(
        wrapped=bytes(row.wrapped_dek),
        kek_id=row.kek_id,
        patient_id=row.patient_id,
        key_id=row.key_id,
    )
    return bytes.fromhex(row.key_id), AESGCM(dek)


def _aad(record_type: str, record_id: str, patient_id: int) -> bytes:
    return f"{record_type}:{record_id}:{patient_id}".encode()


def encrypt_bytes(
    *,
    patient_id: int,
    record_type: str,
    record_id: str,
    data: bytes,
    cache: DataKeyCache | None = None,
) -> bytes:
    key_id, cipher = (cache or DataKeyCache()).get(patient_id, create=True)
    nonce = os.urandom(_NONCE_LEN)
    sealed = cipher.encrypt(nonce, data, _aad(record_type, str(record_id), patient_id))
    return bytes([FORMAT_VERSION]) + key_id + nonce + sealed


def decrypt_bytes(
    *,
    patient_id: int,
    record_type: str,
    record_id: str,
    blob: bytes,
    cache: DataKeyCache | None = None,
) -> bytes:
    blob = bytes(blob) if blob is not None else b""
    if len(blob) < _HEADER_LEN + _TAG_LEN or blob[0] != FORMAT_VERSION:
        raise DecryptionError("Unknown or truncated ciphertext format.")
    key_id, cipher = (cache or DataKeyCache()).get(patient_id)
    if blob[1 : 1 + _KEY_ID_LEN] != key_id:
        raise DecryptionError("This blob was sealed with another data key.")
    nonce = blob[1 + _KEY_ID_LEN : _HEADER_LEN]
    try:
        return cipher.decrypt(
            nonce, blob[_HEADER_LEN:], _aad(record_type, str(record_id), patient_id)
        )
    except InvalidTag as exc:
        raise DecryptionError("Ciphertext failed authentication (tampered or moved).") from exc


def encrypt_json(
    *,
    patient_id: int,
    record_type: str,
    record_id: str,
    payload: Any,
    cache: DataKeyCache | None = None,
) -> bytes:
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
    return encrypt_bytes(
        patient_id=patient_id, record_type=record_type, record_id=record_id, data=data, cache=cache
    )


def decrypt_json(
    *,
    patient_id: int,
    record_type: str,
    record_id: str,
    blob: bytes,
    cache: DataKeyCache | None = None,
) -> Any:
    data = decrypt_bytes(
        patient_id=patient_id, record_type=record_type, record_id=record_id, blob=blob, cache=cache
    )
    return _decode_json(data)


def _decode_json(data: bytes) -> Any:
    # orjson: about twice as fast as the standard library here (decoding dominates a bulk read),
    # and as strict (no trailing data, valid UTF-8 only).
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise DecryptionError("The decrypted payload is not valid JSON.") from exc


def decrypt_json_many(
    *, record_type: str, rows: Iterable[tuple[int, str, bytes]], cache: DataKeyCache
) -> Iterator[Any]:
    """Decrypt many (patient_id, record_id, blob) rows: the same checks as decrypt_json, in one
    tight loop (diary pages, trends and exports read hundreds to millions of rows)."""
    # map() in C over the plaintexts: no second Python generator frame per row.
    return map(_decode_json, decrypt_bytes_many(record_type=record_type, rows=rows, cache=cache))


def decrypt_bytes_many(
    *, record_type: str, rows: Iterable[tuple[int, str, bytes]], cache: DataKeyCache
) -> Iterator[bytes]:
    """decrypt_json_many without the JSON parsing: the plaintext bytes of each row (for readers
    of tiny payloads with few possible values, such as a dose's status, which look the bytes up
    instead of parsing them)."""
    prefix = f"{record_type}:"
    last_patient, key_id, cipher = None, b"", None
    for patient_id, record_id, blob in rows:
        if patient_id != last_patient:
            key_id, cipher = cache.get(patient_id)
            last_patient = patient_id
        blob = blob if type(blob) is bytes else bytes(blob or b"")
        if len(blob) < _HEADER_LEN + _TAG_LEN or blob[0] != FORMAT_VERSION:
            raise DecryptionError("Unknown or truncated ciphertext format.")
        if blob[1 : _KEY_ID_LEN + 1] != key_id:
            raise DecryptionError("This blob was sealed with another data key.")
        aad = f"{prefix}{record_id}:{patient_id}".encode()
        try:
            yield cipher.decrypt(blob[1 + _KEY_ID_LEN : _HEADER_LEN], blob[_HEADER_LEN:], aad)
        except InvalidTag as exc:
            raise DecryptionError("Ciphertext failed authentication (tampered or moved).") from exc


def destroy_patient_key(patient_id: int) -> bool:
    """Crypto-shred: overwrite the wrapped DEK. Returns False if there was no key."""
    from diary.models import PatientKey

    updated = PatientKey.objects.filter(patient_id=patient_id).update(
        wrapped_dek=b"", destroyed_at=timezone.now()
    )
    return bool(updated)


def rewrap_batch(*, after_id: int, batch_size: int) -> tuple[int, int, int, int]:
    """Rewrap one batch of DEKs under the first KEK, in id order, locking only that batch.

    Returns (last id seen, rewrapped, already current, skipped destroyed). Keys already under
    the first KEK are left alone, which makes a rerun after any interruption cheap and safe.
    """
    from diary.models import PatientKey

    primary_id, _ = _primary_kek()
    rewrapped = current = destroyed = 0
    last = after_id
    with transaction.atomic():
        rows = list(
            PatientKey.objects.select_for_update(skip_locked=True)
            .filter(id__gt=after_id)
            .order_by("id")[:batch_size]
        )
        for row in rows:
            last = row.id
            if row.destroyed_at is not None:
                destroyed += 1
            elif row.kek_id == primary_id:
                current += 1
            else:
                _rewrap_row(row)
                rewrapped += 1
    return last, rewrapped, current, destroyed


def _rewrap_row(row) -> None:
    dek = unwrap_dek(
        wrapped=bytes(row.wrapped_dek),
        kek_id=row.kek_id,
        patient_id=row.patient_id,
        key_id=row.key_id,
    )
    row.kek_id, row.wrapped_dek = wrap_dek(dek=dek, patient_id=row.patient_id, key_id=row.key_id)
    row.rotated_at = timezone.now()
    row.save(update_fields=["kek_id", "wrapped_dek", "rotated_at"])


# --- Start-up canary: the configured KEKs are the ones the stored data keys were wrapped with --
class WrongKeyEncryptionKey(CryptoError):
    """A configured KEK does not unwrap what was wrapped under its id, or one is missing."""


def kek_problems() -> list[str]:
    """What is wrong with settings.DIARY_KEKS against the stored data keys, in plain words.

    The canaries are real wrapped data keys: for every KEK id the live keys use, the oldest and
    the newest key wrapped under it must unwrap. A wrong key (a typo, the staging key in
    production, a rotated-away key put back under the old id) is found here, at start-up,
    instead of as a server error on the first page that decrypts.
    """
    from diary.models import PatientKey

    configured = _keks()
    live = PatientKey.objects.filter(destroyed_at__isnull=True)
    problems = []
    for kek_id in sorted(set(live.values_list("kek_id", flat=True).distinct())):
        if kek_id not in configured:
            problems.append(
                f"Data keys are wrapped under key-encryption key {kek_id!r}, which DIARY_KEKS "
                "does not name: add it back (after the current key) until rotate_keys is done."
            )
            continue
        under = live.filter(kek_id=kek_id)
        samples = {row.pk: row for row in (under.order_by("pk").first(), under.latest("pk"))}
        for row in samples.values():
            try:
                unwrap_dek(
                    wrapped=bytes(row.wrapped_dek),
                    kek_id=kek_id,
                    patient_id=row.patient_id,
                    key_id=row.key_id,
                )
            except DecryptionError:
                problems.append(
                    f"Key-encryption key {kek_id!r} in DIARY_KEKS does not unwrap the data keys "
                    "stored under that id: the configured key is wrong."
                )
                break
    return problems


def assert_keks_unwrap() -> None:
    """Raise WrongKeyEncryptionKey (with every problem) unless the configured KEKs are right."""
    problems = kek_problems()
    if problems:
        raise WrongKeyEncryptionKey(
            "Refusing to start: " + " ".join(problems) + " Fix DIARY_KEKS (or DIARY_KEKS_FILE) "
            "and start again; nothing was read or written with the wrong key."
        )
