"""SMART Backend Services: client registration, client-assertion checks, access tokens.

Signatures are checked by joserfc (a maintained JOSE library), never by hand. Access tokens are
random, short-lived, stored only as their SHA-256, and scoped to the client's destination.
See https://hl7.org/fhir/smart-app-launch/backend-services.html.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey, import_key, thumbprint

from accounts.request_limits import JsonTooDeep, json_loads
from registry_export.formats import fhir as fhir_format
from registry_export.models import (
    BulkAccessToken,
    BulkAssertionUse,
    BulkClient,
    Destination,
)

# RS384 and ES384 as the SMART Backend Services profile requires of servers.
ALGORITHMS = ["RS384", "ES384"]
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_MAX_LIFETIME = timedelta(minutes=5)
CLOCK_SKEW = timedelta(seconds=30)
TOKEN_LIFETIME = timedelta(minutes=5)
SCOPE_ACTIONS = ("read", "rs")
# A signed JWT of a few claims is well under 2 KB even with an RSA-4096 signature.
ASSERTION_MAX_LENGTH = 16_384


class OAuthError(Exception):
    """A refused token request: an OAuth 2.0 error code, a description and the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400, client_id: str = ""):
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status
        self.client_id = client_id


def exported_types() -> list[str]:
    return list(fhir_format.RESOURCE_FILES)


# --- Registering a client -----------------------------------------------------------------------


def public_jwks_from(data: bytes) -> dict:
    """The public keys of a JWKS, a single JWK or a PEM file, each with a kid (its thumbprint
    unless it has one). Private members are dropped; only RSA and P-384 EC keys are kept."""
    text = data.decode("utf-8", errors="replace").strip()
    keys = []
    if text.startswith("{"):
        try:
            parsed = json_loads(text)
        except JsonTooDeep as exc:
            raise ValidationError({"public_key": str(exc)}) from exc
        except json.JSONDecodeError as exc:
            raise ValidationError({"public_key": f"Not valid JSON: {exc.msg}."}) from exc
        raw = parsed.get("keys", [parsed]) if isinstance(parsed, dict) else []
        for item in raw:
            try:
                keys.append((import_key(item), item.get("kid")))
            except (JoseError, ValueError, TypeError, KeyError) as exc:
                raise ValidationError({"public_key": f"A key could not be read: {exc}"}) from exc
    else:
        for key_type in ("RSA", "EC"):
            try:
                keys.append((import_key(text.encode(), key_type), None))
                break
            except (JoseError, ValueError, TypeError):
                continue
        else:
            raise ValidationError(
                {"public_key": "Not a JWKS, a JWK or a PEM public key (RSA or EC P-384)."}
            )
    out = []
    for key, kid in keys:
        if not isinstance(key, RSAKey | ECKey):
            raise ValidationError({"public_key": "Only RSA and EC (P-384) keys are accepted."})
        public = key.as_dict(private=False)
        if isinstance(key, ECKey) and public.get("crv") != "P-384":
            raise ValidationError({"public_key": "EC keys must use the P-384 curve (ES384)."})
        for member in ("key_ops", "use", "alg"):
            public.pop(member, None)
        public["kid"] = kid or thumbprint(public)
        out.append(public)
    if not out:
        raise ValidationError({"public_key": "The file holds no key."})
    return {"keys": out}


@transaction.atomic
def bulk_client_register(*, destination: Destination, name: str, public_key: bytes) -> BulkClient:
    if not destination.format_fhir:
        raise ValidationError(
            {"destination": f"{destination.name} does not export FHIR, so Bulk Data has nothing."}
        )
    client = BulkClient(
        client_id=secrets.token_urlsafe(24),
        name=(name or "").strip(),
        destination=destination,
        jwks=public_jwks_from(public_key),
    )
    client.full_clean()
    client.save()
    return client


@transaction.atomic
def bulk_client_revoke(*, client: BulkClient) -> bool:
    """Switch a client off for good: its access tokens stop working at once (they are deleted)
    and the token endpoint refuses its assertions. True if it was active."""
    was_active = client.is_active
    client.is_active = False
    client.save(update_fields=["is_active"])
    BulkAccessToken.objects.filter(client=client).delete()
    return was_active


# --- The token endpoint ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Grant:
    client: BulkClient
    access_token: str
    scope: str
    expires_in: int


def _jws_json(segment: str):
    """A JWS header or payload segment, parsed within the JSON depth limit. joserfc parses
    them again with Python's json, which a deeply nested one would crash: this runs first."""
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as exc:
        raise OAuthError("invalid_request", "The client assertion is not a compact JWS.") from exc
    try:
        return json_loads(raw)
    except JsonTooDeep as exc:
        raise OAuthError("invalid_request", f"The client assertion is refused: {exc}") from exc
    except ValueError as exc:
        raise OAuthError("invalid_request", "The client assertion is not a compact JWS.") from exc


def _unverified_claims(assertion: str) -> dict:
    if len(assertion) > ASSERTION_MAX_LENGTH:
        raise OAuthError("invalid_request", "The client assertion is too long.")
    segments = assertion.split(".")
    if len(segments) != 3:
        raise OAuthError("invalid_request", "The client assertion is not a compact JWS.")
    if not isinstance(_jws_json(segments[0]), dict):
        raise OAuthError("invalid_request", "The client assertion's header is not an object.")
    claims = _jws_json(segments[1])
    try:
        jws.extract_compact(assertion.encode())
    except (JoseError, ValueError, UnicodeError) as exc:
        raise OAuthError("invalid_request", "The client assertion is not a compact JWS.") from exc
    if not isinstance(claims, dict):
        raise OAuthError("invalid_request", "The client assertion's payload is not an object.")
    return claims


