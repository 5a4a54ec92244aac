"""Helpers of the Bulk Data tests: client keys, signed assertions, tokens, kick-offs."""

from __future__ import annotations

import io
import json
import time
import uuid

from django.core.management import call_command
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

TOKEN_URL = "http://testserver/fhir/auth/token"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
FHIR = "/fhir/"
KICKOFF_HEADERS = {"HTTP_ACCEPT": "application/fhir+json", "HTTP_PREFER": "respond-async"}


def register(destination, key, tmp_path, name="registry-backend", as_pem=True) -> str:
    """Register a client with `key`'s public half (PEM or JWKS file) through the command."""
    path = tmp_path / f"{name}-{uuid.uuid4().hex}.{'pem' if as_pem else 'json'}"
    if as_pem:
        path.write_bytes(key.as_pem(private=False))
    else:
        path.write_text(json.dumps({"keys": [key.as_dict(private=False)]}))
    out = io.StringIO()
    call_command(
        "export_client",
        destination=destination.name,
        name=name,
        public_key=str(path),
        stdout=out,
    )
    last = out.getvalue().strip().splitlines()[-1]
    assert last.startswith("client_id: ")
    return last.removeprefix("client_id: ")


def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, private=True)


def ec_key() -> ECKey:
    return ECKey.generate_key("P-384", private=True)


def assertion(client_id: str, key, *, alg: str = "RS384", **claims) -> str:
    body = {
        "iss": client_id,
        "sub": client_id,
        "aud": TOKEN_URL,
        "exp": int(time.time()) + 240,
        "jti": uuid.uuid4().hex,
    }
    body.update(claims)
    body = {k: v for k, v in body.items() if v is not None}
    return jwt.encode({"alg": alg, "typ": "JWT"}, body, key, algorithms=[alg])


def token_request(client, client_id: str, key, *, alg="RS384", scope="system/*.read", **claims):
    return client.post(
        f"{FHIR}auth/token",
        {
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": assertion(client_id, key, alg=alg, **claims),
            "scope": scope,
        },
    )


def bearer(client, client_id: str, key) -> dict:
    response = token_request(client, client_id, key)
    assert response.status_code == 200, response.content
    return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access_token']}"}


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content
