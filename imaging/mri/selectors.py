"""Reads for MRI, each applying the permission check of the radiographs: a verified clinician
with an active grant covering imaging (imaging.selectors.patient_for_upload, which writes the
access-log row and 404s otherwise). Patients and researchers get 404, as for radiographs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from accounts import selectors as account_selectors
from accounts.models import Role, User
from imaging.mri import storage
from imaging.mri.models import MriResult, MriReview, MriStatus, MriStudy
from imaging.selectors import patient_for_upload


def mri_studies_for_patient(
    *, clinician: User, public_id: uuid.UUID, request: HttpRequest | None
) -> tuple[User, QuerySet[MriStudy]]:
    """The patient a URL names by public id and their MRI series; an unknown id is refused like
    a patient without an imaging grant (404, logged as denied)."""
    patient_id = account_selectors.user_pk(public_id=public_id)
    patient = patient_for_upload(clinician=clinician, patient_id=patient_id, request=request)
    return patient, MriStudy.objects.filter(patient=patient).prefetch_related("results")


def mri_study_for_clinician(*, clinician: User, study_id, request: HttpRequest | None) -> MriStudy:
    """The study if the clinician's grant from its patient covers imaging, else Http404 (the
    same answer for a study that does not exist, so ids cannot be probed)."""
    study = MriStudy.objects.filter(pk=study_id).select_related("patient").first()
    if study is None or getattr(clinician, "role", None) != Role.CLINICIAN:
        raise Http404("No such study.")
    patient_for_upload(clinician=clinician, patient_id=study.patient_id, request=request)
    return study


def latest_result(*, study: MriStudy) -> MriResult | None:
    return study.results.order_by("-created_at").first()


def latest_review(*, result: MriResult) -> MriReview | None:
    return result.reviews.select_related("reviewed_by").order_by("-reviewed_at", "-id").first()


def result_scores(*, result: MriResult) -> dict | None:
    """The model's output, decrypted (the caller reached the result through a check above)."""
    return storage.result_scores(result=result, patient_id=result.study.patient_id)


@dataclass(frozen=True)
class RegionRow:
    """One region: the model's output beside the clinician's latest grade."""

    index: int
    model: dict  # region, feature, grade (None: abstained), probabilities, confidence, slices
    confirmed: int | None

    @property
    def region(self) -> str:
        return self.model["region"]

    @property
    def feature(self) -> str:
        return self.model["feature"]

    @property
    def abstained(self) -> bool:
        return self.model.get("grade") is None

    @property
    def first_slice(self) -> int:
        return int((self.model.get("slices") or [0, 0])[0])

    @property
    def last_slice(self) -> int:
        return int((self.model.get("slices") or [0, 0])[-1])

    @property
    def levels(self) -> int:
        from imaging.mri.services import region_levels

        return region_levels(self.model)


def region_rows(*, result: MriResult, review: MriReview | None) -> list[RegionRow]:
    from imaging.mri.services import model_regions

    confirmed: dict[tuple[str, str], int] = {}
    if review is not None:
        grades = storage.review_grades(review=review, patient_id=result.study.patient_id)
        confirmed = {(r["region"], r["feature"]): int(r["grade"]) for r in grades["regions"]}
    return [
        RegionRow(index=i, model=r, confirmed=confirmed.get((r["region"], r["feature"])))
        for i, r in enumerate(model_regions(result))
    ]


def review_summary(*, review: MriReview, patient_id: int) -> dict:
    return storage.review_grades(review=review, patient_id=patient_id).get("summary") or {}


def headline(study: MriStudy, result: MriResult | None, review: MriReview | None) -> str:
    """One line for lists and the timeline: the clinician's figure if reviewed, else the
    model's (marked as such), else the status."""
    if result is None:
        return "no result yet"
    if review is not None:
        summary = review_summary(review=review, patient_id=study.patient_id)
        return f"{_figure(study.bundle_name, summary)} ({review.get_kind_display().lower()})"
    if result.status == MriStatus.SCORED:
        scores = result_scores(result=result) or {}
        text = f"model: {_figure(study.bundle_name, scores.get('summary') or {})}"
        return text + "; waiting for a clinician's review"
    if result.status == MriStatus.NEEDS_REVIEW:
        return "needs manual review; waiting for a clinician"
    return result.get_status_display().lower()


