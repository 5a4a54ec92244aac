"""Fixtures for clinic tests: the consent tests' verified clinicians, grants and API client."""

from tests.consent.conftest import (  # noqa: F401 - fixtures, found by name
    _consent_defaults,
    _fast_password_hasher,
    api_client,
    carol_grant,
    carol_verified,
)
