"""Reads for imaging, each applying the permission check (an active grant covering "imaging").

A clinician reaches a study only through `consent.selectors.patient_for_clinician`, which
writes the access-log row (allowed or denied) and raises Http404 without a grant.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet
from django.http import Http404, HttpRequest

from accounts.models import Role, User
from imaging.joints import JOINTS
from imaging.models import JointReview, RaReview, Result, Study

SCOPE = "imaging"


def patient_for_upload(*, clinician: User, patient_id: int, request: HttpRequest | None) -> User:
    from consent.selectors import patient_for_clinician

    if getattr(clinician, "role", None) != Role.CLINICIAN:
        raise Http404("No such patient.")
    return patient_for_clinician(
        clinician=clinician, patient_id=patient_id, scope=SCOPE, request=request
    )


def studies_for_patient(
    *, clinician: User, patient_id: int, request: HttpRequest | None
) -> tuple[User, QuerySet[Study]]:
    patient = patient_for_upload(clinician=clinician, patient_id=patient_id, request=request)
    return patient, Study.objects.filter(patient=patient).prefetch_related("results")


def study_for_clinician(*, clinician: User, study_id, request: HttpRequest | None) -> Study:
    """The study, if the clinician's grant from its patient covers imaging; else Http404 (the
    same answer for a study that does not exist, so ids cannot be probed)."""
    study = Study.objects.filter(pk=study_id).select_related("patient").first()
    if study is None or getattr(clinician, "role", None) != Role.CLINICIAN:
        raise Http404("No such study.")
    patient_for_upload(clinician=clinician, patient_id=study.patient_id, request=request)
    return study


def latest_result(*, study: Study) -> Result | None:
    return study.results.order_by("-created_at").first()


@dataclass(frozen=True)
class JointRow:
    joint: str
    model: dict  # the model's output, unchanged
    confirmed_jsn: int | None
    confirmed_erosion: int | None
    review: JointReview | None

    @property
    def shown_jsn(self):
        """What the summary shows: the clinician's value, else the model's if confident."""
        if self.confirmed_jsn is not None:
            return self.confirmed_jsn
        return None if self.model.get("needs_review") else self.model.get("jsn")

    @property
    def shown_erosion(self):
        if self.confirmed_erosion is not None:
            return self.confirmed_erosion
        return None if self.model.get("needs_review") else self.model.get("erosion")


def joint_rows(*, result: Result) -> list[JointRow]:
    """Each joint's model output beside its latest review (the confirmed value)."""
    latest: dict[str, JointReview] = {}
    for review in result.reviews.select_related("reviewed_by").order_by("reviewed_at", "id"):
        latest[review.joint] = review
    by_joint = {j["joint"]: j for j in result.joint_scores}
    rows = []
    for name in JOINTS:
        if name not in by_joint:
            continue
        review = latest.get(name)
        rows.append(
            JointRow(
                joint=name,
                model=by_joint[name],
                confirmed_jsn=review.jsn if review else None,
                confirmed_erosion=review.erosion if review else None,
                review=review,
            )
        )
    return rows


@dataclass(frozen=True)
class RaRow:
    model: dict  # the model's output, unchanged: probability, confidence, needs_review
    review: RaReview | None

    @property
    def shown(self) -> bool | None:
        """What the summary shows: the clinician's answer, else the model's if confident."""
        if self.review is not None:
            return self.review.ra_pattern
        if self.model.get("needs_review"):
            return None
        return self.model["probability"] >= 0.5


def ra_row(*, result: Result) -> RaRow | None:
    """The RA-pattern output beside its latest review (the confirmed value), if scored."""
    model = (result.scores or {}).get("ra_pattern")
    if not model:
        return None
    review = result.ra_reviews.select_related("reviewed_by").order_by("-reviewed_at", "-id").first()
    return RaRow(model=model, review=review)


def summary_studies(*, patient_id: int, limit: int = 3) -> list[tuple[Study, Result | None]]:
    """For the clinician summary, which has already checked the grant and logged the read."""
    studies = Study.objects.filter(patient_id=patient_id).order_by("-created_at")[:limit]
    return [(s, latest_result(study=s)) for s in studies]
