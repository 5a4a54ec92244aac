"""A WSGI app for tests/config/test_gunicorn.py: /sleep never finishes in time, / answers."""

import time


def application(environ, start_response):
    if environ.get("PATH_INFO") == "/sleep":
        time.sleep(60)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
