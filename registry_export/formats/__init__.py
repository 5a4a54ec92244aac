"""Export formats. Each writer turns PatientData into lines of its partition's files; every
partition's files are published as they are, side by side, and the manifest lists them all
(DESIGN.md section 5: no byte is written twice)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import IO


class PartFiles:
    """Append-only files in one folder, counting records and hashing bytes as they are written."""

    def __init__(self, directory: Path, names: list[str], headers: dict[str, bytes] | None = None):
        self.directory = directory
        self._handles: dict[str, IO[bytes]] = {}
        self._hashes: dict[str, hashlib._Hash] = {}
        self._counts: dict[str, int] = {}
        self._bytes: dict[str, int] = {}
        for name in names:
            # Buffered binary writes; 1 MiB keeps system calls few without growing with the run.
            self._handles[name] = open(directory / name, "wb", buffering=1 << 20)  # noqa: SIM115
            self._hashes[name] = hashlib.sha256()
            self._counts[name] = 0
            self._bytes[name] = 0
            # A header line (the REDCap CSV's) starts every partition's file: each file stands
            # alone. It counts in bytes and checksum, not as a record.
            if headers and name in headers:
                self.write(name, headers[name], count=0)

    def write(self, name: str, data: bytes, count: int = 1) -> None:
        self._handles[name].write(data)
        self._hashes[name].update(data)
        self._counts[name] += count
        self._bytes[name] += len(data)

    def close(self) -> dict[str, dict]:
        summary = {}
        for name, handle in self._handles.items():
            handle.flush()
            handle.close()
            summary[name] = {
                "sha256": self._hashes[name].hexdigest(),
                "bytes": self._bytes[name],
                "count": self._counts[name],
            }
        return summary

    def abort(self) -> None:
        for handle in self._handles.values():
            handle.close()
