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
        "vapid": new_vapid_keys(),
    }


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def new_vapid_keys() -> dict:
    """A Web Push (VAPID, RFC 8292) P-256 key pair: the raw 32-byte private scalar and the
    uncompressed 65-byte public point, base64url without padding (what pywebpush and the
    browser's applicationServerKey take)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

    key = ec.generate_private_key(ec.SECP256R1())
    private = key.private_numbers().private_value.to_bytes(32, "big")
    public = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    return {"private_key": _b64url(private), "public_key": _b64url(public)}


def ensure_vapid_keys(path: Path, material: dict) -> dict:
    """Key files made before Web Push reminders existed lack a VAPID pair: add one, once.

    The new file is written beside the old and renamed over it; if two processes race, both
    write a pair but the later rename wins, and each re-reads the file so all agree on it."""
    if "vapid" in material:
        return material
    updated = {**material, "vapid": new_vapid_keys()}
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(updated, handle, indent=2)
    os.replace(tmp, path)
    return json.loads(path.read_text(encoding="utf-8"))


def ensure_local_key_file(path: Path) -> dict:
    """Return the key file's contents, creating it (mode 0600) if it does not exist yet."""
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # O_EXCL so that two processes starting at once cannot each write different keys.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return ensure_vapid_keys(path, json.loads(path.read_text(encoding="utf-8")))
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
