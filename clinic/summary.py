"""The pre-appointment summary (page, API and PDF read the same report).

It starts from consent.selectors (grant check + access-log row) and then calls the diary's and
imaging's own selectors for the one patient the grant covers, so the page, its API twin and the
PDF cannot differ.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from uuid import UUID

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import User
from consent import selectors as consent_selectors
from consent.models import ShareScope, SharingGrant
from diary import selectors as diary_selectors
from diary.fields import SYMPTOM_FIELDS
from diary.questionnaires.definitions import get_instrument
from diary.questionnaires.scoring import band_for, change_between, format_score, is_acceptable
from diary.trends.selectors import trends_for
from imaging import selectors as imaging_selectors

DEFAULT_PERIOD_DAYS = 90


def default_period(today: date | None = None) -> tuple[date, date]:
    today = today or timezone.localdate()
    return today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), today


# --- Pre-appointment summary -------------------------------------------------------------------


@dataclass(frozen=True)
class WeekRow:
    week_start: date
    entries: int
    means: dict[str, float | None]
    flares: int


@dataclass(frozen=True)
class QuestionnaireRow:
    instrument: str
    instrument_name: str
    period_end: date
    score: float | None
    score_text: str
    band: str | None
    acceptable: bool | None
    change: str | None


@dataclass(frozen=True)
class MedicineRow:
    name: str
    dose: str
    unit: str
    schedule: str
    start_date: date
    end_date: date | None
    changes_in_period: tuple[str, ...]
    expected: int | None
    taken: int | None
    percent: float | None


@dataclass(frozen=True)
class ImagingJointRow:
    joint: str
    jsn: int | None  # None: the model was unsure and nobody has confirmed a grade yet
    erosion: int | None
    source: str  # "confirmed" (a clinician's grade), "model" or "needs review"


@dataclass(frozen=True)
class ImagingRow:
    study_id: str
    uploaded_on: date
    body_part: str
    status: str | None  # the latest result's status; None before any result exists
    status_label: str
    confidence: float | None
    ra_probability: float | None
    ra_needs_review: bool | None
    joints_confirmed: int
    joints: tuple[ImagingJointRow, ...]


# The imaging app renders its own block of the summary page (figures, model card banner) from
# this template; the API and the PDF serialise `PatientSummary.imaging` instead. All read
# imaging.selectors.summary_studies, so they list the same studies.
IMAGING_TEMPLATE = "imaging/_summary.html"


@dataclass
class PatientSummary:
    patient_id: int  # internal (the imaging block's query); never rendered
    patient_public_id: UUID  # what links and the API show; never the integer key
    patient_name: str
    date_from: date
    date_to: date
    scopes: tuple[str, ...]
    entry_count: int = 0
    days_in_period: int = 0
    symptom_labels: dict[str, str] = field(default_factory=dict)
    period_means: dict[str, float | None] = field(default_factory=dict)
    weeks: list[WeekRow] = field(default_factory=list)
    flare_dates: list[date] = field(default_factory=list)
    trends: object | None = None  # diary.trends.selectors.Trends: charts and text summary
    medicines: list[MedicineRow] | None = None
    questionnaires: list[QuestionnaireRow] | None = None
    imaging_shared: bool = False
    # None: imaging is not shared, or the imaging app is not installed; else newest first.
    imaging: list[ImagingRow] | None = None
    imaging_template: str | None = None

    @property
    def shares_medicines(self) -> bool:
        return self.medicines is not None

    @property
    def shares_questionnaires(self) -> bool:
        return self.questionnaires is not None


def clinician_summary(
    *,
    clinician: User,
    patient_id: int | None,
    date_from: date,
    date_to: date,
    request: HttpRequest | None,
) -> PatientSummary:
    """The summary of a period, if the clinician holds a grant covering the diary (else 404).

    Medicines, questionnaires and imaging appear only where the grant covers them.
    """
    grant = consent_selectors.grant_for_read(
        clinician=clinician, patient_id=patient_id, scope=ShareScope.DIARY, request=request
    )
    patient = grant.patient
    report = PatientSummary(
        patient_id=patient.pk,
        patient_public_id=patient.public_id,
        patient_name=patient.display_name or patient.email,
        date_from=date_from,
        date_to=date_to,
        scopes=tuple(grant.scopes),
        days_in_period=(date_to - date_from).days + 1,
        imaging_shared=grant.share_imaging,
    )
    _fill_diary(report, patient, grant)
    if grant.share_medicines:
        report.medicines = _medicines(patient, date_from, date_to)
    if grant.share_questionnaires:
        report.questionnaires = _questionnaires(patient, date_from, date_to)
    if grant.share_imaging:
        report.imaging = _imaging(patient.pk)
        report.imaging_template = IMAGING_TEMPLATE
    return report


def _fill_diary(report: PatientSummary, patient: User, grant: SharingGrant) -> None:
    """Charts, text summary and weekly means from the diary's trend helpers (one decryption)."""
    trends = trends_for(
        patient=patient,
        date_from=report.date_from,
        date_to=report.date_to,
        # What the grant does not cover is left out of the charts too.
        include_medicines=grant.share_medicines,
        include_esspri=grant.share_questionnaires,
    )
    report.trends = trends
    report.symptom_labels = {f.name: f.label for f in SYMPTOM_FIELDS}
    report.entry_count = trends.summary.days_recorded
    report.flare_dates = list(trends.summary.flare_dates)
    report.period_means = {s.name: _round(s.average) for s in trends.summary.symptoms}
    report.weeks = [
        WeekRow(
            week_start=w.week_start,
            entries=w.days_recorded,
            means={name: _round(value) for name, value in w.means.items()},
            flares=w.flare_days,
        )
        for w in trends.weeks
    ]


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


