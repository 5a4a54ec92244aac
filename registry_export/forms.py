"""Forms of the researcher pages."""

from __future__ import annotations

import json

from django import forms

from registry_export.models import Destination

# A JWKS or PEM public key is a few KiB; anything much larger is not a key file.
MAX_KEY_FILE_BYTES = 64 * 1024


class ClientRegisterForm(forms.Form):
    destination = forms.ModelChoiceField(
        queryset=Destination.objects.none(),
        empty_label=None,
        help_text="The registry's data this client may fetch (destinations exporting FHIR).",
        error_messages={
            "invalid_choice": "Choose one of your destinations that exports FHIR: you cannot "
            "register a client for another destination."
        },
    )
    name = forms.CharField(
        max_length=120, help_text="A name you will recognise, such as the registry's server."
    )
    public_key = forms.FileField(
        label="Public key file",
        help_text="The client's public key as a JWKS or JWK (.json) or a PEM file; RSA or "
        "EC P-384 (RS384 or ES384). Never upload a private key: only its public part is kept.",
    )

    def __init__(self, *args, destinations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["destination"].queryset = destinations

    def clean_public_key(self) -> bytes:
        upload = self.cleaned_data["public_key"]
        if upload.size > MAX_KEY_FILE_BYTES:
            raise forms.ValidationError(
                f"The file is {upload.size:,} bytes; a public key file is at most "
                f"{MAX_KEY_FILE_BYTES // 1024} KiB."
            )
        data = upload.read()
        if not data.strip():
            raise forms.ValidationError("The file is empty.")
        if _holds_private_key(data):
            # Refused rather than quietly reduced to its public half: the registry should know
            # its private key has left its server, and make a new one.
            raise forms.ValidationError(
                "This file holds a private key. Upload only the public key (a JWKS without the "
                "private members, or a PEM 'PUBLIC KEY'), and replace a private key that has "
                "been sent anywhere."
            )
        return data


def _holds_private_key(data: bytes) -> bool:
    if b"PRIVATE KEY" in data:
        return True
    try:
        parsed = json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return False
    keys = parsed.get("keys", [parsed]) if isinstance(parsed, dict) else []
    # "d" is the private member of RSA and EC JWKs (RFC 7518 sections 6.2.2 and 6.3.2).
    return any(isinstance(k, dict) and "d" in k for k in keys)
