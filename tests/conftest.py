from __future__ import annotations

import os

import pytest
from django.conf import settings

from tests.isolation import clear_own_cache
from tests.personas import *  # noqa: F403 - persona fixtures for every test module


def pytest_configure(config):
    # CI must exercise the real database, never the embedded SQLite default.
    if os.environ.get("CI") == "true":
        engine = settings.DATABASES["default"]["ENGINE"]
        if engine != "django.db.backends.postgresql":
            raise pytest.UsageError(
                f"CI=true but the database engine is {engine}: run the suite with `make test`, "
                "which points DATABASE_URL at PostgreSQL."
            )


@pytest.fixture(autouse=True)
def _isolated_cache():
    """Each test starts (and ends) with an empty cache of its own worker."""
    clear_own_cache()
    yield
    clear_own_cache()
