"""The access log is sealed into a hash chain, so that an edited or deleted row is found.

- Each row carries `row_hash`, a hash of its own content, written with the row (no lock: the
  hot path of every page view stays free of contention).
- A sealer (`seal`, the Celery beat task consent.tasks.access_log_seal every minute, and
  `manage.py access_log_verify`) appends each committed row not yet sealed to
  `AccessLogSeal`: position, row id and a link hash over the previous link and the row's hash.
  Sealing takes a transaction-scoped advisory lock for its own short transaction only, so any
  number of processes may seal; rows are sealed in the order they are found committed.
- `verify` recomputes both: a row whose content no longer matches its hash was edited; a seal
  whose row is gone, or whose link no longer matches, shows a deletion or an edit of the hash.
Both tables are append-only for the application's database role (`db_app_role`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connection, transaction

from consent.models import AccessLogEvent, AccessLogSeal

GENESIS = "0" * 64
_LOCK_KEY = 0x5A0C_10C5  # the sealer's advisory lock


def content_hash(row: AccessLogEvent) -> str:
    return row.content_hash()


def link_hash(prev: str, seq: int, event_id: int, row_hash: str) -> str:
    return hashlib.sha256(f"{prev}\x1f{seq}\x1f{event_id}\x1f{row_hash}".encode()).hexdigest()


def hashed(rows: Iterable[AccessLogEvent]) -> list[AccessLogEvent]:
    """The rows, each with its content hash set: every insert goes through here."""
    rows = list(rows)
    for row in rows:
        row.row_hash = content_hash(row)
    return rows


def seal(limit: int = 20_000) -> int:
    """Seal up to `limit` committed rows not yet sealed; the number sealed."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        last = AccessLogSeal.objects.order_by("-seq").values("seq", "link_hash").first()
        seq, prev = (last["seq"], last["link_hash"]) if last else (0, GENESIS)
        pending = (
            AccessLogEvent.objects.filter(seal__isnull=True)
            .order_by("id")
            .values_list("id", "row_hash")[:limit]
        )
        seals = []
        for event_id, row_hash in pending:
            seq += 1
            prev = link_hash(prev, seq, event_id, row_hash)
            seals.append(AccessLogSeal(seq=seq, event_id=event_id, link_hash=prev))
        AccessLogSeal.objects.bulk_create(seals)
    return len(seals)


@dataclass
class Break:
    where: str
    reason: str


def verify(batch: int = 5000) -> Iterator[Break]:
    """Every place where what is stored differs from what the hashes say."""
    for row in AccessLogEvent.objects.order_by("id").iterator(chunk_size=batch):
        if content_hash(row) != row.row_hash:
            yield Break(f"row id {row.pk}", "its content does not match its hash (edited)")
    hashes = dict(AccessLogEvent.objects.values_list("id", "row_hash").iterator(chunk_size=batch))
    prev, expected = GENESIS, 1
    for item in AccessLogSeal.objects.order_by("seq").iterator(chunk_size=batch):
        where = f"seal {item.seq} (row id {item.event_id})"
        if item.seq != expected:
            yield Break(where, f"seal {expected} is missing")
        row_hash = hashes.get(item.event_id)
        if row_hash is None:
            yield Break(where, "its row is gone (deleted)")
        elif link_hash(prev, item.seq, item.event_id, row_hash) != item.link_hash:
            yield Break(where, "the chain does not match here (a hash edited or a seal changed)")
        prev, expected = item.link_hash, item.seq + 1


def unsealed() -> int:
    return AccessLogEvent.objects.filter(seal__isnull=True).count()
