"""System check (`manage.py check`, runserver, and every management command): the configured
key-encryption keys unwrap the stored data keys (diary.crypto.kek_problems). The web process
(config/wsgi.py) and the Celery worker (config/celery.py) run the same check before serving."""

from __future__ import annotations

import logging

from django.core.checks import Error, register
from django.db import DatabaseError

from diary import crypto

logger = logging.getLogger(__name__)


@register()
def key_encryption_keys_unwrap(app_configs=None, **kwargs) -> list[Error]:
    try:
        problems = crypto.kek_problems()
    except DatabaseError as exc:
        # No database yet (before migrate) or not reachable: nothing stored can be at risk here,
        # and the health check reports the database itself.
        logger.warning(
            "key check skipped: database not reachable or not migrated yet (%s)", type(exc).__name__
        )
        return []
    return [
        Error(
            problem,
            hint="Set DIARY_KEKS to the key-encryption keys the data was written with "
            "(the first wraps new keys, all of them unwrap).",
            id="diary.E001",
        )
        for problem in problems
    ]
