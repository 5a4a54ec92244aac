"""Small helpers for reading settings from the environment.

Secrets may come from `NAME` or from a file named by `NAME_FILE` (Docker/Kubernetes secrets),
as in healthchecks' `envsecret`.
"""

from __future__ import annotations

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()


def envsecret(name: str, *, required: bool, default: str = "") -> str:
    """Read a secret from NAME or from the file named by NAME_FILE.

    With `required`, an absent secret stops start-up with a message naming the variable.
    """
    value = env.str(name, default="")
    file_path = env.str(f"{name}_FILE", default="")
    if not value and file_path:
        try:
            value = Path(file_path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE={file_path} cannot be read: {exc}") from exc
    if not value and required:
        raise ImproperlyConfigured(
            f"{name} (or {name}_FILE) must be set: there is no default for a secret in production."
        )
    return value or default
