"""Reads for imaging, each applying the permission check (an active grant covering "imaging").

A clinician reaches a study only through `consent.selectors.patient_for_clinician`, which
writes the access-log row (allowed or denied) and raises Http404 without a grant.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Exists, OuterRef, QuerySet, Subquery
from django.http import Http404, HttpRequest
from django.utils import timezone

from accounts import selectors as account_selectors
from accounts.models import Role, User
from imaging.joints import JOINTS
from imaging.models import (
    JointReview,
    RaReview,
    Result,
    ResultStatus,
    Review,
    ReviewKind,
    Study,
)
from imaging.mri.models import MriResult, MriReview, MriStatus
from imaging.sealed import share_keys

SCOPE = "imaging"


def patient_for_upload(
    *, clinician: User, patient_id: int | None, request: HttpRequest | None
) -> User:
    from consent.selectors import patient_for_clinician

    if getattr(clinician, "role", None) != Role.CLINICIAN:
        raise Http404("No such patient.")
    return patient_for_clinician(
        clinician=clinician, patient_id=patient_id, scope=SCOPE, request=request
    )


def studies_for_patient(
    *, clinician: User, public_id: uuid.UUID, request: HttpRequest | None
) -> tuple[User, QuerySet[Study]]:
    """The patient a URL names by public id and their studies; an unknown id is refused like a
    patient without an imaging grant (404, logged as denied)."""
    patient_id = account_selectors.user_pk(public_id=public_id)
    patient = patient_for_upload(clinician=clinician, patient_id=patient_id, request=request)
    return patient, (
        Study.objects.filter(patient=patient).select_related("patient").prefetch_related("results")
    )


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
    reviews = list(result.reviews.select_related("reviewed_by").order_by("reviewed_at", "id"))
    for review in reviews:
        review.result = result  # the grades are sealed with the result's patient's key
    share_keys(reviews)
    for review in reviews:
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


def results_awaiting_review(*, patient_ids) -> dict[int, int]:
    """Per patient, how many studies' latest result is final and scored or abstained, but has
    no clinician's review yet (the clinic list's flag). The caller has checked the grants."""
    latest = Result.objects.filter(study=OuterRef("study")).order_by("-created_at").values("pk")[:1]
    waiting = (
        Result.objects.filter(study__patient_id__in=list(patient_ids))
        .filter(pk=Subquery(latest))
        .filter(status__in=[ResultStatus.SCORED, ResultStatus.NEEDS_REVIEW])
        .exclude(Exists(Review.objects.filter(result=OuterRef("pk"))))
        .values("study__patient_id")
        .annotate(n=Count("pk"))
    )
    counts = {row["study__patient_id"]: row["n"] for row in waiting}
    for patient_id, n in _mri_awaiting_review(patient_ids).items():
        counts[patient_id] = counts.get(patient_id, 0) + n
    return counts


def _mri_awaiting_review(patient_ids) -> dict[int, int]:
    """The same count for MRI series (imaging.mri)."""
    latest = (
        MriResult.objects.filter(study=OuterRef("study")).order_by("-created_at").values("pk")[:1]
    )
    waiting = (
        MriResult.objects.filter(study__patient_id__in=list(patient_ids))
        .filter(pk=Subquery(latest))
        .filter(status__in=[MriStatus.SCORED, MriStatus.NEEDS_REVIEW])
        .exclude(Exists(MriReview.objects.filter(result=OuterRef("pk"))))
        .values("study__patient_id")
        .annotate(n=Count("pk"))
    )
    return {row["study__patient_id"]: row["n"] for row in waiting}


def studies_between(*, patient_id: int, date_from: date, date_to: date, tz) -> list:
    """Studies uploaded in [date_from, date_to] (days in `tz`) with their latest result and
    latest review, oldest first (the clinic timeline). The caller has checked the grant."""
    start = datetime.combine(date_from, time.min, tzinfo=tz)
    end = datetime.combine(date_to + timedelta(days=1), time.min, tzinfo=tz)
    studies = Study.objects.filter(
        patient_id=patient_id, created_at__gte=start, created_at__lt=end
    ).order_by("created_at")
    out = []
    for study in studies:
        result = latest_result(study=study)
        review = latest_review(result=result) if result is not None else None
        out.append((study, result, review))
    return out


def latest_review(*, result: Result) -> Review | None:
    """The latest submit (who graded it, how and when), for the result's status line."""
    return result.submissions.select_related("reviewed_by").order_by("-reviewed_at", "-id").first()


# --- Agreement between the model and clinicians (staff) -------------------------------------

# Below this many independent gradings a rate is not shown: a site should not trust (or
# distrust) a bundle on a handful of reviews.
MIN_GRADINGS = 20


