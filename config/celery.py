import logging
import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("sjogrens_diary")
# Every CELERY_* Django setting configures Celery; a test checks the important ones took.
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def refuse_wrong_keys(**kwargs) -> None:
    """A worker with a wrong key-encryption key does not start: it would fail every export and
    rotation task it took (diary.crypto.kek_problems). SystemExit, because Celery logs and
    ignores ordinary exceptions from signal handlers."""
    from django.db import DatabaseError, connection

    from diary import crypto

    try:
        crypto.assert_keks_unwrap()
    except DatabaseError:
        logging.getLogger(__name__).warning("key check skipped: database not available")
    except crypto.WrongKeyEncryptionKey as exc:
        logging.getLogger(__name__).critical("%s", exc)
        raise SystemExit(f"celery worker: {exc}") from exc
    finally:
        connection.close()
