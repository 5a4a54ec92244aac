"""Sign-in lockout that an attacker cannot turn into a weapon (issue 16), on top of django-axes.

The old rule (five failures lock the account everywhere; five from one address lock everyone
behind it) let anyone lock a patient out by typing wrong passwords, and let one person lock a
whole hospital network. Now:

1. Account AND address together: failures count per (account, address) pair
   (AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]). Someone else's wrong passwords from
   another address never lock the owner out.
2. Progressive delay: a pair that keeps failing while locked is locked for longer each time
   (LOCK_BASE doubled per further failure, at most LOCK_MAX). A guesser at one address slows
   to a crawl; nobody else notices.
3. Per address, a limit that scales with the people who use it: an address may fail
   ADDRESS_BASE_LIMIT times an hour, plus ADDRESS_PER_ACCOUNT for every account that has signed
   in from it (a hospital network has many). Past the limit, only accounts that have signed in
   from that address before keep signing in there; a sprayer trying other accounts is refused.
4. Per account, across addresses: past ACCOUNT_LIMIT failures an hour (a botnet guessing one
   account from many addresses), only addresses the account has signed in from keep working.
5. The way back in is always the password reset email: a new password clears every lock of
   the account, and the address the reset was finished from becomes one it has signed in from.

Counters live in the shared cache (Redis in production: every process sees them); accounts and
addresses are stored as keyed hashes, never in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import time
from datetime import timedelta

from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_ip_address
from django.conf import settings
from django.core.cache import cache
from django.http import JsonResponse
from django.shortcuts import render

LOCK_BASE = timedelta(minutes=15)
LOCK_MAX = timedelta(hours=24)
WINDOW_SECONDS = 60 * 60
KNOWN_SECONDS = 60 * 60 * 24 * 30
ADDRESS_BASE_LIMIT = 30
ADDRESS_PER_ACCOUNT = 10
ACCOUNT_LIMIT = 50
_PREFIX = "lockout"
LOCKED_MESSAGE = (
    "Too many failed attempts: signing in to this account from here is paused. "
    "A password reset by email ends the pause at once."
)


def _now() -> float:
    return time.time()


def _digest(*parts: str) -> str:
    message = "\x1f".join(parts).encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:32]


def username_from(request, credentials: dict | None) -> str | None:
    """The account a sign-in names (AXES_USERNAME_CALLABLE): the lower-cased email, whichever
    field carried it (allauth's login form, the API token endpoint, axes' own credentials)."""
    for source in (credentials or {}, getattr(request, "POST", {}) or {}):
        for field in ("email", "username", "login"):
            value = source.get(field)
            if isinstance(value, str) and value.strip():
                return value.strip().lower()
    return None


def client_address(request) -> str | None:
    """AXES_CLIENT_IP_CALLABLE: the client's address. Behind TRUSTED_PROXY_COUNT proxies (each
    appending to X-Forwarded-For), the entry that many places from the right is the address the
    outermost trusted proxy saw; anything further left is client-supplied and ignored. Without
    this, every person behind the proxy would share one address and the rules above would lock
    them out together."""
    remote = request.META.get("REMOTE_ADDR") or None  # axes stores None, never "-"
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if count <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    if len(hops) < count:
        return remote
    try:
        return str(ipaddress.ip_address(hops[-count]))
    except ValueError:
        return remote


def _address(request) -> str:
    return getattr(request, "axes_ip_address", None) or get_client_ip_address(request) or "-"


# --- Keys -----------------------------------------------------------------------------------
def _generation(account: str) -> int:
    return cache.get(f"{_PREFIX}:gen:{_digest(account)}", 0)


def _pair_key(kind: str, account: str, address: str) -> str:
    return f"{_PREFIX}:{kind}:{_generation(account)}:{_digest(account, address)}"


def _known_key(account: str, address: str) -> str:
    return f"{_PREFIX}:known:{_digest(account, address)}"


def _count_up(key: str, ttl: int) -> int:
    if cache.add(key, 1, ttl):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, ttl)
        return 1


# --- What the rules read --------------------------------------------------------------------
def lock_duration(level: int) -> timedelta:
    """LOCK_BASE doubled per further failure while locked, at most LOCK_MAX."""
    return min(LOCK_BASE * (2 ** max(0, min(level, 16))), LOCK_MAX)


def is_known(account: str, address: str) -> bool:
    return bool(cache.get(_known_key(account, address)))


def address_limit(address: str) -> int:
    known = cache.get(f"{_PREFIX}:known-count:{_digest(address)}", 0)
    return ADDRESS_BASE_LIMIT + ADDRESS_PER_ACCOUNT * known


def pair_locked_until(account: str, address: str) -> float:
    return cache.get(_pair_key("until", account, address), 0.0)


def refused(request, account: str | None) -> bool:
    """Rules 2-4 (axes applies rule 1 itself)."""
    if not account:
        return False
    address = _address(request)
    if pair_locked_until(account, address) > _now():
        return True
    if is_known(account, address):
        return False
    address_failures = cache.get(f"{_PREFIX}:addr-fail:{_digest(address)}", 0)
    if address_failures >= address_limit(address):
        return True
    account_failures = cache.get(_pair_key("acct-fail", account, ""), 0)
    return account_failures >= ACCOUNT_LIMIT


# --- What the rules write -------------------------------------------------------------------
def failure_record(request, account: str | None, *, pair_locked: bool) -> None:
    address = _address(request)
    _count_up(f"{_PREFIX}:addr-fail:{_digest(address)}", WINDOW_SECONDS)
    if not account:
        return
    _count_up(_pair_key("acct-fail", account, ""), WINDOW_SECONDS)
    if pair_locked:
        level = _count_up(_pair_key("level", account, address), int(LOCK_MAX.total_seconds()))
        duration = lock_duration(level - 1)
        cache.set(
            _pair_key("until", account, address),
            _now() + duration.total_seconds(),
            int(duration.total_seconds()),
        )


def known_add(account: str, address: str) -> None:
    """The account has signed in (or finished a reset) from this address."""
    if cache.add(_known_key(account, address), 1, KNOWN_SECONDS):
        _count_up(f"{_PREFIX}:known-count:{_digest(address)}", KNOWN_SECONDS)
    else:
        cache.touch(_known_key(account, address), KNOWN_SECONDS)


def account_unlock(*, account: str, request=None) -> None:
    """A new password: every lock of the account ends (axes' records of it and the progressive
    locks, by moving the account to a new key generation), and the address the reset was
    finished from becomes known for it."""
    account = account.lower()
    AxesProxyHandler.reset_attempts(username=account)
    key = f"{_PREFIX}:gen:{_digest(account)}"
    cache.set(key, _generation(account) + 1, None)
    if request is not None:
        known_add(account, _address(request))


class LockoutHandler(AxesDatabaseHandler):
    """AXES_HANDLER: axes' database handler (rule 1) plus rules 2-4 above."""

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        if super().is_locked(request, credentials):
            return True
        return refused(request, username_from(request, credentials))

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None:
            return
        account = username_from(request, credentials)
        pair_locked = bool(getattr(request, "axes_locked_out", False))
        failure_record(request, account, pair_locked=pair_locked)
        if not pair_locked and refused(request, account):
            # Refused by rules 2-4: show the lockout page (429), not "wrong password".
            request.axes_locked_out = True
            request.axes_credentials = credentials

    def user_logged_in(self, sender, request, user, **kwargs):
        super().user_logged_in(sender, request, user, **kwargs)
        known_add(user.get_username().lower(), _address(request))


def lockout_response(request, original_response=None, credentials=None):
    """AXES_LOCKOUT_CALLABLE: API clients get JSON, people get the page that says what to do."""
    if request.path_info.startswith(("/api/", "/fhir/")):
        return JsonResponse({"detail": LOCKED_MESSAGE}, status=429)
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, status=429)