@dataclass
class AgreementCell:
    """Independent gradings of one joint (or all joints) against the model's grade."""

    n: int = 0
    jsn_exact: int = 0
    jsn_within_one: int = 0
    erosion_exact: int = 0
    erosion_within_one: int = 0

    def add(self, other: AgreementCell) -> None:
        self.n += other.n
        self.jsn_exact += other.jsn_exact
        self.jsn_within_one += other.jsn_within_one
        self.erosion_exact += other.erosion_exact
        self.erosion_within_one += other.erosion_within_one

    @property
    def too_few(self) -> bool:
        return self.n < MIN_GRADINGS

    def rate(self, name: str) -> float | None:
        return None if self.too_few else getattr(self, name) / self.n

    @property
    def jsn_exact_rate(self) -> float | None:
        return self.rate("jsn_exact")

    @property
    def jsn_within_one_rate(self) -> float | None:
        return self.rate("jsn_within_one")

    @property
    def erosion_exact_rate(self) -> float | None:
        return self.rate("erosion_exact")

    @property
    def erosion_within_one_rate(self) -> float | None:
        return self.rate("erosion_within_one")

    def as_dict(self) -> dict:
        return {
            "gradings": self.n,
            "too_few": self.too_few,
            **{
                f"{k}_rate": self.rate(k)
                for k in ("jsn_exact", "jsn_within_one", "erosion_exact", "erosion_within_one")
            },
        }


@dataclass
class BundleAgreement:
    bundle: str  # "name version"
    joints: dict[str, AgreementCell] = field(default_factory=dict)  # all months
    total: AgreementCell = field(default_factory=AgreementCell)
    months: dict[date, dict[str, AgreementCell]] = field(default_factory=dict)
    month_totals: dict[date, AgreementCell] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # submits per review kind
    abstained_joints: int = 0  # independently graded joints the model abstained on


def _require_staff(user: User) -> None:
    if not getattr(user, "is_authenticated", False) or user.role != Role.STAFF:
        raise PermissionDenied("Only staff can see the model agreement figures.")


def agreement_report(*, user: User) -> list[BundleAgreement]:
    """Per bundle, per joint and per month: how often clinicians' independent gradings agree
    with the model's grade, exactly and within one grade. Only independent gradings count: an
    accepted-model review copies the model (it would inflate agreement) and a manual grading or
    an abstained joint has no model grade to compare with. No patient data: counts only."""
    _require_staff(user)
    report: dict[str, BundleAgreement] = {}

    def bundle(name: str, version: str) -> BundleAgreement:
        key = f"{name} {version}".strip() or "unknown bundle"
        return report.setdefault(key, BundleAgreement(bundle=key))

    for row in _independent_gradings():
        b = bundle(row.result.bundle_name, row.result.bundle_version)
        if row.model_abstained:
            b.abstained_joints += 1
            continue
        if row.model_jsn is None or row.model_erosion is None:
            continue
        cell = _agreement_cell(row)
        # The month in the current time zone, as TruncMonth counted it in SQL.
        month = timezone.localtime(row.review.reviewed_at).date().replace(day=1)
        b.joints.setdefault(row.joint, AgreementCell()).add(cell)
        b.months.setdefault(month, {}).setdefault(row.joint, AgreementCell()).add(cell)
        b.month_totals.setdefault(month, AgreementCell()).add(cell)
        b.total.add(cell)
    kinds = (
        Review.objects.values("result__bundle_name", "result__bundle_version", "kind")
        .annotate(n=Count("id"))
        .order_by()
    )
    for row in kinds:
        b = bundle(row["result__bundle_name"], row["result__bundle_version"])
        b.counts[row["kind"]] = row["n"]
    order = {j: i for i, j in enumerate(JOINTS)}

    def by_joint(cells: dict[str, AgreementCell]) -> dict[str, AgreementCell]:
        return dict(sorted(cells.items(), key=lambda kv: order.get(kv[0], len(order))))

    for b in report.values():
        b.joints = {j: b.joints.get(j, AgreementCell()) for j in JOINTS}  # every joint, 0s too
        b.months = {m: by_joint(c) for m, c in sorted(b.months.items(), reverse=True)}
        b.month_totals = dict(sorted(b.month_totals.items(), reverse=True))
    return sorted(report.values(), key=lambda b: b.bundle)


def _independent_gradings():
    """Every joint row of an independent grading, its grades opened (they are sealed: the
    comparisons are made here, not in SQL), one key unwrap per patient per chunk."""
    rows = (
        JointReview.objects.filter(review__kind=ReviewKind.INDEPENDENT)
        .select_related("review", "result__study")
        .order_by("pk")
    )
    chunk: list[JointReview] = []
    for row in rows.iterator(chunk_size=2000):
        chunk.append(row)
        if len(chunk) == 2000:
            share_keys(chunk)
            yield from chunk
            chunk = []
    share_keys(chunk)
    yield from chunk


def _agreement_cell(row: JointReview) -> AgreementCell:
    """One independent grading of one joint against the model's grade."""
    return AgreementCell(
        n=1,
        jsn_exact=int(row.jsn == row.model_jsn),
        jsn_within_one=int(abs(row.jsn - row.model_jsn) <= 1),
        erosion_exact=int(row.erosion == row.model_erosion),
        erosion_within_one=int(abs(row.erosion - row.model_erosion) <= 1),
    )
