"""HTML pages for imaging: a patient's studies with upload, the study page, review, images.

Thin: each view checks the role, calls one selector or service, and renders. Every route that
names a patient or a study goes through imaging.selectors, which 404s without an imaging grant
and writes the access log.
"""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from imaging import bundles as bundles_mod
from imaging import pipeline, selectors, services
from imaging.forms import JointReviewForm, RaReviewForm, UploadForm
from imaging.inputs import InputError, decode_image

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
def patient_studies(request: HttpRequest, patient_id: int) -> HttpResponse:
    patient, studies = selectors.studies_for_patient(
        clinician=request.user, patient_id=patient_id, request=request
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
        {"patient_id": patient_id, "rows": rows, "form": form, "banner": DEMO_BANNER},
        status=400 if form.errors else 200,
    )


@never_cache
@_signed_in
@require_GET
def study(request: HttpRequest, study_id) -> HttpResponse:
    obj = selectors.study_for_clinician(clinician=request.user, study_id=study_id, request=request)
    result = selectors.latest_result(study=obj)
    rows = selectors.joint_rows(result=result) if result else []
    return render(
        request,
        "imaging/study.html",
        {
            "study": obj,
            "result": result,
            "rows": rows,
            "ra": (result.scores or {}).get("ra_pattern") if result else None,
            "ra_row": selectors.ra_row(result=result) if result else None,
            "banner": DEMO_BANNER,
            "grades_jsn": range(5),
            "grades_erosion": range(6),
        },
    )


@never_cache
@_signed_in
@require_GET
def study_image(request: HttpRequest, study_id) -> HttpResponse:
    obj = selectors.study_for_clinician(clinician=request.user, study_id=study_id, request=request)
    try:
        decoded = decode_image(services.study_file_bytes(study=obj))
    except InputError as exc:
        raise Http404("The stored image cannot be shown.") from exc
    return _png(pipeline.preview_png(decoded.pixels))


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


@never_cache
@_signed_in
@require_POST
def joint_review(request: HttpRequest, study_id) -> HttpResponse:
    """Save one review of the latest result: a joint's grades, or (score=ra_pattern) the
    image-level RA pattern. One route for every score of the study."""
    obj = selectors.study_for_clinician(clinician=request.user, study_id=study_id, request=request)
    result = selectors.latest_result(study=obj)
    is_ra = request.POST.get("score") == "ra_pattern"
    form = RaReviewForm(request.POST) if is_ra else JointReviewForm(request.POST)
    if result is None or not form.is_valid():
        messages.error(request, "The review was not saved: choose a value for each score.")
        return redirect("imaging:study", study_id=obj.pk)
    try:
        if is_ra:
            services.ra_review_save(
                result=result,
                reviewer=request.user,
                ra_pattern=form.cleaned_data["ra_pattern"],
                request=request,
            )
        else:
            services.joint_review_save(
                result=result,
                reviewer=request.user,
                joint=form.cleaned_data["joint"],
                jsn=form.cleaned_data["jsn"],
                erosion=form.cleaned_data["erosion"],
                request=request,
            )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, "RA pattern saved." if is_ra else f"{form.cleaned_data['joint']} saved."
        )
    return redirect("imaging:study", study_id=obj.pk)


@never_cache
@_signed_in
@require_GET
def bundle_card(request: HttpRequest, name: str) -> HttpResponse:
    """The model card of a bundle (no patient data; any signed-in user may read it)."""
    try:
        bundle = bundles_mod.get_bundle(name)
    except bundles_mod.BundleError as exc:
        raise Http404("No such bundle.") from exc
    card = (bundle.path / "docs" / "README.md").read_text(encoding="utf-8")
    return render(
        request,
        "imaging/bundle_card.html",
        {"bundle": bundle.describe(), "meta": bundle.meta, "card": card, "banner": DEMO_BANNER},
    )
