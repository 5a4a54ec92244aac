"""A whole run as one zip, streamed: the zip is made while it is sent, block by block, so a run
of any size never sits in memory or on disk a second time.

zipfile writes to a stream it cannot seek in by putting each member's sizes and CRC in a data
descriptor after its bytes (APPNOTE 4.3.9), which every unzip tool reads.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

BLOCK = 1 << 20
ZIP64_FROM = 1 << 31


class _Sink:
    """A write-only, unseekable file object whose bytes are taken away after each write."""

    def __init__(self) -> None:
        self._chunks: list[bytes] = []

    def write(self, data: bytes) -> int:
        if data:
            self._chunks.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self._chunks)
        self._chunks.clear()
        return out


def iter_zip(members: Iterable[tuple[str, Path, int]], *, folder: str) -> Iterator[bytes]:
    """Yield a zip of `members` (name, path, size), each stored under `folder`/.

    Deflate at level 1: NDJSON and CSV shrink several-fold even so, and a web worker spends
    little CPU per byte sent."""
    sink = _Sink()
    with zipfile.ZipFile(sink, mode="w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as zf:
        for name, path, size in members:
            # ZIP64 chosen up front for a member near the 4 GiB limit of plain zip.
            big = size > ZIP64_FROM
            with open(path, "rb") as source, zf.open(
                f"{folder}/{name}", mode="w", force_zip64=big
            ) as target:  # fmt: skip
                while block := source.read(BLOCK):
                    target.write(block)
                    if chunk := sink.take():
                        yield chunk
            if chunk := sink.take():
                yield chunk
    if chunk := sink.take():
        yield chunk