def _medicines(patient: User, date_from: date, date_to: date) -> list[MedicineRow]:
    adherence = {
        row.medicine.id: row
        for row in diary_selectors.adherence(patient=patient, date_from=date_from, date_to=date_to)
    }
    rows = []
    for med in diary_selectors.medicines_for(patient=patient):
        if med.start_date > date_to or (med.end_date and med.end_date < date_from):
            continue
        changes = []
        if date_from <= med.start_date <= date_to:
            changes.append(f"started {med.start_date:%-d %b %Y}")
        for change in med.history:
            if date_from <= change.date <= date_to and change.date != med.start_date:
                changes.append(
                    f"dose changed to {change.dose} {change.unit} on {change.date:%-d %b %Y}"
                )
        if med.end_date and date_from <= med.end_date <= date_to:
            changes.append(f"stopped {med.end_date:%-d %b %Y}")
        adh = adherence.get(med.id)
        rows.append(
            MedicineRow(
                name=med.name,
                dose=med.dose,
                unit=med.unit,
                schedule=med.schedule_label,
                start_date=med.start_date,
                end_date=med.end_date,
                changes_in_period=tuple(changes),
                expected=adh.expected if adh else None,
                taken=adh.taken if adh else None,
                percent=adh.percent if adh else None,
            )
        )
    return rows


def _questionnaires(patient: User, date_from: date, date_to: date) -> list[QuestionnaireRow]:
    responses = diary_selectors.questionnaires_between(
        patient=patient, date_from=None, date_to=date_to
    )
    previous: dict[str, float | None] = {}
    rows = []
    for response in responses:
        instrument = get_instrument(response.instrument)
        change = change_between(instrument, previous.get(response.instrument), response.score)
        previous[response.instrument] = response.score
        if response.period_end < date_from:
            continue  # read only to know the score before the period, for the change marker
        band = band_for(instrument, response.score)
        rows.append(
            QuestionnaireRow(
                instrument=response.instrument,
                instrument_name=instrument.short_name,
                period_end=response.period_end,
                score=response.score,
                score_text=format_score(response.score),
                band=band.label if band else None,
                acceptable=is_acceptable(instrument, response.score),
                change=str(change) if change else None,
            )
        )
    return rows


# --- Imaging (read only through imaging.selectors) ----------------------------------------


def _joint_source(row) -> str:
    if row.review is not None:
        return "confirmed"
    return "needs review" if row.shown_jsn is None else "model"


def _imaging(patient_id: int) -> list[ImagingRow]:
    """The latest studies and their results. The caller has checked the grant covers imaging
    and logged the read."""
    rows = []
    for study, result in imaging_selectors.summary_studies(patient_id=patient_id):
        joints = imaging_selectors.joint_rows(result=result) if result is not None else []
        ra = ((result.scores or {}).get("ra_pattern") or {}) if result is not None else {}
        rows.append(
            ImagingRow(
                study_id=str(study.pk),
                uploaded_on=timezone.localdate(study.created_at),
                body_part=study.body_part,
                status=result.status if result is not None else None,
                status_label=result.get_status_display() if result is not None else "No result yet",
                confidence=result.confidence if result is not None else None,
                ra_probability=ra.get("probability"),
                ra_needs_review=ra.get("needs_review") if ra else None,
                joints_confirmed=sum(1 for j in joints if j.review is not None),
                joints=tuple(
                    ImagingJointRow(
                        joint=j.joint,
                        jsn=j.shown_jsn,
                        erosion=j.shown_erosion,
                        source=_joint_source(j),
                    )
                    for j in joints
                ),
            )
        )
    return rows
