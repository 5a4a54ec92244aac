"""HTML pages for MRI: a patient's series with upload, the study page (slice viewer, region
table, review), and the viewer's binary data.

Thin, as the radiograph pages: each view calls one selector or service. Every route that names
a patient or a study goes through imaging.mri.selectors (404 without an imaging grant, logged).
"""

from __future__ import annotations

import json
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from imaging.mri import selectors, services, storage
from imaging.mri.forms import MriAcceptForm, MriReviewForm, MriUploadForm
from imaging.mri.models import MriStatus
from imaging.views import DEMO_BANNER, _add_errors, _signed_in

MRI_BANNER = (
    "Demonstration models trained on synthetic MRI volumes, not for clinical use: their "
    "figures say nothing about real patients."
)


def _binary(data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="application/octet-stream")
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@_signed_in
@require_http_methods(["GET", "POST"])
def patient_studies(request: HttpRequest, patient: UUID) -> HttpResponse:
    public_id = patient
    patient, studies = selectors.mri_studies_for_patient(
        clinician=request.user, public_id=public_id, request=request
    )
    form = MriUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            study, _ = services.mri_study_upload(
                uploaded_by=request.user,
                patient=patient,
                files=[(f.name, f.read()) for f in form.cleaned_data["files"]],
                bundle_name=form.cleaned_data["bundle"],
                request=request,
            )
        except ValidationError as exc:
            for key, errors in exc.message_dict.items():
                form.add_error(key if key in form.fields else None, errors)
        else:
            messages.success(request, "Uploaded. Scoring runs in the background.")
            return redirect("imaging:mri_study", study_id=study.pk)
    rows = [(s, selectors.latest_result(study=s)) for s in studies]
    return render(
        request,
        "imaging/mri_patient_studies.html",
        {
            "patient": patient,
            "rows": rows,
            "form": form,
            "banner": MRI_BANNER,
        },
        status=400 if form.errors else 200,
    )


def _accept_refusal(result, rows) -> str:
    if result is None or result.status != MriStatus.SCORED:
        return "The model gave no grades to accept."
    abstained = [f"{r.region} ({r.feature})" for r in rows if r.abstained]
    if abstained:
        return f"The model abstained on {', '.join(abstained)}: grade this series yourself."
    return ""


def _study_page(request, study, *, review_form=None, accept_form=None, status=200):
    result = selectors.latest_result(study=study)
    review = selectors.latest_review(result=result) if result else None
    reviewable = bool(result and result.status in (MriStatus.SCORED, MriStatus.NEEDS_REVIEW))
    rows = selectors.region_rows(result=result, review=review) if reviewable else []
    scores = selectors.result_scores(result=result) if result else None
    viewer = {
        "volume_url": reverse("imaging:mri_volume", args=[study.pk]),
        "saliency_url": (
            reverse("imaging:mri_saliency", args=[study.pk])
            if result is not None and result.saliency_blob
            else ""
        ),
        "slices": study.slices,
        "plane": study.plane,
        "regions": [
            {
                "index": r.index,
                "label": f"{r.region} ({r.feature})",
                "first": r.first_slice,
                "last": r.last_slice,
            }
            for r in rows
            if scores  # only the model's regions carry slices
        ],
    }
    return render(
        request,
        "imaging/mri_study.html",
        {
            "study": study,
            "result": result,
            "scores": scores,
            "rows": rows,
            "with_slices": bool(scores),
            "viewer": viewer,
            "review_form": review_form or MriReviewForm(rows=rows),
            "accept_form": accept_form or MriAcceptForm(),
            "accept_refusal": _accept_refusal(result, rows),
            "can_review": reviewable,
            "latest_review": review,
            "reviewed_summary": (
                selectors.review_summary(review=review, patient_id=study.patient_id)
                if review
                else None
            ),
            "headline": selectors.headline(study, result, review),
            "sij_exam": selectors.sij_exam(study=study),
            "card_name": study.bundle_name.replace("-", "_"),
            "banner": MRI_BANNER,
            "radiograph_banner": DEMO_BANNER,
        },
        status=status,
    )


@never_cache
@_signed_in
@require_GET
def study(request: HttpRequest, study_id) -> HttpResponse:
    obj = selectors.mri_study_for_clinician(
        clinician=request.user, study_id=study_id, request=request
    )
    return _study_page(request, obj)


@never_cache
@_signed_in
@require_GET
def volume(request: HttpRequest, study_id) -> HttpResponse:
    """The viewer's copy of the volume: uint16 little endian, (slices, rows, columns) at <= 256
    px; its shape and window presets come with the response headers."""
    obj = selectors.mri_study_for_clinician(
        clinician=request.user, study_id=study_id, request=request
    )
    levels, info = storage.viewer_volume(storage.study_volume(study=obj))
    response = _binary(levels.astype("<u2").tobytes())
    response["X-Volume-Shape"] = ",".join(str(n) for n in info["shape"])
    response["X-Window-Presets"] = json.dumps(info["presets"])  # ASCII JSON
    return response


@never_cache
@_signed_in
@require_GET
def saliency(request: HttpRequest, study_id) -> HttpResponse:
    obj = selectors.mri_study_for_clinician(
        clinician=request.user, study_id=study_id, request=request
    )
    result = selectors.latest_result(study=obj)
    data = storage.saliency_bytes(result=result, patient_id=obj.patient_id) if result else None
    if not data:
        raise Http404("No saliency map for this series.")
    return _binary(data)


@never_cache
@_signed_in
@require_POST
def review(request: HttpRequest, study_id) -> HttpResponse:
    """The clinician's own grade of every region in one submit; a partial or invalid form is
    shown again with its errors (400) and nothing is saved."""
    obj = selectors.mri_study_for_clinician(
        clinician=request.user, study_id=study_id, request=request
    )
    result = selectors.latest_result(study=obj)
    reviewable = bool(result and result.status in (MriStatus.SCORED, MriStatus.NEEDS_REVIEW))
    rows = selectors.region_rows(result=result, review=None) if reviewable else []
    form = MriReviewForm(request.POST, rows=rows)
    if not reviewable:
        form.add_error(None, "There is no result to review yet.")
    elif form.is_valid():
        try:
            saved = services.mri_review_grade(
                result=result, reviewer=request.user, grades=form.grades(), request=request
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Saved: {saved.get_kind_display().lower()}.")
            return redirect("imaging:mri_study", study_id=obj.pk)
    return _study_page(request, obj, review_form=form, status=400)


@never_cache
@_signed_in
@require_POST
def accept_model(request: HttpRequest, study_id) -> HttpResponse:
    """Accept the model's grades as they are: a separate, deliberate action, recorded as such."""
    obj = selectors.mri_study_for_clinician(
        clinician=request.user, study_id=study_id, request=request
    )
    result = selectors.latest_result(study=obj)
    form = MriAcceptForm(request.POST)
    if result is None:
        form.add_error(None, "There is no result to accept yet.")
    elif form.is_valid():
        try:
            services.mri_review_accept_model(result=result, reviewer=request.user, request=request)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Saved: you accepted the model's grades.")
            return redirect("imaging:mri_study", study_id=obj.pk)
    return _study_page(request, obj, accept_form=form, status=400)
