"""A bad-input corpus kept as a suite (issue 16): each input, through the full stack, gets its
expected 4xx status and a message that says what is wrong, and nothing stored changes.

Each case names who sends it (anonymous, Alice the patient, Dr Carol a verified clinician with
Alice's grant), the request, the expected status and a piece of the expected message. Before and
after the whole corpus, a digest of every table that holds data is taken; refusals may add
access-log rows and lockout counters, nothing else. To add a case, add a row to CASES.
"""

from __future__ import annotations

import functools
import io
import json
import os
import re
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from psycopg import sql

from diary import services
from diary.fields import NOTE_MAX_LENGTH
from diary.selectors import patient_today
from tests.diary.conftest import day_values
from tests.personas import login_verified

DEEP = "[" * 3000 + "]" * 3000
NOT_DATA_TABLES = (
    "consent_accesslogevent",  # refusals are logged there, by design
    "django_session",
    "django_cache",
    "axes_",
    "django_celery_beat_",
)


@dataclass(frozen=True)
class Case:
    id: str
    who: str  # anon | alice | carol
    method: str
    url: str  # {med}, {today}, {yesterday}, {tomorrow}, {alice}, {alice_pk} are filled in
    status: int
    message: str
    body: object = None
    kind: str = "json"  # json | form | raw-json | multipart
    headers: dict | None = None


SCORES = day_values()
GOOD_MED = {"name": "Pilocarpine", "dose": "5", "unit": "mg", "schedule": "once_daily"}


def _entry(**changes):
    return {"date": "{yesterday}", **SCORES, **changes}


def _med(**changes):
    return {**GOOD_MED, "start_date": "{yesterday}", **changes}


@functools.cache
def _mri_bad_uploads() -> list[tuple[str, tuple[str, bytes], str]]:
    """MRI uploads every one of which must be refused (see tests/imaging/test_mri_volume.py)."""
    import zipfile

    import numpy as np

    from tests.imaging.mri_helpers import mr_series, nifti_bytes, zip_of

    series, _ = mr_series(6, 16, 16)
    ct, _ = mr_series(4, 16, 16, modality="CT")
    other, _ = mr_series(4, 16, 16, seed=9)
    broken = bytearray(nifti_bytes(np.zeros((8, 8, 4), dtype=np.int16)))
    broken[40:56] = b"\xff" * 16
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("IM1.dcm", b"\0" * 5_000_000)
    return [
        ("ct-series", ("ct.zip", zip_of(ct)), "CT series"),
        ("single-slice", ("one.dcm", series[0][1]), "single slice"),
        ("4d-nifti", ("v.nii", nifti_bytes(np.zeros((8, 8, 4, 3), np.int16))), "4D"),
        ("broken-nifti", ("v.nii", bytes(broken)), "NIfTI header is broken"),
        ("zip-other-files", ("s.zip", zip_of(series + [("a.txt", b"x")])), "not DICOM"),
        ("zip-climbs-out", ("s.zip", zip_of([("../x.dcm", series[0][1])])), "climb out"),
        ("zip-bomb", ("s.zip", bomb.getvalue()), "zip bomb"),
        ("missing-slice", ("s.zip", zip_of(series[:2] + series[3:])), "missing"),
        ("mixed-series", ("s.zip", zip_of(series[:3] + [("o.dcm", other[0][1])])), "one series"),
        ("not-a-series", ("x.bin", b"hello"), "Not DICOM (Part 10) files"),
    ]


