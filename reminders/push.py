"""Web Push: checking a browser's subscription, and sending to it with VAPID (RFC 8292) and
aes128gcm payload encryption (RFC 8291), through pywebpush."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import json
import logging
from dataclasses import dataclass
from functools import cache
from urllib.parse import urlsplit

import requests
from django.conf import settings
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

logger = logging.getLogger(__name__)

P256DH_BYTES = 65  # an uncompressed P-256 point (RFC 8291 section 3.1)
AUTH_BYTES = 16  # the authentication secret (RFC 8291 section 3.2)
# The push service may hold a reminder this long for an offline device; after that it is stale.
PUSH_TTL_SECONDS = 12 * 60 * 60
PUSH_TIMEOUT_SECONDS = 10
GONE = {404, 410}  # RFC 8030 section 7.3: the subscription is no more; never retry it


_B64URL = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")


def _b64url_bytes(value: str) -> bytes | None:
    if not isinstance(value, str) or not value or len(value) > 200:
        return None
    if any(
        c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=" for c in value
    ):
        return None
    try:
        return base64.urlsafe_b64decode(value.rstrip("=") + "=" * (-len(value.rstrip("=")) % 4))
    except (binascii.Error, ValueError):
        return None


def _internal_host(host: str) -> tuple[bool, bool]:
    """(loopback, internal): a push service is on the public internet, never our own network."""
    if host == "localhost":
        return True, True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False, False
    internal = address.is_private or address.is_loopback or address.is_link_local
    return address.is_loopback, internal or address.is_reserved or address.is_multicast


def endpoint_ok(endpoint: object) -> bool:
    """An https URL on a public host; plain http to the loopback only in tests and DEBUG."""
    if not isinstance(endpoint, str) or len(endpoint) > 1000:
        return False
    try:
        parts = urlsplit(endpoint)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return False
    if not host or parts.username or parts.password:
        return False
    loopback, internal = _internal_host(host)
    if loopback and settings.REMINDERS_ALLOW_LOOPBACK_PUSH:
        return parts.scheme in ("http", "https")
    return parts.scheme == "https" and not internal


def subscription_problems(*, endpoint: object, p256dh: object, auth: object) -> dict[str, str]:
    """Field -> message for each part of a subscription that cannot be used."""
    problems: dict[str, str] = {}
    if not endpoint_ok(endpoint):
        problems["endpoint"] = "The push endpoint must be an https:// address of a push service."
    key = _b64url_bytes(p256dh)  # type: ignore[arg-type]
    if key is None or len(key) != P256DH_BYTES or key[0] != 0x04:
        problems["p256dh"] = (
            "The p256dh key must be a base64url P-256 public key (65 bytes, uncompressed)."
        )
    secret = _b64url_bytes(auth)  # type: ignore[arg-type]
    if secret is None or len(secret) != AUTH_BYTES:
        problems["auth"] = "The auth secret must be 16 bytes, base64url-encoded."
    return problems


@cache
def _vapid(private_key: str) -> Vapid:
    return Vapid.from_string(private_key)


@dataclass(frozen=True)
class PushOutcome:
    ok: bool
    gone: bool = False


def push_send(
    *, endpoint: str, p256dh: str, auth: str, payload: dict, session: requests.Session
) -> PushOutcome:
    """Encrypt and post one message; a 404/410 answer means the subscription is dead."""
    try:
        webpush(
            {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
            data=json.dumps(payload),
            vapid_private_key=_vapid(settings.VAPID_PRIVATE_KEY),
            vapid_claims={"sub": f"mailto:{settings.DEFAULT_FROM_EMAIL}"},
            ttl=PUSH_TTL_SECONDS,
            timeout=PUSH_TIMEOUT_SECONDS,
            requests_session=session,
        )
    except WebPushException as exc:
        status = getattr(exc.response, "status_code", None)
        if status in GONE:
            return PushOutcome(ok=False, gone=True)
        logger.warning("web push failed with status %s", status)
        return PushOutcome(ok=False)
    except requests.RequestException as exc:
        logger.warning("web push failed: %s", type(exc).__name__)
        return PushOutcome(ok=False)
    return PushOutcome(ok=True)