def _verify(client: BulkClient, assertion: str) -> dict:
    """The assertion's claims if one of the client's keys signed it with RS384 or ES384."""
    header = jws.extract_compact(assertion.encode()).headers()
    if header.get("alg") not in ALGORITHMS:
        raise OAuthError(
            "invalid_client",
            f"Algorithm {header.get('alg')!r} is not accepted; use RS384 or ES384.",
            401,
            client.client_id,
        )
    keys = KeySet.import_key_set(client.jwks).keys
    kid = header.get("kid")
    # Choose the key by kid where the client names one we know; otherwise try each key.
    candidates = [k for k in keys if kid and k.kid == kid] or keys
    for key in candidates:
        try:
            return jwt.decode(assertion, key, algorithms=ALGORITHMS).claims
        except JoseError:
            continue
    raise OAuthError(
        "invalid_client",
        "The client assertion's signature does not match any registered key of the client.",
        401,
        client.client_id,
    )


def _granted_scope(requested: str, destination: Destination) -> str:
    """The requested system/<type>.read (or .rs) scopes this server can grant."""
    known = set(exported_types())
    granted = []
    for item in (requested or "system/*.read").split():
        context, _, rest = item.partition("/")
        rtype, _, action = rest.partition(".")
        if context != "system" or action not in SCOPE_ACTIONS:
            continue
        if rtype == "*" or rtype in known:
            granted.append(item)
    if not granted:
        raise OAuthError(
            "invalid_scope",
            "No requested scope can be granted: ask for system/*.read or system/<type>.read with "
            f"a type of {', '.join(sorted(known))}.",
        )
    return " ".join(granted)


def token_issue(*, form: dict, token_url: str, now: datetime | None = None) -> Grant:
    """Check a client_credentials request with a signed JWT assertion; issue an access token."""
    now = now or timezone.now()
    if form.get("grant_type") != "client_credentials":
        raise OAuthError("unsupported_grant_type", "grant_type must be client_credentials.")
    if form.get("client_assertion_type") != ASSERTION_TYPE:
        raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}.")
    assertion = form.get("client_assertion") or ""
    if not assertion:
        raise OAuthError("invalid_request", "client_assertion is missing.")
    unverified = _unverified_claims(assertion)
    client_id = str(unverified.get("iss") or "")
    client = BulkClient.objects.select_related("destination").filter(
        client_id=client_id, is_active=True, destination__is_active=True
    )
    client = client.first()
    if client is None:
        raise OAuthError("invalid_client", "Unknown client (iss).", 401, client_id[:64])
    claims = _verify(client, assertion)
    _check_claims(client, claims, token_url, now)
    scope = _granted_scope(form.get("scope", ""), client.destination)
    token = secrets.token_urlsafe(32)
    BulkAccessToken.objects.create(
        client=client,
        token_sha256=hashlib.sha256(token.encode()).hexdigest(),
        scope=scope,
        created_at=now,
        expires_at=now + TOKEN_LIFETIME,
    )
    return Grant(client, token, scope, int(TOKEN_LIFETIME.total_seconds()))


def _check_claims(client: BulkClient, claims: dict, token_url: str, now: datetime) -> None:
    def refuse(description: str) -> OAuthError:
        return OAuthError("invalid_grant", description, 400, client.client_id)

    if claims.get("sub") != client.client_id or claims.get("iss") != client.client_id:
        raise refuse("iss and sub must both be the client id.")
    aud = claims.get("aud")
    if aud != token_url and not (isinstance(aud, list) and token_url in aud):
        raise refuse(f"aud must be the token URL {token_url}.")
    exp = claims.get("exp")
    if not isinstance(exp, int | float):
        raise refuse("exp is missing.")
    expires = datetime.fromtimestamp(exp, tz=UTC)
    if expires <= now - CLOCK_SKEW:
        raise refuse("The client assertion has expired.")
    if expires > now + ASSERTION_MAX_LIFETIME + CLOCK_SKEW:
        raise refuse("exp must be at most five minutes ahead.")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise refuse("jti is missing.")
    BulkAssertionUse.objects.filter(expires_at__lt=now - CLOCK_SKEW).delete()
    try:
        with transaction.atomic():
            BulkAssertionUse.objects.create(client=client, jti=jti, expires_at=expires)
    except IntegrityError as exc:
        raise refuse("This client assertion (jti) has been used already.") from exc


# --- Bearer tokens on the data endpoints ---------------------------------------------------------


@dataclass(frozen=True)
class Access:
    client: BulkClient
    types: frozenset[str]


def access_for(*, authorization: str, now: datetime | None = None) -> Access | None:
    """The client and the resource types a bearer token allows, or None if it is not valid."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    digest = hashlib.sha256(token.strip().encode()).hexdigest()
    row = (
        BulkAccessToken.objects.select_related("client__destination")
        .filter(
            token_sha256=digest,
            expires_at__gt=now or timezone.now(),
            client__is_active=True,
            client__destination__is_active=True,
        )
        .first()
    )
    if row is None:
        return None
    types: set[str] = set()
    for item in row.scope.split():
        rtype = item.partition("/")[2].partition(".")[0]
        types.update(exported_types() if rtype == "*" else [rtype])
    return Access(row.client, frozenset(types))