CASES: list[Case] = [
    # --- URLs ---------------------------------------------------------------------------------
    Case(
        "url-nul-export",
        "alice",
        "get",
        "/api/v1/exports/runs/1/files/manifest.json%00",
        400,
        "NUL",
    ),
    Case("url-nul-invitation", "alice", "get", "/consent/invitations/%00/", 400, "NUL"),
    Case("url-nul-anon", "anon", "get", "/diary/%00/", 400, "NUL"),
    Case("url-nul-query", "alice", "get", "/api/v1/entries/?from=%00", 400, "NUL"),
    Case(
        "url-day-year-1", "alice", "get", "/diary/day/0001-01-01/", 404, "could not find that page"
    ),
    Case("url-day-1900", "alice", "get", "/diary/day/1900-06-01/", 404, "could not find that page"),
    Case(
        "url-day-far-future",
        "alice",
        "get",
        "/diary/day/9999-12-31/",
        404,
        "could not find that page",
    ),
    Case(
        "url-day-impossible",
        "alice",
        "get",
        "/diary/day/2025-02-30/",
        404,
        "could not find that page",
    ),
    Case(
        "url-day-month-13",
        "alice",
        "get",
        "/diary/day/2025-13-01/",
        404,
        "could not find that page",
    ),
    Case(
        "url-day-letters", "alice", "get", "/diary/day/yesterday/", 404, "could not find that page"
    ),
    Case("url-day-tomorrow", "alice", "get", "/diary/day/{tomorrow}/", 400, "has not come yet"),
    Case(
        "url-api-entry-year-1",
        "alice",
        "get",
        "/api/v1/entries/0001-01-01/",
        404,
        "could not find that page",
    ),
    Case(
        "url-api-entry-none",
        "alice",
        "get",
        "/api/v1/entries/2001-01-01/",
        404,
        "No entry for this day",
    ),
    Case(
        "url-medicine-not-uuid",
        "alice",
        "get",
        "/api/v1/medicines/123/",
        404,
        "could not find that page",
    ),
    Case(
        "url-medicine-unknown",
        "alice",
        "get",
        "/api/v1/medicines/00000000-0000-0000-0000-000000000000/",
        404,
        "No such medicine",
    ),
    Case(
        "url-medicine-page-unknown",
        "alice",
        "get",
        "/diary/medicines/00000000-0000-0000-0000-000000000000/change/",
        404,
        "could not find that page",
    ),
    Case(
        "url-questionnaire-unknown",
        "alice",
        "get",
        "/diary/questionnaires/nope/",
        404,
        "could not find that page",
    ),
    Case(
        "url-overlong",
        "alice",
        "get",
        "/diary/" + "a" * 5000 + "/",
        404,
        "could not find that page",
    ),
    Case("url-bad-utf8", "alice", "get", "/diary/%ff%fe/", 404, "could not find that page"),
    Case(
        "url-grant-huge-int",
        "alice",
        "post",
        "/consent/sharing/99999999999999999999/revoke/",
        404,
        "could not find that page",
        {},
        "form",
    ),
    Case(
        "url-summary-other",
        "carol",
        "get",
        "/clinic/patients/999999/summary/",
        404,
        "could not find that page",
    ),
    Case(
        "summary-page-year-1",
        "carol",
        "get",
        "/clinic/patients/{alice}/summary/?from=0001-01-01&to=0002-01-01",
        400,
        "on or after 01 January 1900",
    ),
    Case(
        "summary-api-year-1",
        "carol",
        "get",
        "/api/v1/patients/{alice}/summary/?from=0001-01-01&to=0002-01-01",
        400,
        "on or after 01 January 1900",
    ),
    Case(
        "summary-api-reversed",
        "carol",
        "get",
        "/api/v1/patients/{alice}/summary/?from=2024-05-01&to=2024-04-01",
        400,
        "on or before the end",
    ),
    # Integer ids (issue 16): objects are named by opaque UUIDs; an old integer address, or
    # Alice's internal key, matches no route.
    Case(
        "int-id-timeline",
        "carol",
        "get",
        "/clinic/patients/{alice_pk}/",
        404,
        "could not find that page",
    ),
    Case(
        "int-id-summary-api",
        "carol",
        "get",
        "/api/v1/patients/{alice_pk}/summary/",
        404,
        "could not find that page",
    ),
    Case(
        "int-id-radiographs",
        "carol",
        "get",
        "/imaging/patients/{alice_pk}/",
        404,
        "could not find that page",
    ),
    Case(
        "int-id-legacy-summary",
        "carol",
        "get",
        "/consent/patients/1/summary/",
        404,
        "could not find that page",
    ),
    Case(
        "int-id-grant-revoke",
        "alice",
        "post",
        "/consent/sharing/1/revoke/",
        404,
        "could not find that page",
        {},
        "form",
    ),
    Case(
        "int-id-grant-revoke-api",
        "alice",
        "post",
        "/api/v1/grants/1/revoke/",
        404,
        "could not find that page",
        {},
    ),
    Case("int-id-export-run", "alice", "get", "/exports/runs/1/", 404, "could not find that page"),
    Case(
        "int-id-export-run-api",
        "alice",
        "get",
        "/api/v1/exports/runs/1/",
        404,
        "could not find that page",
    ),
    Case(
        "int-id-consent-document",
        "alice",
        "post",
        "/api/v1/consents/",
        400,
        "No published consent document has this id",
        {"document_id": 1},
    ),
    Case(
        "unknown-uuid-summary",
        "carol",
        "get",
        "/clinic/patients/00000000-0000-4000-8000-000000000000/summary/",
        404,
        "could not find that page",
    ),
    # --- Periods ------------------------------------------------------------------------------
    Case(
        "period-trends-year-1",
        "alice",
        "get",
        "/api/v1/trends/?from=0001-01-01&to=0002-01-01",
        400,
        "on or after 01 January 1920",
    ),
    Case(
        "period-trends-too-long",
        "alice",
        "get",
        "/api/v1/trends/?from=2000-01-01&to=2015-01-01",
        400,
        "at most 3660 days",
    ),
    Case(
        "period-trends-reversed",
        "alice",
        "get",
        "/api/v1/trends/?from=2024-05-01&to=2024-04-01",
        400,
        "before",
    ),
    Case(
        "period-trends-not-a-date",
        "alice",
        "get",
        "/api/v1/trends/?from=yesterday",
        400,
        "Date has wrong format",
    ),
    Case("period-trends-future", "alice", "get", "/api/v1/trends/?from=2999-01-01", 400, "future"),
    Case(
        "period-adherence-year-1",
        "alice",
        "get",
        "/api/v1/medicines/adherence/?from=0001-01-01",
        400,
        "on or after 01 January 1920",
    ),
    Case(
        "period-adherence-too-long",
        "alice",
        "get",
        "/api/v1/medicines/adherence/?from=2000-01-01&to=2012-01-01",
        400,
        "at most 3660 days",
    ),
    Case(
        "period-entries-1900",
        "alice",
        "get",
        "/api/v1/entries/?from=1900-01-01",
        400,
        "on or after",
    ),
    Case(
        "period-doses-bad",
        "alice",
        "get",
        "/api/v1/doses/?to=2024-02-31",
        400,
        "Date has wrong format",
    ),
    Case(
        "period-questionnaires",
        "alice",
        "get",
        "/api/v1/questionnaires/?from=0001-01-01",
        400,
        "on or after",
    ),
    Case(
        "period-questionnaires-instrument",
        "alice",
        "get",
        "/api/v1/questionnaires/?instrument=nope",
        400,
        "Unknown instrument",
    ),
    Case(
        "period-page-year-1",
        "alice",
        "get",
        "/diary/medicines/?date_from=0001-01-01&date_to=0002-01-01",
        400,
        "on or after 01 January 1920",
    ),
    Case(
        "period-page-reversed",
        "alice",
        "get",
        "/diary/medicines/?date_from=2024-05-01&date_to=2024-04-01",
        400,
        "before its start",
    ),
    Case(
        "period-page-garbage",
        "alice",
        "get",
        "/diary/medicines/?date_from=x&date_to=y",
        400,
        "Enter a valid date",
    ),
    Case("period-page-size", "alice", "get", "/api/v1/entries/?page=abc", 404, "Invalid page"),
    # --- Entries API ----------------------------------------------------------------------------
    Case(
        "entry-score-11",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "less than or equal to 10",
        _entry(fatigue=11),
    ),
    Case(
        "entry-score-negative",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "greater than or equal to 0",
        _entry(fatigue=-1),
    ),
    Case(
        "entry-score-string",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "valid integer",
        _entry(fatigue="7"),
    ),
    Case(
        "entry-score-float",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "valid integer",
        _entry(fatigue=7.5),
    ),
    Case(
        "entry-score-bool",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "valid integer",
        _entry(fatigue=True),
    ),
    Case(
        "entry-score-null",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "may not be null",
        _entry(fatigue=None),
    ),
    Case(
        "entry-score-huge",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "valid integer",
        _entry(fatigue=10**30),
    ),
    Case(
        "entry-missing-score",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "required",
        {"date": "{yesterday}", "fatigue": 3},
    ),
    Case(
        "entry-flare-string",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "true or false",
        _entry(flare="yes"),
    ),
    Case(
        "entry-factors-unknown",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "not a valid choice",
        _entry(factors=["moon"]),
    ),
    Case(
        "entry-factors-not-list",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "Expected a list",
        _entry(factors="stress"),
    ),
    Case(
        "entry-note-too-long",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "no more than",
        _entry(note="x" * (NOTE_MAX_LENGTH + 1)),
    ),
    Case(
        "entry-note-nul",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "Null characters are not allowed",
        _entry(note="a\x00b"),
    ),
    Case(
        "entry-note-lone-surrogate",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "JSON parse error",
        '{"date": "2024-01-01", "note": "\\ud800"}',
        "raw-json",
    ),
    Case(
        "entry-date-tomorrow",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "future",
        _entry(date="{tomorrow}"),
    ),
    Case(
        "entry-date-year-1",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "on or after 01 January 1920",
        _entry(date="0001-01-01"),
    ),
    Case(
        "entry-date-1900",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "on or after 01 January 1920",
        _entry(date="1900-06-01"),
    ),
    Case(
        "entry-date-garbage",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "Date has wrong format",
        _entry(date="01/02/2024"),
    ),
    Case("entry-date-missing", "alice", "post", "/api/v1/entries/", 400, "required", dict(SCORES)),
    Case(
        "entry-exists",
        "alice",
        "post",
        "/api/v1/entries/",
        409,
        "already an entry",
        _entry(date="{today}"),
    ),
    Case("entry-body-array", "alice", "post", "/api/v1/entries/", 400, "Invalid data", [1, 2, 3]),
    Case("entry-body-string", "alice", "post", "/api/v1/entries/", 400, "Invalid data", "hello"),
    Case(
        "entry-body-broken",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "JSON parse error",
        '{"date": ',
        "raw-json",
    ),
    Case(
        "entry-body-empty",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "This field is required",
        "",
        "raw-json",
    ),
    Case(
        "entry-body-nan",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "JSON parse error",
        '{"fatigue": NaN}',
        "raw-json",
    ),
    Case(
        "entry-body-deep",
        "alice",
        "post",
        "/api/v1/entries/",
        400,
        "nested more than 32 levels",
        DEEP,
        "raw-json",
    ),
    Case(
        "entry-put-year-1",
        "alice",
        "put",
        "/api/v1/entries/1919-12-31/",
        400,
        "on or after",
        dict(SCORES),
    ),
    Case(
        "entry-put-future",
        "alice",
        "put",
        "/api/v1/entries/{tomorrow}/",
        400,
        "future",
        dict(SCORES),
    ),
    Case(
        "entry-patch-bad",
        "alice",
        "patch",
        "/api/v1/entries/{today}/",
        400,
        "less than or equal to 10",
        {"fatigue": 12},
    ),
    Case(
        "entry-put-if-match",
        "alice",
        "put",
        "/api/v1/entries/{today}/",
        412,
        "version",
        dict(SCORES),
        headers={"HTTP_IF_MATCH": '"stale-version"'},
    ),
    Case(
        "entry-anon",
        "anon",
        "post",
        "/api/v1/entries/",
        401,
        "credentials were not provided",
        _entry(),
    ),
    Case("entry-clinician", "carol", "post", "/api/v1/entries/", 403, "Only patients", _entry()),
    # --- Medicines and doses API ----------------------------------------------------------------
    Case(
        "med-schedule",
        "alice",
        "post",
        "/api/v1/medicines/",
        400,
        "not a valid choice",
        _med(schedule="hourly"),
    ),
    Case(
        "med-name-empty",
        "alice",
        "post",
        "/api/v1/medicines/",
        400,
        "may not be blank",
        _med(name=""),
    ),
    Case(
        "med-name-long",
        "alice",
        "post",
        "/api/v1/medicines/",
        400,
        "no more than 120",
        _med(name="x" * 121),
    ),
    Case(
        "med-start-year-1",
        "alice",
        "post",
        "/api/v1/medicines/",
        400,
        "on or after 01 January 1920",
        _med(start_date="0001-01-01"),
    ),
    Case(
        "med-start-1900",
        "alice",
        "post",
        "/api/v1/medicines/",
        400,
        "on or after 01 January 1920",
        _med(start_date="1900-01-01"),
    ),
    Case(
        "med-start-far",
        "alice",
        "post",
        "/api/v1/medicines/",
        400,
        "at most a year",
        _med(start_date="2999-01-01"),
    ),
    Case(
        "med-end-before-start",
        "alice",
        "post",
        "/api/v1/medicines/",
        400,
        "before the start",
        _med(end_date="1999-01-01", start_date="2000-01-01"),
    ),
    Case(
        "med-times-bad",
        "alice",
        "post",
        "/api/v1/medicines/",
        400,
        "is not a time like 08:00",
        _med(times=["25:00"]),
    ),
    Case(
        "med-times-too-many",
        "alice",
        "post",
        "/api/v1/medicines/",
        400,
        "no more than 4",
        _med(times=["08:00"] * 5),
    ),
    Case(
        "med-patch-effective-1900",
        "alice",
        "patch",
        "/api/v1/medicines/{med}/",
        400,
        "on or after",
        {"dose": "10", "unit": "mg", "schedule": "once_daily", "effective": "1900-01-01"},
    ),
    Case(
        "med-patch-end-before-start",
        "alice",
        "patch",
        "/api/v1/medicines/{med}/",
        400,
        "before the start",
        {"end_date": "1990-01-01"},
    ),
    Case(
        "med-patch-bad-schedule",
        "alice",
        "patch",
        "/api/v1/medicines/{med}/",
        400,
        "not a valid choice",
        {"schedule": "sometimes"},
    ),
    Case(
        "dose-status",
        "alice",
        "post",
        "/api/v1/doses/",
        400,
        "not a valid choice",
        {"medicine": "{med}", "date": "{yesterday}", "status": "maybe"},
    ),
    Case(
        "dose-slot-0",
        "alice",
        "post",
        "/api/v1/doses/",
        400,
        "greater than or equal to 1",
        {"medicine": "{med}", "date": "{yesterday}", "status": "taken", "slot": 0},
    ),
    Case(
        "dose-slot-3",
        "alice",
        "post",
        "/api/v1/doses/",
        400,
        "scheduled dose",
        {"medicine": "{med}", "date": "{yesterday}", "status": "taken", "slot": 3},
    ),
    Case(
        "dose-before-start",
        "alice",
        "post",
        "/api/v1/doses/",
        400,
        "not being taken",
        {"medicine": "{med}", "date": "2001-01-01", "status": "taken"},
    ),
    Case(
        "dose-1900",
        "alice",
        "post",
        "/api/v1/doses/",
        400,
        "on or after",
        {"medicine": "{med}", "date": "1900-01-01", "status": "taken"},
    ),
    Case(
        "dose-future",
        "alice",
        "post",
        "/api/v1/doses/",
        400,
        "future",
        {"medicine": "{med}", "date": "{tomorrow}", "status": "taken"},
    ),
    Case(
        "dose-unknown-medicine",
        "alice",
        "post",
        "/api/v1/doses/",
        404,
        "No medicine",
        {
            "medicine": "00000000-0000-0000-0000-000000000000",
            "date": "{yesterday}",
            "status": "taken",
        },
    ),
    Case(
        "dose-medicine-not-uuid",
        "alice",
        "post",
        "/api/v1/doses/",
        400,
        "valid UUID",
        {"medicine": "abc", "date": "{yesterday}", "status": "taken"},
    ),
    # --- Questionnaires, profile, account API ----------------------------------------------------
    Case(
        "q-unknown-instrument",
        "alice",
        "post",
        "/api/v1/questionnaires/",
        400,
        "Unknown instrument",
        {"instrument": "nope", "answers": {}},
    ),
    Case(
        "q-answers-not-object",
        "alice",
        "post",
        "/api/v1/questionnaires/",
        400,
        "object",
        {"instrument": "esspri", "answers": [1, 2]},
    ),
    Case(
        "q-answer-out-of-range",
        "alice",
        "post",
        "/api/v1/questionnaires/",
        400,
        "Must be from 0 to 10",
        {"instrument": "esspri", "answers": {"dryness": 99, "fatigue": 1, "pain": 1}},
    ),
    Case(
        "profile-birth-year-1800",
        "alice",
        "patch",
        "/api/v1/me/profile/",
        400,
        "Enter a year between 1900",
        {"birth_year": 1800},
    ),
    Case(
        "profile-birth-year-future",
        "alice",
        "patch",
        "/api/v1/me/profile/",
        400,
        "Enter a year between 1900",
        {"birth_year": 2999},
    ),
    Case(
        "profile-time-zone",
        "alice",
        "patch",
        "/api/v1/me/profile/",
        400,
        "not a known time zone",
        {"time_zone": "Mars/Olympus"},
    ),
    Case(
        "profile-name-long",
        "alice",
        "patch",
        "/api/v1/me/profile/",
        400,
        "no more than 150",
        {"display_name": "x" * 151},
    ),
    Case(
        "me-delete-wrong-password",
        "alice",
        "delete",
        "/api/v1/me/",
        400,
        "not right",
        {"password": "nope"},
    ),
    Case("me-delete-no-password", "alice", "delete", "/api/v1/me/", 400, "required", {}),
    Case(
        "token-bad-email",
        "anon",
        "post",
        "/api/v1/auth/token/",
        400,
        "valid email",
        {"email": "not-an-email", "password": "x"},
    ),
    Case(
        "token-wrong-password",
        "anon",
        "post",
        "/api/v1/auth/token/",
        401,
        "not correct",
        {"email": "alice@example.org", "password": "nope"},
    ),
    Case(
        "token-deep",
        "anon",
        "post",
        "/api/v1/auth/token/",
        400,
        "nested more than 32 levels",
        DEEP,
        "raw-json",
    ),
    Case(
        "token-form-body",
        "anon",
        "post",
        "/api/v1/auth/token/",
        400,
        "required",
        {"email": ""},
        "form",
    ),
    Case(
        "token-xml",
        "anon",
        "post",
        "/api/v1/auth/token/",
        415,
        "Unsupported media type",
        "<x/>",
        "raw-xml",
    ),
    Case(
        "consent-give-bad-nhs",
        "alice",
        "post",
        "/api/v1/consents/",
        400,
        "not a valid NHS number",
        {"document_id": 1, "nhs_number": "1234567890"},
    ),
    Case(
        "grant-bad-email",
        "alice",
        "post",
        "/api/v1/grants/",
        400,
        "valid email",
        {"clinician_email": "x", "scopes": ["diary"]},
    ),
    Case(
        "grant-bad-scope",
        "alice",
        "post",
        "/api/v1/grants/",
        400,
        "not a valid choice",
        {"clinician_email": "carol@example.org", "scopes": ["everything"]},
    ),
    Case(
        "grant-ends-1900",
        "alice",
        "post",
        "/api/v1/grants/",
        400,
        "must be today or later",
        {"clinician_email": "carol@example.org", "scopes": ["diary"], "ends_on": "1900-01-01"},
    ),
    # --- FHIR Bulk Data (anonymous token endpoint) -----------------------------------------------
    Case(
        "bulk-grant-type",
        "anon",
        "post",
        "/fhir/auth/token",
        400,
        "client_credentials",
        {"grant_type": "password"},
        "form",
    ),
    Case(
        "bulk-assertion-garbage",
        "anon",
        "post",
        "/fhir/auth/token",
        400,
        "not a compact JWS",
        {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": "a.b.c",
        },
        "form",
    ),
    Case(
        "bulk-assertion-long",
        "anon",
        "post",
        "/fhir/auth/token",
        400,
        "too long",
        {
            "grant_type": "client_credentials",
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": "a" * 20000,
        },
        "form",
    ),
    # --- HTML forms -----------------------------------------------------------------------------
    Case(
        "form-day-score-11",
        "alice",
        "post",
        "/diary/day/{yesterday}/",
        400,
        "Select a valid choice",
        {**{k: "11" for k in SCORES if k not in ("flare", "factors", "note")}, "flare": "no"},
        "form",
    ),
    Case(
        "form-day-score-text",
        "alice",
        "post",
        "/diary/day/{yesterday}/",
        400,
        "Select a valid choice",
        {**{k: "lots" for k in SCORES if k not in ("flare", "factors", "note")}, "flare": "no"},
        "form",
    ),
    Case(
        "form-day-empty",
        "alice",
        "post",
        "/diary/day/{yesterday}/",
        400,
        "Choose a number from 0 to 10",
        {"flare": "no"},
        "form",
    ),
    Case(
        "form-day-future",
        "alice",
        "post",
        "/diary/day/{tomorrow}/",
        400,
        "has not come yet",
        {"flare": "no"},
        "form",
    ),
    Case(
        "form-day-note-long",
        "alice",
        "post",
        "/diary/day/{yesterday}/",
        400,
        "at most 5000 characters",
        {
            **{k: "3" for k in SCORES if k not in ("flare", "factors", "note")},
            "flare": "no",
            "note": "x" * (NOTE_MAX_LENGTH + 1),
        },
        "form",
    ),
    Case(
        "form-day-factor",
        "alice",
        "post",
        "/diary/day/{yesterday}/",
        400,
        "Select a valid choice",
        {
            **{k: "3" for k in SCORES if k not in ("flare", "factors", "note")},
            "flare": "no",
            "factors": "moon",
        },
        "form",
    ),
    Case(
        "form-day-nul",
        "alice",
        "post",
        "/diary/day/{yesterday}/",
        400,
        "NUL",
        "fatigue=3%00&flare=no",
        "urlencoded",
    ),
    Case(
        "form-day-json-score",
        "alice",
        "post",
        "/diary/day/{yesterday}/",
        400,
        "11 is not one of the available choices",
        {"fatigue": "11", "flare": "no"},
        "form-json-accept",
    ),
    Case(
        "form-med-start-year-1",
        "alice",
        "post",
        "/diary/medicines/add/",
        400,
        "on or after 01 January 1920",
        {
            "choice": "N07AX01",
            "dose": "5",
            "unit": "mg",
            "schedule": "once_daily",
            "start_date": "0001-01-01",
        },
        "form",
    ),
    Case(
        "form-med-start-garbage",
        "alice",
        "post",
        "/diary/medicines/add/",
        400,
        "Enter a valid date",
        {
            "choice": "Pilocarpine",
            "dose": "5",
            "unit": "mg",
            "schedule": "once_daily",
            "start_date": "soon",
        },
        "form",
    ),
    Case(
        "form-med-other-no-name",
        "alice",
        "post",
        "/diary/medicines/add/",
        400,
        "Type the name",
        {
            "choice": "other",
            "dose": "5",
            "unit": "mg",
            "schedule": "once_daily",
            "start_date": "{yesterday}",
        },
        "form",
    ),
    Case(
        "form-med-change-1900",
        "alice",
        "post",
        "/diary/medicines/{med}/change/",
        400,
        "on or after",
        {"dose": "10", "unit": "mg", "schedule": "once_daily", "effective": "1900-01-01"},
        "form",
    ),
    Case(
        "form-med-stop-before-start",
        "alice",
        "post",
        "/diary/medicines/{med}/stop/",
        400,
        "before the start",
        {"end_date": "1990-01-01"},
        "form",
    ),
    Case(
        "form-profile-birth-year",
        "alice",
        "post",
        "/accounts/settings/profile/",
        400,
        "greater than or equal to 1900",
        {"display_name": "A", "time_zone": "Europe/London", "birth_year": "1800"},
        "form",
    ),
    Case(
        "form-profile-time-zone",
        "alice",
        "post",
        "/accounts/settings/profile/",
        400,
        "Nowhere/Land is not one of the available choices",
        {"display_name": "A", "time_zone": "Nowhere/Land"},
        "form",
    ),
    Case(
        "form-delete-wrong-password",
        "alice",
        "post",
        "/diary/my-data/delete/",
        400,
        "That password is not right",
        {"password": "nope", "confirm": "on"},
        "form",
    ),
    Case(
        "form-login-nul",
        "anon",
        "post",
        "/accounts/login/",
        400,
        "NUL",
        "login=alice%40example.org%00&password=x",
        "urlencoded",
    ),
    Case(
        "form-signup-mismatch",
        "anon",
        "post",
        "/accounts/signup/",
        200,
        "You must type the same password",
        {
            "email": "new@example.org",
            "password1": "a long password 1",
            "password2": "a long password 2",
        },
        "form",
    ),
    Case(
        "form-signup-bad-email",
        "anon",
        "post",
        "/accounts/signup/",
        200,
        "valid email",
        {"email": "nope", "password1": "a long password 1", "password2": "a long password 1"},
        "form",
    ),
    Case(
        "form-reset-bad-email",
        "anon",
        "post",
        "/accounts/password/reset/",
        200,
        "valid email",
        {"email": "nope"},
        "form",
    ),
    # --- Uploads (imaging, a clinician with Alice's imaging grant) -------------------------------
    Case(
        "upload-empty",
        "carol",
        "post",
        "/api/v1/imaging/studies/",
        400,
        "empty",
        {"patient": "{alice}", "file": ("empty.png", b"")},
        "multipart",
    ),
    Case(
        "upload-text-as-dicom",
        "carol",
        "post",
        "/api/v1/imaging/studies/",
        400,
        "not a DICOM (Part 10), PNG or JPEG",
        {"patient": "{alice}", "file": ("x.dcm", b"not a dicom file at all")},
        "multipart",
    ),
    Case(
        "upload-corrupt-png",
        "carol",
        "post",
        "/api/v1/imaging/studies/",
        400,
        "cannot be decoded",
        {"patient": "{alice}", "file": ("x.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)},
        "multipart",
    ),
    Case(
        "upload-no-file",
        "carol",
        "post",
        "/api/v1/imaging/studies/",
        400,
        "No file was submitted",
        {"patient": "{alice}"},
        "multipart",
    ),
    Case(
        "upload-bad-patient",
        "carol",
        "post",
        "/api/v1/imaging/studies/",
        400,
        "valid UUID",
        {"patient": "abc", "file": ("x.png", b"123")},
        "multipart",
    ),
    # --- MRI series (issue 15): each refused with its own message, nothing stored ----------
    *[
        Case(
            f"mri-{name}",
            "carol",
            "post",
            "/api/v1/imaging/mri/studies/",
            400,
            message,
            {"patient": "{alice}", "bundle": "spine-berlin", "files": upload},
            "multipart",
        )
        for name, upload, message in _mri_bad_uploads()
    ],
    Case(
        "mri-page-ct-series",
        "carol",
        "post",
        "/imaging/mri/patients/{alice}/",
        400,
        "not an MRI series",
        {"bundle": "spine-berlin", "files": _mri_bad_uploads()[0][1]},
        "multipart",
    ),
    Case(
        "mri-unknown-bundle",
        "carol",
        "post",
        "/api/v1/imaging/mri/studies/",
        400,
        "is not a valid choice",
        {"patient": "{alice}", "bundle": "knee", "files": _mri_bad_uploads()[0][1]},
        "multipart",
    ),
    Case(
        "upload-json-not-multipart",
        "carol",
        "post",
        "/api/v1/imaging/studies/",
        415,
        "Unsupported media type",
        {"patient": 1},
    ),
]


# --- Running the corpus ---------------------------------------------------------------------


def _table_digests() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
        tables = sorted(t for (t,) in cursor.fetchall() if not t.startswith(NOT_DATA_TABLES))
        digests = {}
        for table in tables:
            query = sql.SQL(
                "SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {} t"
            ).format(sql.Identifier(table))
            cursor.execute(query)
            digests[table] = cursor.fetchone()[0]
    return digests


def _fill(value, names: dict):
    if isinstance(value, str):
        for name, filled in names.items():
            value = value.replace("{" + name + "}", filled)
        return value
    if isinstance(value, dict):
        return {k: _fill(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, names) for v in value]
    return value


def _gist(text: str) -> str:
    """The error parts of a page (or the JSON body), for CORPUS_LEARN=1 runs."""
    if text.startswith("{") or text.startswith("["):
        return text[:300]
    found = re.findall(r'class="(?:error|form-errors)[^"]*"[^>]*>(.*?)</', text, re.S)
    return " | ".join(f.strip() for f in found)[:300] or text[:120]


def _send(client: Client, case: Case, names: dict):
    url = _fill(case.url, names)
    body = _fill(case.body, names)
    method = functools.partial(getattr(client, case.method), **(case.headers or {}))
    if case.method == "get":
        return method(url)
    if case.kind == "json":
        return method(url, json.dumps(body), content_type="application/json")
    if case.kind == "raw-json":
        return method(url, body, content_type="application/json")
    if case.kind == "raw-xml":
        return method(url, body, content_type="application/xml")
    if case.kind == "urlencoded":
        return method(url, body, content_type="application/x-www-form-urlencoded")
    if case.kind == "form-json-accept":
        return method(url, body, HTTP_ACCEPT="application/json")
    if case.kind == "multipart":
        data = {}
        for key, value in body.items():
            if isinstance(value, tuple):
                handle = io.BytesIO(value[1])
                handle.name = value[0]
                data[key] = handle
            else:
                data[key] = value
        return method(url, data)
    return method(url, body)  # form: multipart like a browser's file-less form


@pytest.fixture
def world(db, patient_alice, clinician_carol, settings, tmp_path):
    from consent import services as consent_services
    from tests.factories import StaffFactory
    from tests.imaging.conftest import grant

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.MEDIA_ROOT = tmp_path / "media"
    today = patient_today(patient_alice)
    services.entry_save(patient=patient_alice, entry_date=today, values=day_values())
    medicine = services.medicine_add(
        patient=patient_alice,
        name="Hydroxychloroquine",
        dose="200",
        unit="mg",
        schedule="twice_daily",
        start_date=today - timedelta(days=30),
    )
    consent_services.clinician_verify(clinician=clinician_carol, by=StaffFactory())
    grant(patient_alice, clinician_carol, ("diary", "imaging"))
    clients = {"anon": Client(), "alice": Client(), "carol": Client()}
    clients["alice"].force_login(patient_alice)
    login_verified(clients["carol"], clinician_carol)
    for client in clients.values():
        client.raise_request_exception = False
    names = {
        "today": today.isoformat(),
        "yesterday": (today - timedelta(days=1)).isoformat(),
        "tomorrow": (today + timedelta(days=1)).isoformat(),
        "med": str(medicine.id),
        "alice": str(patient_alice.public_id),
        "alice_pk": str(patient_alice.pk),
    }
    return clients, names


def test_the_corpus_is_big_and_has_unique_ids():
    assert len(CASES) >= 100
    assert len({c.id for c in CASES}) == len(CASES)
    assert all(c.message for c in CASES), "every case names the message it expects"
    assert all(400 <= c.status < 500 or c.id.startswith("form-") for c in CASES)
    kinds = {c.kind for c in CASES} | {"url" for c in CASES if c.method == "get"}
    assert {"json", "form", "multipart", "url"} <= kinds


def test_every_bad_input_gets_its_status_and_message_and_nothing_changes(world):
    clients, names = world
    before = _table_digests()
    wrong = []
    for case in CASES:
        response = _send(clients[case.who], case, names)
        text = response.content.decode("utf-8", errors="replace")
        if os.environ.get("CORPUS_LEARN"):
            print(case.id, response.status_code, _gist(text))
        if response.status_code != case.status or case.message not in text:
            wrong.append(f"{case.id}: {response.status_code} {text[:300]!r}")
        assert response.status_code < 500, case.id
    after = _table_digests()
    changed = sorted(t for t in before if before[t] != after.get(t))
    assert not wrong, "\n".join(wrong)
    assert not changed, f"tables changed by refused requests: {changed}"


def test_the_digest_notices_a_change(world):
    """The check above can fail: a stored change moves the digest."""
    clients, names = world
    before = _table_digests()
    response = clients["alice"].patch(
        f"/api/v1/entries/{names['today']}/", {"fatigue": 1}, content_type="application/json"
    )
    assert response.status_code == 200
    assert before["diary_dailyentry"] != _table_digests()["diary_dailyentry"]
