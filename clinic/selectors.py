"""The clinician's patient list: who shares with them, how each patient is doing, what needs a look.

Reads go through consent.selectors (which grants are in force), diary.selectors (clear columns
only: dates, flare flags, questionnaire scores; nothing is decrypted for the list) and
imaging.selectors (results waiting for a clinician's review). Every listed patient's read is
written to the access log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from consent import selectors as consent_selectors
from consent import services as consent_services
from consent.models import AccessOutcome, ShareScope, SharingGrant
from diary import selectors as diary_selectors
from diary.questionnaires.definitions import get_instrument
from diary.questionnaires.scoring import Change, change_between
from imaging import selectors as imaging_selectors

DEFAULT_LIST_DAYS = 30
NO_ENTRY_FLAG_DAYS = 14
FLARE_WEEK_DAYS = 7

SORTS = {
    "name": "Name",
    "last_entry": "Last diary entry (oldest first)",
    "esspri_change": "ESSPRI change (worst first)",
    "missing": "Missing diary days (most first)",
}


def default_list_period(today: date | None = None) -> tuple[date, date]:
    """The last 30 days up to `today` (default: the server's; each patient's row then uses the
    patient's own today, as diary days follow the patient's time zone)."""
    today = today or timezone.localdate()
    return today - timedelta(days=DEFAULT_LIST_DAYS - 1), today


@dataclass(frozen=True)
class PatientRow:
    patient_id: int  # internal: the access log
    patient_public_id: UUID  # what links and the API show
    name: str
    email: str
    scopes: tuple[str, ...]
    ends_at: object
    last_entry: date | None
    no_entry_flag: bool
    entries_in_period: int | None
    missing_days: int | None
    flares_in_period: int | None
    flare_this_week: bool
    esspri: float | None
    esspri_change: float | None
    esspri_worsened: bool
    imaging_waiting: int | None  # None: imaging not shared

    @property
    def can_open_summary(self) -> bool:
        return ShareScope.DIARY in self.scopes

    @property
    def flags(self) -> list[str]:
        """Plain words for what needs a look (the list's flag column and its tests)."""
        out = []
        if self.esspri_worsened:
            out.append("ESSPRI worse by more than the minimal important change")
        if self.flare_this_week:
            out.append("Flare this week")
        if self.imaging_waiting:
            out.append(
                f"{self.imaging_waiting} imaging result{'s' if self.imaging_waiting > 1 else ''} "
                "waiting for review"
            )
        if self.no_entry_flag:
            out.append(f"No diary entry for {NO_ENTRY_FLAG_DAYS} days or more")
        return out


def _days_missing(patient: User, entries: int, date_from: date, date_to: date, today: date) -> int:
    """Days of the period (never before sign-up, never after the patient's today) without an
    entry."""
    first = max(date_from, diary_selectors.patient_first_day(patient))
    last = min(date_to, today)
    if first > last:
        return 0
    return max((last - first).days + 1 - entries, 0)


def _esspri(scores: list[tuple[date, float]]) -> tuple[float | None, float | None, bool]:
    if not scores:
        return None, None, False
    if len(scores) == 1:
        return scores[0][1], None, False
    (_, latest), (_, previous) = scores[0], scores[1]
    change = change_between(get_instrument("esspri"), previous, latest)
    return latest, round(latest - previous, 2), change == Change.WORSENED


def _rows(grants: list[SharingGrant], period: tuple[date, date] | None) -> list[PatientRow]:
    """period None: each patient's last 30 days up to their own today."""
    todays = {g.patient_id: diary_selectors.patient_today(g.patient) for g in grants}
    windows = {pid: period or default_list_period(today) for pid, today in todays.items()}
    diary_ids = [g.patient_id for g in grants if g.share_diary]
    img_ids = [g.patient_id for g in grants if g.share_imaging]
    activity = diary_selectors.diary_activity(windows={pid: windows[pid] for pid in diary_ids})
    week = diary_selectors.diary_activity(
        windows={
            pid: (todays[pid] - timedelta(days=FLARE_WEEK_DAYS - 1), todays[pid])
            for pid in diary_ids
        }
    )
    by_end: dict[date, list[int]] = {}  # one query per distinct period end (a day or two)
    for grant in grants:
        if grant.share_questionnaires:
            by_end.setdefault(windows[grant.patient_id][1], []).append(grant.patient_id)
    esspri: dict[int, list[tuple[date, float]]] = {}
    for end, ids in by_end.items():
        esspri.update(
            diary_selectors.latest_scores_of_patients(
                patient_ids=ids, instrument="esspri", date_to=end
            )
        )
    waiting = imaging_selectors.results_awaiting_review(patient_ids=img_ids) if img_ids else {}
    rows = []
    for grant in grants:
        patient, pid = grant.patient, grant.patient_id
        act = activity.get(pid)
        patient_today = todays[pid]
        date_from, date_to = windows[pid]
        latest, change, worsened = _esspri(esspri.get(pid, []))
        rows.append(
            PatientRow(
                patient_id=pid,
                patient_public_id=patient.public_id,
                name=patient.display_name or patient.email,
                email=patient.email,
                scopes=tuple(grant.scopes),
                ends_at=grant.ends_at,
                last_entry=act.last_entry if act else None,
                no_entry_flag=act is not None
                and (
                    act.last_entry is None
                    or (patient_today - act.last_entry).days >= NO_ENTRY_FLAG_DAYS
                ),
                entries_in_period=act.entries_in_period if act else None,
                missing_days=_days_missing(
                    patient, act.entries_in_period, date_from, date_to, patient_today
                )
                if act
                else None,
                flares_in_period=act.flares_in_period if act else None,
                flare_this_week=bool(week[pid].flares_in_period) if pid in week else False,
                esspri=latest,
                esspri_change=change,
                esspri_worsened=worsened,
                imaging_waiting=waiting.get(pid, 0) if pid in img_ids else None,
            )
        )
    return rows


def _sort(rows: list[PatientRow], sort: str) -> list[PatientRow]:
    if sort == "last_entry":  # the longest silence first; nothing shared or no entry at all: top
        return sorted(rows, key=lambda r: (r.last_entry or date.min, r.name.lower()))
    if sort == "esspri_change":  # the largest worsening first; no change known: last
        return sorted(
            rows,
            key=lambda r: (r.esspri_change is None, -(r.esspri_change or 0), r.name.lower()),
        )
    if sort == "missing":
        return sorted(rows, key=lambda r: (-(r.missing_days or 0), r.name.lower()))
    return sorted(rows, key=lambda r: r.name.lower())


def patient_rows(
    *,
    clinician: User,
    request: HttpRequest | None,
    date_from: date | None = None,
    date_to: date | None = None,
    search: str = "",
    sort: str = "name",
) -> list[PatientRow]:
    """Patients with a grant in force now, matching `search` (name or e-mail), sorted; each
    listed patient's read is logged."""
    period = (date_from, date_to) if date_from and date_to else None
    grants = list(consent_selectors.active_grants_for_clinician(clinician=clinician))
    needle = search.strip().lower()
    if needle:
        grants = [
            g
            for g in grants
            if needle in (g.patient.display_name or "").lower() or needle in g.patient.email.lower()
        ]
    rows = _sort(_rows(grants, period), sort if sort in SORTS else "name")
    if rows:
        consent_services.access_log_record_many(
            actor=clinician,
            patient_ids=[r.patient_id for r in rows],
            outcome=AccessOutcome.ALLOWED,
            request=request,
        )
    return rows
