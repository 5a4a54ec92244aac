"""Where a run's files live, and the atomic steps that make them appear all at once.

    <REGISTRY_EXPORT_ROOT>/<destination id>/run-<id>/            finished files (only after success)
    <REGISTRY_EXPORT_ROOT>/<destination id>/run-<id>.parts/      part files of the partitions
    .../run-<id>.parts/a<attempt>-p<index>/                      one finished partition
    *.tmp-<random>                                              being written; never read

A folder is written under a .tmp- name and renamed into place when complete (rename is atomic
on one filesystem), so a reader never sees a half-written file and a killed worker leaves only
.tmp- folders, which the next attempt removes.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from pathlib import Path

from django.conf import settings

READ_BLOCK = 1 << 20


def root() -> Path:
    return Path(settings.REGISTRY_EXPORT_ROOT)


def destination_dir(destination_id: object) -> Path:
    return root() / str(destination_id)


def run_dir(run) -> Path:
    return destination_dir(run.destination_id) / f"run-{run.pk}"


def parts_dir(run) -> Path:
    return destination_dir(run.destination_id) / f"run-{run.pk}.parts"


def partition_dir(run, *, attempt: int, index: int) -> Path:
    return parts_dir(run) / f"a{attempt}-p{index:05d}"


def temp_sibling(final: Path) -> Path:
    """A fresh, unique folder beside `final` to write into before renaming."""
    tmp = final.with_name(f"{final.name}.tmp-{uuid.uuid4().hex}")
    tmp.mkdir(parents=True)
    return tmp


def publish(tmp: Path, final: Path) -> None:
    """Move a complete folder into place, replacing what a killed earlier attempt left."""
    if final.exists():
        shutil.rmtree(final)
    os.replace(tmp, final)


def remove_temporaries(final: Path) -> None:
    for stale in final.parent.glob(f"{final.name}.tmp-*"):
        shutil.rmtree(stale, ignore_errors=True)


def remove_run_files(run, *, keep_final: bool) -> None:
    """Remove a run's part files and temporaries (and its final folder unless kept)."""
    final = run_dir(run)
    shutil.rmtree(parts_dir(run), ignore_errors=True)
    remove_temporaries(final)
    remove_temporaries(parts_dir(run))
    if not keep_final:
        shutil.rmtree(final, ignore_errors=True)


def link_or_copy(source: Path, target: Path) -> None:
    """Make `target` name the same bytes as `source`: a hard link (nothing copied), or a copy
    where the filesystem has no hard links."""
    try:
        os.link(source, target)
    except OSError:
        shutil.copyfile(source, target)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(READ_BLOCK):
            digest.update(block)
    return digest.hexdigest()
