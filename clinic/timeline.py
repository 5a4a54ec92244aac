"""One patient's timeline: diary scores and flares, questionnaire scores, medicine starts,
changes and stops, and imaging results on one time axis (newest day first).

Only what the grant covers appears; the grant check and the access-log row come from
consent.selectors, the data from diary.selectors and imaging.selectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from urllib.parse import urlencode
from uuid import UUID

from django.http import HttpRequest
from django.urls import reverse

from accounts.models import User
from consent import selectors as consent_selectors
from diary import selectors as diary_selectors
from diary.fields import SYMPTOM_FIELDS
from diary.questionnaires.definitions import get_instrument
from diary.questionnaires.scoring import change_between, format_score
from imaging import selectors as imaging_selectors
from imaging.mri import selectors as mri_selectors

DEFAULT_TIMELINE_DAYS = 90

KIND_LABELS = {
    "diary": "Diary",
    "flare": "Flare",
    "questionnaire": "Questionnaire",
    "medicine": "Medicine",
    "imaging": "Imaging",
}


def default_period(today: date) -> tuple[date, date]:
    return today - timedelta(days=DEFAULT_TIMELINE_DAYS - 1), today


@dataclass(frozen=True)
class Event:
    day: date
    kind: str  # a key of KIND_LABELS
    title: str
    detail: str = ""
    url: str = ""
    link_text: str = ""
    value: float | None = None  # the plotted value (diary mean, questionnaire score)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS[self.kind]


@dataclass
class Timeline:
    patient_public_id: UUID  # what links show; never the integer key
    patient_name: str
    date_from: date
    date_to: date
    scopes: tuple[str, ...]
    days: list[tuple[date, list[Event]]] = field(default_factory=list)

    @property
    def event_count(self) -> int:
        return sum(len(events) for _, events in self.days)

    def count(self, kind: str) -> int:
        return sum(1 for _, events in self.days for e in events if e.kind == kind)

    @property
    def figure(self) -> dict:
        """A plotly figure of the same events (trends.js draws it): the diary's daily mean and
        ESSPRI on the 0-10 scale, flares at the top, medicine and imaging events at the foot.
        The list under it says the same in words."""
        events = [e for _, day_events in sorted(self.days) for e in day_events]

        def trace(kind: str, name: str, y, mode: str, **style) -> dict:
            chosen = [
                e
                for e in events
                if e.kind == kind and (kind != "questionnaire" or "ESSPRI" in e.title)
            ]
            return {
                "type": "scatter",
                "name": name,
                "mode": mode,
                "x": [e.day.isoformat() for e in chosen],
                "y": [y(e) for e in chosen],
                "text": [e.title for e in chosen],
                "hoverinfo": "x+text",
                **style,
            }

        data = [
            trace(
                "diary",
                "Diary: mean symptom score",
                lambda e: e.value,
                "lines+markers",
                line={"color": "#0b4f8a"},
                marker={"size": 4},
            ),  # fmt: skip
            trace(
                "questionnaire",
                "ESSPRI",
                lambda e: e.value,
                "markers",
                marker={"color": "#6a1b9a", "size": 10, "symbol": "diamond"},
            ),  # fmt: skip
            trace(
                "flare",
                "Flare",
                lambda e: 10,
                "markers",
                marker={"color": "#b3261e", "size": 10, "symbol": "x"},
            ),  # fmt: skip
            trace(
                "medicine",
                "Medicine start, change or stop",
                lambda e: 0.6,
                "markers",
                marker={"color": "#1b5e20", "size": 10, "symbol": "triangle-up"},
            ),  # fmt: skip
            trace(
                "imaging",
                "Imaging",
                lambda e: 1.4,
                "markers",
                marker={"color": "#8a4b00", "size": 10, "symbol": "square"},
            ),  # fmt: skip
        ]
        return {
            "data": [t for t in data if t["x"]],
            "layout": {
                "height": 320,
                "margin": {"l": 40, "r": 10, "t": 10, "b": 40},
                "xaxis": {
                    "type": "date",
                    "range": [self.date_from.isoformat(), self.date_to.isoformat()],
                },
                "yaxis": {"range": [0, 10.5], "title": {"text": "0-10"}},
                "legend": {"orientation": "h", "y": -0.2},
                "paper_bgcolor": "#ffffff",
                "plot_bgcolor": "#ffffff",
            },
        }


def _summary_url(patient_public_id: UUID, start: date, end: date, anchor: str = "") -> str:
    query = urlencode({"from": start.isoformat(), "to": end.isoformat()})
    return f"{reverse('clinic:summary', args=[patient_public_id])}?{query}{anchor}"


def _diary_events(patient: User, date_from: date, date_to: date, summary: bool) -> list[Event]:
    events = []
    for entry in diary_selectors.entries_between(
        patient=patient, date_from=date_from, date_to=date_to
    ):
        scores = [(f.label, getattr(entry, f.name)) for f in SYMPTOM_FIELDS]
        known = [v for _, v in scores if v is not None]
        mean = round(sum(known) / len(known), 1) if known else None
        week = (entry.date - timedelta(days=entry.date.weekday()), entry.date)
        link = (
            _summary_url(patient.public_id, week[0], week[0] + timedelta(days=6)) if summary else ""
        )
        events.append(
            Event(
                day=entry.date,
                kind="diary",
                title="Diary entry"
                + (f": mean symptom score {mean:.1f} of 10" if mean is not None else ""),
                detail="; ".join(f"{label} {v if v is not None else '-'}" for label, v in scores),
                url=link,
                link_text="That week in the summary" if link else "",
                value=mean,
            )
        )
        if entry.flare:
            events.append(Event(day=entry.date, kind="flare", title="Flare recorded"))
    return events


def _questionnaire_events(patient: User, date_from: date, date_to: date) -> list[Event]:
    events = []
    previous: dict[str, float | None] = {}
    for response in diary_selectors.questionnaires_between(
        patient=patient, date_from=None, date_to=date_to
    ):
        instrument = get_instrument(response.instrument)
        change = change_between(instrument, previous.get(response.instrument), response.score)
        previous[response.instrument] = response.score
        if response.period_end < date_from:
            continue  # read only for the change marker of the first one in the period
        words = {"worsened": "meaningful worsening", "improved": "meaningful improvement"}
        events.append(
            Event(
                day=response.period_end,
                kind="questionnaire",
                title=f"{instrument.short_name} {format_score(response.score)}",
                detail=words.get(str(change), "") if change else "",
                url=_summary_url(
                    patient.public_id, response.period_start, response.period_end, "#questionnaires"
                ),
                link_text="Period in the summary",
                value=response.score,
            )
        )
    return events


def _medicine_events(patient: User, date_from: date, date_to: date) -> list[Event]:
    events = []

    def add(day: date, title: str, detail: str) -> None:
        if date_from <= day <= date_to:
            events.append(
                Event(
                    day=day,
                    kind="medicine",
                    title=title,
                    detail=detail,
                    url=_summary_url(patient.public_id, day, min(day + timedelta(days=29), date_to))
                    + "#medicines",
                    link_text="Medicines in the summary",
                )
            )

    for med in diary_selectors.medicines_for(patient=patient):
        add(med.start_date, f"Started {med.name}", f"{med.dose} {med.unit}, {med.schedule_label}")
        for change in med.history:
            if change.date != med.start_date:
                add(change.date, f"{med.name}: dose changed", f"{change.dose} {change.unit}")
        if med.end_date:
            add(med.end_date, f"Stopped {med.name}", "")
    return events


def _imaging_events(patient: User, date_from: date, date_to: date) -> list[Event]:
    events = []
    zone = diary_selectors.patient_zone(patient)
    for study, result, review in imaging_selectors.studies_between(
        patient_id=patient.pk, date_from=date_from, date_to=date_to, tz=zone
    ):
        status = "no result yet" if result is None else result.get_status_display().lower()
        if review is not None:
            status += f"; {review.get_kind_display().lower()}"
        elif result is not None and result.is_final and result.status != "failed":
            status += "; waiting for a clinician's review"
        events.append(
            Event(
                day=study.created_at.astimezone(zone).date(),
                kind="imaging",
                title=f"{(study.body_part or 'Radiograph').capitalize()} uploaded",
                detail=status,
                url=reverse("imaging:study", args=[study.pk]),
                link_text="Open the result",
            )
        )
    return events


def _mri_events(patient: User, date_from: date, date_to: date) -> list[Event]:
    """MRI series beside the radiographs: the clinician's figure when reviewed, else the
    model's (marked as the model's), else the status."""
    zone = diary_selectors.patient_zone(patient)
    return [
        Event(
            day=study.created_at.astimezone(zone).date(),
            kind="imaging",
            title=f"{study.kind_label} uploaded ({study.plane}, {study.slices} slices)",
            detail=headline,
            url=reverse("imaging:mri_study", args=[study.pk]),
            link_text="Open the series",
        )
        for study, _result, _review, headline in mri_selectors.mri_studies_between(
            patient_id=patient.pk, date_from=date_from, date_to=date_to, tz=zone
        )
    ]


def patient_timeline(
    *, clinician: User, patient_id: int | None, date_from: date, date_to: date, request: HttpRequest
) -> Timeline:
    """The timeline of a period if the clinician holds an active grant (any scope), else 404
    (logged as denied). Each kind of event appears only where the grant covers it."""
    grant = consent_selectors.grant_for_read(
        clinician=clinician, patient_id=patient_id, scope=None, request=request
    )
    patient = grant.patient
    events: list[Event] = []
    if grant.share_diary:
        events += _diary_events(patient, date_from, date_to, summary=True)
    if grant.share_questionnaires:
        events += _questionnaire_events(patient, date_from, date_to)
    if grant.share_medicines:
        events += _medicine_events(patient, date_from, date_to)
    if grant.share_imaging:
        events += _imaging_events(patient, date_from, date_to)
        events += _mri_events(patient, date_from, date_to)
    if not grant.share_diary:  # the summary needs the diary: no link that would 404
        events = [replace(e, url="", link_text="") if e.kind != "imaging" else e for e in events]
    order = list(KIND_LABELS)
    by_day: dict[date, list[Event]] = {}
    for event in sorted(events, key=lambda e: (e.day, order.index(e.kind))):
        by_day.setdefault(event.day, []).append(event)
    return Timeline(
        patient_public_id=patient.public_id,
        patient_name=patient.display_name or patient.email,
        date_from=date_from,
        date_to=date_to,
        scopes=tuple(grant.scopes),
        days=sorted(by_day.items(), reverse=True),
    )
