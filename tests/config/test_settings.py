"""The settings that matter, checked: a misspelt setting silently does nothing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

from config.celery import app as celery_app

ROOT = Path(__file__).resolve().parents[2]


def test_tests_run_against_postgresql_and_redis():
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert celery_app.conf.task_always_eager is False


def test_celery_reads_the_reliability_settings():
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_transport_options["visibility_timeout"] >= 6 * 60 * 60
    # Recovery of a killed export worker waits a lease of minutes, not the visibility timeout.
    assert 2 <= settings.REGISTRY_EXPORT_LEASE_SECONDS <= 10 * 60
    assert (
        settings.REGISTRY_EXPORT_LEASE_SECONDS < conf.broker_transport_options["visibility_timeout"]
    )
    assert conf.task_serializer == "json"
    assert conf.beat_scheduler == "django_celery_beat.schedulers:DatabaseScheduler"


def test_custom_user_model_and_email_login():
    assert settings.AUTH_USER_MODEL == "accounts.User"
    assert settings.ACCOUNT_LOGIN_METHODS == {"email"}
    assert settings.ACCOUNT_EMAIL_VERIFICATION == "mandatory"


def _manage(*args: str, env_overrides: dict[str, str]) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DIARY_"))}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION_ENV = {
    "DJANGO_ENV": "production",
    "DJANGO_SECRET_KEY": "x" * 20 + "-not-a-real-secret-but-long-enough-for-the-check-0123456789",
    "DIARY_KEKS": "prod-1:" + "A" * 43 + "=",
    "DJANGO_ALLOWED_HOSTS": "diary.example.org",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/postgres",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/15",
}


def test_production_passes_the_deploy_checklist():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("missing", ["DJANGO_SECRET_KEY", "DIARY_KEKS"])
def test_production_refuses_to_start_without_a_secret(missing):
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != missing}
    result = _manage("check", env_overrides=env)
    assert result.returncode != 0
    assert f"{missing} (or {missing}_FILE) must be set" in result.stderr
    assert "Traceback" not in result.stdout


def test_production_reads_a_secret_from_a_file(tmp_path):
    secret_file = tmp_path / "secret"
    secret_file.write_text(PRODUCTION_ENV["DJANGO_SECRET_KEY"])
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "DJANGO_SECRET_KEY"}
    env["DJANGO_SECRET_KEY_FILE"] = str(secret_file)
    result = _manage("check", "--deploy", "--fail-level", "WARNING", env_overrides=env)
    assert result.returncode == 0, result.stderr


def test_malformed_key_encryption_key_is_refused_with_a_message():
    env = dict(PRODUCTION_ENV, DIARY_KEKS="no-colon-here")
    result = _manage("check", env_overrides=env)
    assert result.returncode != 0
    assert "DIARY_KEKS is malformed" in result.stderr
