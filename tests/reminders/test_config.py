"""Settings reminders rely on: the beat entry reaches Celery, VAPID keys exist, site names."""

from __future__ import annotations

import json

import pytest

from config.celery import app
from config.local_keys import ensure_local_key_file
from reminders import tasks


@pytest.mark.django_db  # importing the task modules runs Django's checks (the KEK canary reads)
def test_the_beat_schedule_runs_the_dispatch_task():
    entry = app.conf.beat_schedule["reminders-dispatch"]
    assert entry["task"] == tasks.reminders_dispatch.name
    assert 60 <= entry["schedule"].total_seconds() <= 300
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks


def test_a_key_file_without_vapid_keys_gets_a_pair_once(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"secret_key": "s", "keks": []}))
    first = ensure_local_key_file(path)
    second = ensure_local_key_file(path)
    assert first["vapid"] == second["vapid"]
    assert first["secret_key"] == "s"
    assert len(first["vapid"]["public_key"]) == 87  # 65 bytes, base64url without padding
    assert len(first["vapid"]["private_key"]) == 43  # 32 bytes


def test_vapid_key_pair_in_settings_signs_for_pywebpush(settings):
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    from py_vapid import Vapid

    from tests.reminders.conftest import b64url

    vapid = Vapid.from_string(settings.VAPID_PRIVATE_KEY)
    point = vapid.public_key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    assert b64url(point) == settings.VAPID_PUBLIC_KEY
    assert settings.SITE_NAME and settings.SITE_URL.startswith("http")
