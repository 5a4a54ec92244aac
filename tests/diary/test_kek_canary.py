"""A wrong key-encryption key is found at start-up, not as a 500 on the first page that decrypts:
`manage.py check` (diary.E001), the web process (config/wsgi.py) and the Celery worker all refuse
to start with a clear message."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from diary import crypto, services
from diary.checks import key_encryption_keys_unwrap
from diary.selectors import patient_today
from tests.diary.conftest import day_values
from tests.factories import PatientFactory

ROOT = Path(__file__).resolve().parents[2]
OTHER_KEY = bytes(range(32))


def _kek_env(keks: list[tuple[str, bytes]]) -> str:
    return ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in keks)


def _with_a_patient_key():
    patient = PatientFactory()
    services.entry_save(patient=patient, entry_date=patient_today(patient), values=day_values())
    return patient


@pytest.mark.django_db
def test_the_right_keys_pass(settings):
    _with_a_patient_key()
    assert crypto.kek_problems() == []
    assert key_encryption_keys_unwrap() == []
    call_command("check")


@pytest.mark.django_db
def test_a_wrong_key_under_the_same_id_fails_the_check(settings):
    _with_a_patient_key()
    kek_id = settings.DIARY_KEKS[0][0]
    settings.DIARY_KEKS = [(kek_id, OTHER_KEY)]
    errors = key_encryption_keys_unwrap()
    assert [e.id for e in errors] == ["diary.E001"]
    assert "does not unwrap" in errors[0].msg and kek_id in errors[0].msg
    with pytest.raises(SystemCheckError, match="configured key is wrong"):
        call_command("check")
    with pytest.raises(crypto.WrongKeyEncryptionKey, match="Refusing to start"):
        crypto.assert_keks_unwrap()


@pytest.mark.django_db
def test_a_missing_key_fails_the_check(settings):
    _with_a_patient_key()
    old_id = settings.DIARY_KEKS[0][0]
    settings.DIARY_KEKS = [("brand-new", OTHER_KEY)]
    problems = crypto.kek_problems()
    assert len(problems) == 1
    assert repr(old_id) in problems[0] and "does not name" in problems[0]


@pytest.mark.django_db
def test_a_rotation_in_progress_passes(settings):
    _with_a_patient_key()
    settings.DIARY_KEKS = [("next-1", OTHER_KEY), *settings.DIARY_KEKS]
    _with_a_patient_key()  # wrapped under next-1
    assert crypto.kek_problems() == []


@pytest.mark.django_db
def test_destroyed_keys_are_not_canaries(settings):
    patient = _with_a_patient_key()
    services.patient_erase(patient=patient)
    settings.DIARY_KEKS = [("brand-new", OTHER_KEY)]
    assert crypto.kek_problems() == []


# --- The real processes, against a committed database -------------------------------------


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIARY_")}
    db = django_settings.DATABASES["default"]
    env["DATABASE_URL"] = (
        f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    )
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str], timeout: int = 120):
    return subprocess.run(
        args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_manage_check_and_the_web_process_refuse_a_wrong_key():
    _with_a_patient_key()
    kek_id = django_settings.DIARY_KEKS[0][0]
    wrong = _env(DIARY_KEKS=_kek_env([(kek_id, OTHER_KEY)]))
    check = _run([sys.executable, "manage.py", "check"], wrong)
    assert check.returncode == 1
    assert "diary.E001" in check.stderr and "configured key is wrong" in check.stderr
    web = _run([sys.executable, "-c", "import config.wsgi"], wrong)
    assert web.returncode != 0
    assert "Refusing to start" in web.stderr
    right = _env(DIARY_KEKS=_kek_env(django_settings.DIARY_KEKS))
    assert _run([sys.executable, "manage.py", "check"], right).returncode == 0
    assert _run([sys.executable, "-c", "import config.wsgi"], right).returncode == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
def test_the_celery_worker_refuses_a_wrong_key():
    _with_a_patient_key()
    kek_id = django_settings.DIARY_KEKS[0][0]
    wrong = _env(DIARY_KEKS=_kek_env([(kek_id, OTHER_KEY)]))
    worker = _run(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--without-mingle",
            "--without-gossip",
            "-Q",
            "kek-canary-test",
        ],
        wrong,
        timeout=90,
    )
    assert worker.returncode != 0
    assert "Refusing to start" in worker.stdout + worker.stderr
