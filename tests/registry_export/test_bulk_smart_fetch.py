"""End to end against an independent Bulk Data client: `smart-fetch bulk` (PyPI, Cumulus
project; SMART Backend Services with a PEM key, RS384) pulls a Group export from the live
server while a real Celery worker writes the run; every line it fetched validates with
fhir.resources.

smart-fetch lives in its own virtualenv (var/smartfetch-venv: its dependencies are not the
app's), created here on first use, so CI on a clean clone needs only the package registry.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from joserfc.jwk import RSAKey

from demo.synthetic import generate_patients
from registry_export import services
from registry_export.models import BulkExportJob, RunStatus
from tests.registry_export.test_worker_killed import _url_of, start_worker, stop

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / "var" / "smartfetch-venv"
SMART_FETCH = VENV / "bin" / "smart-fetch"
SMART_FETCH_VERSION = "1.0.3"
# smart-fetch only knows the types of its own list (Patient, Observation, Condition, ...): of
# ours, Patient and Observation. The other types are checked by test_bulk_data.py.
TYPES = ["Patient", "Observation"]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not settings.CELERY_BROKER_URL.startswith("redis://") or connection.vendor != "postgresql",
        reason="needs PostgreSQL and a Redis broker (make test)",
    ),
]


def smart_fetch() -> Path:
    if not SMART_FETCH.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(VENV / "bin" / "pip"), "install", "-q", f"smart-fetch=={SMART_FETCH_VERSION}"],
            check=True,
        )
    return SMART_FETCH


def r4b_model(resource_type: str):
    module = importlib.import_module(f"fhir.resources.R4B.{resource_type.lower()}")
    return getattr(module, resource_type)


@pytest.mark.django_db(transaction=True)
def test_smart_fetch_pulls_a_group_export_that_validates(
    live_server, export_root, registry, tmp_path
):
    import redis

    tool = smart_fetch()
    redis.Redis.from_url(settings.CELERY_BROKER_URL).flushdb()  # this test's own broker db
    generate_patients(count=12, days=20, seed=11)
    services.destination_create(
        name="pssr", formats=["fhir", "redcap"], consent_scope="registry_sharing",
        registry=registry, partition_size=4,
    )  # fmt: skip
    key = RSAKey.generate_key(2048, private=True)
    (tmp_path / "private.pem").write_bytes(key.as_pem(private=True))
    (tmp_path / "public.pem").write_bytes(key.as_pem(private=False))
    out = io.StringIO()
    public = str(tmp_path / "public.pem")
    call_command(
        "export_client", destination="pssr", name="registry", public_key=public, stdout=out
    )
    client_id = out.getvalue().strip().splitlines()[-1].removeprefix("client_id: ")

    env = {
        **os.environ,
        "DATABASE_URL": _url_of(connection.settings_dict),
        "REGISTRY_EXPORT_ROOT": str(export_root),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    worker = start_worker("bulk", env)
    target = tmp_path / "fetched"
    try:
        result = subprocess.run(
            [
                str(tool), "bulk", "--fhir-url", f"{live_server.url}/fhir", "--group", "pssr",
                "--smart-client-id", client_id, "--smart-key", str(tmp_path / "private.pem"),
                "--type", ",".join(TYPES),
                "--no-default-filters", "--no-compression", str(target),
            ],
            capture_output=True, text=True, timeout=240, env={"PATH": os.environ["PATH"]},
        )  # fmt: skip
    finally:
        stop(worker)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    job = BulkExportJob.objects.get()
    run = job.run
    assert run.status == RunStatus.SUCCEEDED
    # Written by the worker as partitions of four patients, each with its own files.
    assert run.partitions_total == -(-run.patients_total // 4) >= 2
    assert "Downloaded Patient.002.ndjson" in result.stdout
    # smart-fetch cancels (DELETEs) the job once it has everything, as the spec suggests.
    assert job.cancelled_at is not None
    # Its download layout: <Type>.<n>.ndjson per output file (beside its own log.ndjson).
    files = sorted(target.glob("*.[0-9][0-9][0-9].ndjson"))
    assert files
    seen: dict[str, int] = {}
    for path in files:
        for line in path.read_text().splitlines():
            data = json.loads(line)
            r4b_model(data["resourceType"]).model_validate(data)
            seen[data["resourceType"]] = seen.get(data["resourceType"], 0) + 1
    listed: dict[str, int] = {}
    for f in run.files:
        if f["format"] == "fhir" and f["type"] in TYPES:
            listed[f["type"]] = listed.get(f["type"], 0) + f["count"]
    assert seen == listed and seen["Patient"] == run.patients_total > 0
    assert sorted(job.types) == sorted(TYPES)