def _figure(bundle_name: str, summary: dict) -> str:
    if bundle_name == "spine-berlin":
        total = summary.get("total")
        return "Berlin total not given" if total is None else f"Berlin spine total {total} of 69"
    if bundle_name == "sij-axspa":
        if "probability" in summary and summary["probability"] is not None:
            return f"axial SpA probability {float(summary['probability']):.2f}"
        if "axspa" in summary:
            return "axial SpA " + ("present" if summary["axspa"] else "absent")
        return "axial SpA not given"
    if "arthritis_probability" in summary and summary["arthritis_probability"] is not None:
        return f"arthritis probability {float(summary['arthritis_probability']):.2f}"
    graded = {k: v for k, v in summary.items() if isinstance(v, int)}
    if graded:
        return ", ".join(f"{k} up to {v}" for k, v in graded.items())
    return "no grades"


def mri_studies_between(*, patient_id: int, date_from: date, date_to: date, tz) -> list:
    """Studies uploaded in [date_from, date_to] (days in `tz`), oldest first, with their latest
    result, latest review and headline (the clinic timeline). The caller has checked the grant."""
    start = datetime.combine(date_from, time.min, tzinfo=tz)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz)
    studies = MriStudy.objects.filter(
        patient_id=patient_id, created_at__gte=start, created_at__lt=end
    ).order_by("created_at")
    out = []
    for study in studies:
        result = latest_result(study=study)
        review = latest_review(result=result) if result is not None else None
        out.append((study, result, review, headline(study, result, review)))
    return out


# A sacroiliac examination is read on a coronal and an axial series; each is scored on its own
# and the two answers are combined (imaging.mri.scoring.combine_sij) when both are in.
SIJ_PARTNER_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class SijExam:
    partner: MriStudy  # the other plane's series of the same examination
    probability: float
    per_plane: dict
    axspa: bool | None  # None: withheld (either series was withheld)


def sij_exam(*, study: MriStudy) -> SijExam | None:
    """The combined SIJ answer of this series and the nearest scored series of the other plane
    uploaded within a week (None when there is none). The caller has checked the grant."""
    from imaging.mri.contract import SIJ_AXSPA, MriScore
    from imaging.mri.scoring import combine_sij

    if study.bundle_name != SIJ_AXSPA:
        return None
    candidates = (
        MriStudy.objects.filter(
            patient_id=study.patient_id,
            bundle_name=SIJ_AXSPA,
            plane__in=["coronal", "axial"],
            created_at__gte=study.created_at - SIJ_PARTNER_WINDOW,
            created_at__lte=study.created_at + SIJ_PARTNER_WINDOW,
        )
        .exclude(plane=study.plane)
        .exclude(pk=study.pk)
    )
    scores = []
    for candidate in sorted(candidates, key=lambda s: abs(s.created_at - study.created_at)):
        result = latest_result(study=candidate)
        data = result_scores(result=result) if result else None
        if data and (data.get("summary") or {}).get("per_plane"):
            scores.append((candidate, data))
            break
    mine = latest_result(study=study)
    own = result_scores(result=mine) if mine else None
    if not scores or not own or not (own.get("summary") or {}).get("per_plane"):
        return None
    partner, other = scores[0]

    def as_score(data: dict) -> MriScore:
        return MriScore(data["bundle"], data["version"], [], data["summary"], data["abstained"])

    combined = combine_sij([as_score(own), as_score(other)])
    return SijExam(
        partner=partner,
        probability=combined["probability"],
        per_plane=combined["per_plane"],
        axspa=combined["axspa"],
    )
