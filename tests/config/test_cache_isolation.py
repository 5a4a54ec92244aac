"""Parallel test workers (pytest -n) keep their throttle and lockout counters apart (issue 16)."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from tests.isolation import clear_own_cache, glob_escape


def test_each_worker_has_its_own_cache_prefix():
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    assert settings.CACHES["default"]["KEY_PREFIX"] == f"test-{worker}"


def test_the_prefix_follows_the_xdist_worker_name():
    env = {**os.environ, "DJANGO_ENV": "test", "PYTEST_XDIST_WORKER": "gw7"}
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; "
        "from django.conf import settings; print(settings.CACHES['default']['KEY_PREFIX'])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "test-gw7"


def test_clearing_leaves_another_workers_keys_alone():
    cache = caches["default"]
    cache.set("throttle_token_127.0.0.1", [1.0, 2.0])
    if not isinstance(cache, RedisCache):
        clear_own_cache()
        assert cache.get("throttle_token_127.0.0.1") is None
        return
    client = cache._cache.get_client(write=True)
    other = "test-someone-else:1:throttle_token_127.0.0.1"
    client.set(other, b"5")
    try:
        clear_own_cache()
        assert cache.get("throttle_token_127.0.0.1") is None
        assert client.get(other) == b"5"
    finally:
        client.delete(other)


def test_a_prefix_is_matched_literally():
    assert glob_escape("test-gw[1]*?") == "test-gw\\[1\\]\\*\\?"
