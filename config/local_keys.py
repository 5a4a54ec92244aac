"""The git-ignored key file of the embedded (non-production) mode.

Production reads its secret key and key-encryption keys from the environment only. A person
trying the app out gets a file of random keys made at first run, so nothing secret is committed.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path


def _new_key_material() -> dict:
    return {
        "secret_key": secrets.token_urlsafe(50),
        "keks": [
            {
                "id": f"local-{secrets.token_hex(4)}",
                "key": base64.b64encode(os.urandom(32)).decode(),
            }
        ],
    }


def ensure_local_key_file(path: Path) -> dict:
    """Return the key file's contents, creating it (mode 0600) if it does not exist yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL so that two processes starting at once cannot each write different keys.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return json.loads(path.read_text(encoding="utf-8"))
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        material = _new_key_material()
        json.dump(material, handle, indent=2)
    return material


def parse_kek_list(raw: str) -> list[tuple[str, bytes]]:
    """Parse `id:base64key,id2:base64key2` (the first wraps new data keys, all unwrap)."""
    keks: list[tuple[str, bytes]] = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        kid, sep, b64 = item.partition(":")
        if not sep or not kid:
            raise ValueError("each key-encryption key must be written as id:base64key")
        key = base64.b64decode(b64, validate=True)
        if len(key) != 32:
            raise ValueError(f"key-encryption key {kid!r} must be 32 bytes (256 bits)")
        keks.append((kid, key))
    return keks
