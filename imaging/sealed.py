"""A model field whose value (any JSON: a grade, a score, a list of joint scores) is stored
sealed with the patient's data key (diary/crypto.py), like the diary's payloads (issue 16:
every health value encrypted).

The associated data binds each blob to its record type (one per field), to the row (its id, or
for rows whose id the database assigns, the columns that make the row unique) and to the
patient, so a blob copied to another row, column or patient fails to open.

Reading and writing stay the ordinary Django ways, so that the views, templates, APIs, exports
and the clinic summary read `result.scores` or `review.jsn` as before:

- a row read from the database holds the blob unopened; the first read of the attribute opens
  it (one key unwrap per instance, or per batch with `share_keys`) and keeps the value on the
  instance (never in a process-level cache);
- saving (save, create, bulk_create) seals the current value in `pre_save`, where the instance
  is at hand; a value never read is written back as it was, without being opened;
- a write without an instance (`QuerySet.update`, `bulk_update`, a filter on the value) is
  refused: a sealed value cannot be compared in SQL, it is decrypted and compared in Python.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import models
from django.db.models.query_utils import DeferredAttribute

_KEYS_ATTR = "_sealed_key_cache"


class SealedValue:
    """A blob read from the database, not opened yet."""

    __slots__ = ("blob",)

    def __init__(self, blob: bytes):
        self.blob = blob

    def __repr__(self) -> str:
        return "<sealed>"


def _crypto():
    from diary import crypto

    return crypto


def _keys(instance):
    """The data-key cache of one instance (or of the batch it was put in by share_keys)."""
    cache = instance.__dict__.get(_KEYS_ATTR)
    if cache is None:
        cache = _crypto().DataKeyCache()
        instance.__dict__[_KEYS_ATTR] = cache
    return cache


def share_keys(instances) -> None:
    """Let many instances (a page of reviews, a staff report) unwrap each patient's key once."""
    cache = _crypto().DataKeyCache()
    for instance in instances:
        instance.__dict__[_KEYS_ATTR] = cache


def _resolve(instance, path: str):
    value = instance
    for part in path.split("."):
        value = getattr(value, part)
    return value


class _SealedAttribute(DeferredAttribute):
    """A data descriptor: every read goes through here, so a blob is opened on first use."""

    def __get__(self, instance, cls=None):
        if instance is None:
            return self
        value = super().__get__(instance, cls)
        if isinstance(value, SealedValue):
            value = self.field.open(instance, value.blob)
            instance.__dict__[self.field.attname] = value
        return value

    def __set__(self, instance, value) -> None:
        instance.__dict__[self.field.attname] = value


class SealedJSONField(models.BinaryField):
    """record_type: bound into the associated data (one per field). patient: the attribute path
    to the patient's id ("study.patient_id"). record_id: attribute paths joined with ":" into
    the record id (default the primary key, which must be set before saving)."""

    descriptor_class = _SealedAttribute

    def __init__(
        self,
        *args,
        record_type: str = "",
        patient: str = "patient_id",
        record_id: tuple[str, ...] = ("pk",),
        **kwargs,
    ):
        self.record_type = record_type
        self.patient_path = patient
        self.record_id_paths = tuple(record_id)
        kwargs.setdefault("null", True)
        kwargs.setdefault("blank", True)
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs.update(
            # Always explicit: this field's own defaults (null, blank) differ from Field's.
            null=self.null,
            blank=self.blank,
            record_type=self.record_type,
            patient=self.patient_path,
            record_id=self.record_id_paths,
        )
        return name, path, args, kwargs

    # --- Sealing and opening -------------------------------------------------------------------
    def _record_id(self, instance) -> str:
        parts = [_resolve(instance, path) for path in self.record_id_paths]
        if any(part is None for part in parts[:1]):
            raise ValueError(f"{self.record_type}: the record id must be set before sealing.")
        return ":".join("-" if part is None else str(part) for part in parts)

    def open(self, instance, blob: bytes) -> Any:
        return _crypto().decrypt_json(
            patient_id=_resolve(instance, self.patient_path),
            record_type=self.record_type,
            record_id=self._record_id(instance),
            blob=blob,
            cache=_keys(instance),
        )

    def seal(self, instance, value: Any) -> bytes:
        return _crypto().encrypt_json(
            patient_id=_resolve(instance, self.patient_path),
            record_type=self.record_type,
            record_id=self._record_id(instance),
            payload=value,
            cache=_keys(instance),
        )

    def pre_save(self, model_instance, add):
        value = model_instance.__dict__.get(self.attname)
        if isinstance(value, SealedValue):
            return value.blob  # never opened, so unchanged: written back as it was
        return self.seal(model_instance, value)

    # --- Database conversions ------------------------------------------------------------------
    def from_db_value(self, value, expression, connection):
        return None if value is None else SealedValue(bytes(value))

    def get_db_prep_value(self, value, connection, prepared=False):
        if isinstance(value, SealedValue):
            value = value.blob
        if value is not None and not isinstance(value, bytes | bytearray | memoryview):
            raise TypeError(
                f"{self.record_type} is sealed: save it through its instance (save, create, "
                "bulk_create), never with update(), bulk_update() or a filter on its value."
            )
        return super().get_db_prep_value(value, connection, prepared)

    def to_python(self, value):
        return value  # the opened JSON value (BinaryField would base64-decode strings)

    def value_to_string(self, obj) -> str:
        return json.dumps(self.value_from_object(obj))

    # The default is a Python value, sealed per row on save. The database column has none:
    # a schema change cannot seal (it has no row), so it must not see one (has_default).
    def has_default(self) -> bool:
        return False

    def get_default(self):
        if self.default is models.NOT_PROVIDED:
            return None
        return self.default() if callable(self.default) else self.default
