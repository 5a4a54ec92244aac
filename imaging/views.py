"""HTML pages for imaging: a patient's studies with upload, the study page, review, images.

Thin: each view checks the role, calls one selector or service, and renders. Every route that
names a patient or a study goes through imaging.selectors, which 404s without an imaging grant
and writes the access log.
"""

from __future__ import annotations

from functools import wraps
from uuid import UUID

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from imaging import bundles as bundles_mod
from imaging import pipeline, selectors, services
from imaging.forms import AcceptModelForm, ReviewForm, UploadForm
from imaging.inputs import InputError, decode_image
from imaging.joints import JOINTS
from imaging.model_card import render_markdown

DEMO_BANNER = "Demonstration model trained on synthetic images, not for clinical use."


def _signed_in(view):
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapper


def _png(data: bytes) -> HttpResponse:
    response = HttpResponse(data, content_type="image/png")
    response["Cache-Control"] = "no-store"
    return response


@never_cache
@_signed_in
@require_http_methods(["GET", "POST"])
def patient_studies(request: HttpRequest, patient: UUID) -> HttpResponse:
    public_id = patient
    patient, studies = selectors.studies_for_patient(
        clinician=request.user, public_id=public_id, request=request
    )
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            study, _ = services.study_upload(
                uploaded_by=request.user,
                patient=patient,
                data=form.cleaned_data["file"].read(),
                request=request,
            )
        except ValidationError as exc:
            for message in exc.message_dict.get("file", exc.messages):
                form.add_error("file", message)
        else:
            messages.success(request, "Uploaded. Scoring runs in the background.")
            return redirect("imaging:study", study_id=study.pk)
    rows = [(s, selectors.latest_result(study=s)) for s in studies]
    return render(
        request,
        "imaging/patient_studies.html",
        {
            "patient_public_id": public_id,
            "patient": patient,
            "rows": rows,
            "form": form,
            "banner": DEMO_BANNER,
        },
        status=400 if form.errors else 200,
    )


def _accept_refusal(result) -> str:
    """Why the model's grades cannot be accepted as they are ("" when they can)."""
    if result is None or result.status != "scored":
        return "The model gave no grades to accept."
    abstained = [j["joint"] for j in result.joint_scores if j.get("needs_review")]
    ra = (result.scores or {}).get("ra_pattern")
    if ra is None or ra.get("needs_review"):
        abstained.append("RA pattern")
    if abstained:
        return f"The model abstained on {', '.join(abstained)}: grade this result yourself."
    return ""


def _study_page(request, obj, *, review_form=None, accept_form=None, status=200):
    result = selectors.latest_result(study=obj)
    rows = selectors.joint_rows(result=result) if result else []
    model = {row.joint: row for row in rows}
    review_form = review_form or ReviewForm()
    return render(
        request,
        "imaging/study.html",
        {
            "study": obj,
            "result": result,
            "rows": rows,
            "grading_rows": [
                (joint, jsn, erosion, model.get(joint))
                for joint, jsn, erosion in review_form.rows()
            ],
            "review_form": review_form,
            "accept_form": accept_form or AcceptModelForm(),
            "accept_refusal": _accept_refusal(result),
            "can_review": bool(result and result.status in ("scored", "needs_review")),
            "latest_review": selectors.latest_review(result=result) if result else None,
            "ra": (result.scores or {}).get("ra_pattern") if result else None,
            "ra_row": selectors.ra_row(result=result) if result else None,
            "banner": DEMO_BANNER,
        },
        status=status,
    )


@never_cache
@_signed_in
@require_GET
def study(request: HttpRequest, study_id) -> HttpResponse:
    obj = selectors.study_for_clinician(clinician=request.user, study_id=study_id, request=request)
    return _study_page(request, obj)


@never_cache
@_signed_in
@require_GET
def study_image(request: HttpRequest, study_id) -> HttpResponse:
    obj = selectors.study_for_clinician(clinician=request.user, study_id=study_id, request=request)
    if not obj.deidentified:
        raise Http404("The image is still being processed.")
    preview = services.preview_bytes(study=obj)
    if preview is None:  # studies stored before previews were kept
        try:
            stored = services.study_file_bytes(study=obj)
            preview = pipeline.preview_png(decode_image(stored).pixels)
        except InputError as exc:
            raise Http404("The stored image cannot be shown.") from exc
    return _png(preview)


@never_cache
@_signed_in
@require_GET
def study_overlay(request: HttpRequest, study_id) -> HttpResponse:
    obj = selectors.study_for_clinician(clinician=request.user, study_id=study_id, request=request)
    result = selectors.latest_result(study=obj)
    data = services.overlay_bytes(result=result) if result else None
    if not data:
        raise Http404("No saliency map for this study.")
    return _png(data)


def _add_errors(form, exc: ValidationError) -> None:
    for key, messages_ in exc.message_dict.items():
        form.add_error(key if key in form.fields else None, messages_)


@never_cache
@_signed_in
@require_POST
def joint_review(request: HttpRequest, study_id) -> HttpResponse:
    """The clinician's own grades of every joint and the RA pattern, in one submit (an
    independent grading, or a manual one where the model abstained). A partial or invalid form
    is shown again with its errors (400) and nothing is saved."""
    obj = selectors.study_for_clinician(clinician=request.user, study_id=study_id, request=request)
    result = selectors.latest_result(study=obj)
    form = ReviewForm(request.POST)
    if result is None:
        form.add_error(None, "There is no result to review yet.")
    elif form.is_valid():
        try:
            review = services.result_review_grade(
                result=result,
                reviewer=request.user,
                grades=form.grades(),
                ra_pattern=form.cleaned_data["ra_pattern"],
                request=request,
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, f"Saved: {review.get_kind_display().lower()}.")
            return redirect("imaging:study", study_id=obj.pk)
    return _study_page(request, obj, review_form=form, status=400)


@never_cache
@_signed_in
@require_POST
def accept_model(request: HttpRequest, study_id) -> HttpResponse:
    """Accept the model's grades as they are: a separate, deliberate action, recorded as such."""
    obj = selectors.study_for_clinician(clinician=request.user, study_id=study_id, request=request)
    result = selectors.latest_result(study=obj)
    form = AcceptModelForm(request.POST)
    if result is None:
        form.add_error(None, "There is no result to accept yet.")
    elif form.is_valid():
        try:
            services.result_review_accept_model(
                result=result, reviewer=request.user, request=request
            )
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Saved: you accepted the model's grades.")
            return redirect("imaging:study", study_id=obj.pk)
    return _study_page(request, obj, accept_form=form, status=400)


@never_cache
@_signed_in
@require_GET
def agreement(request: HttpRequest) -> HttpResponse:
    """Staff: agreement between the model and clinicians' independent gradings."""
    report = selectors.agreement_report(user=request.user)
    return render(
        request,
        "imaging/agreement.html",
        {
            "report": report,
            "joints": JOINTS,
            "min_gradings": selectors.MIN_GRADINGS,
            "banner": DEMO_BANNER,
        },
    )


@never_cache
@_signed_in
@require_GET
def bundle_card(request: HttpRequest, name: str) -> HttpResponse:
    """The model card of a bundle (no patient data; any signed-in user may read it)."""
    try:
        bundle = bundles_mod.get_bundle(name)
    except bundles_mod.BundleError as exc:
        raise Http404("No such bundle.") from exc
    card = render_markdown((bundle.path / "docs" / "README.md").read_text(encoding="utf-8"))
    return render(
        request,
        "imaging/bundle_card.html",
        {"bundle": bundle.describe(), "meta": bundle.meta, "card": card, "banner": DEMO_BANNER},
    )
