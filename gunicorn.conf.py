"""gunicorn settings, read by `gunicorn config.wsgi` from the repository root (gunicorn loads
./gunicorn.conf.py by itself). Every value can be changed from the environment.

A request that runs past GUNICORN_TIMEOUT seconds has its worker killed and replaced, so that no
single request (however it was made slow) can hold a worker, and with it the site, for long.
The app bounds its own work (diary/dates.py: periods of at most ten years; JSON depth and size:
accounts/request_limits.py); this is the backstop.
"""

import multiprocessing
import os


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
workers = _int("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1)
# Sync workers: the hard per-request timeout applies to each request.
worker_class = "sync"
timeout = _int("GUNICORN_TIMEOUT", 30)
graceful_timeout = _int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = _int("GUNICORN_KEEPALIVE", 5)
# Recycle workers now and then (memory growth from any library never accumulates for long).
max_requests = _int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = _int("GUNICORN_MAX_REQUESTS_JITTER", 200)
# Request line and headers: small limits (an attacker's 1 MB header is refused by gunicorn).
limit_request_line = _int("GUNICORN_LIMIT_REQUEST_LINE", 8190)
limit_request_fields = _int("GUNICORN_LIMIT_REQUEST_FIELDS", 100)
limit_request_field_size = _int("GUNICORN_LIMIT_REQUEST_FIELD_SIZE", 8190)
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "-") or None
# The proxy in front terminates TLS and sets X-Forwarded-Proto (settings.SECURE_PROXY_SSL_HEADER).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")
