"""The web process has a request timeout: a request that runs too long loses its worker, and the
site keeps answering (gunicorn.conf.py)."""

from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import closing
from pathlib import Path

import pytest
from gunicorn.config import Config

ROOT = Path(__file__).resolve().parents[2]


def _config(**env: str) -> Config:
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        values = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    config = Config()
    for name, value in values.items():
        if name in config.settings:
            config.set(name, value)
    return config


def test_gunicorn_config_has_a_request_timeout():
    config = _config()
    assert config.worker_class_str == "sync"
    assert 0 < config.timeout <= 60
    assert config.max_requests > 0
    assert _config(GUNICORN_TIMEOUT="7").timeout == 7


def _free_port() -> int:
    for port in range(8133, 8140):
        with closing(socket.socket()) as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    pytest.skip("no free port in 8133-8139")


def _get(url: str, timeout: float) -> int | None:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - local
            return response.status
    except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
        return None


@pytest.mark.slow
def test_a_request_past_the_timeout_loses_its_worker_and_the_site_answers():
    port = _free_port()
    env = {
        **os.environ,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_TIMEOUT": "2",
        "GUNICORN_ACCESSLOG": "",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py"), "slow_wsgi"],
        cwd=Path(__file__).parent,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while _get(base + "/", 1) != 200:
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.2)
        start = time.monotonic()
        assert _get(base + "/sleep", 30) is None  # the worker was killed mid-request
        assert time.monotonic() - start < 15
        deadline = time.monotonic() + 20
        while _get(base + "/", 1) != 200:  # a fresh worker serves the next request
            assert time.monotonic() < deadline, "no worker came back"
            time.sleep(0.2)
    finally:
        server.terminate()
        _, err = server.communicate(timeout=20)
    assert b"WORKER TIMEOUT" in err
