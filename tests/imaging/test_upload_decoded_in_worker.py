"""Pixels are decoded in the Celery worker, never in the web process (issue 16): a large image
costs a web worker almost nothing, and the worker's peak memory per upload is bounded."""

from __future__ import annotations

import io
import tracemalloc

import numpy as np
import pytest
from PIL import Image

from imaging import inference, services
from imaging.inputs import MAX_PIXELS, decode_image
from imaging.models import ResultStatus, Study
from tests.imaging.test_upload_and_result_api import _login

pytestmark = pytest.mark.django_db

SIDE = 5900  # 34.8 megapixels, just under the limit; compresses to a small file


@pytest.fixture(scope="module")
def big_png() -> bytes:
    assert SIDE * SIDE <= MAX_PIXELS
    img = np.zeros((SIDE, SIDE), np.uint8)
    img[SIDE // 4 : SIDE // 2, SIDE // 4 : SIDE // 2] = 200
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _peak(fn):
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_web_upload_of_a_large_image_decodes_no_pixel(big_png, patient_alice, carol_imaging):
    def upload():
        services.study_upload(uploaded_by=carol_imaging, patient=patient_alice, data=big_png)

    peak = _peak(upload)
    # The 35-megapixel image would need ~140 MB as float32; the web process holds the file only.
    assert peak < 8 * 1024 * 1024 + 4 * len(big_png), peak
    study = Study.objects.get(patient=patient_alice)
    assert not study.deidentified and (study.rows, study.columns) == (SIDE, SIDE)


def test_worker_peak_memory_per_upload_is_bounded(big_png):
    peak = _peak(lambda: decode_image(big_png))
    # float32 pixels (4 B/px) plus one float working copy and the 16-bit re-encode: <= 14 B/px.
    assert peak <= 14 * SIDE * SIDE, peak / (SIDE * SIDE)


def test_upload_is_not_served_until_the_worker_has_deidentified_it(
    client, hand_png, patient_alice, carol_imaging, django_capture_on_commit_callbacks
):
    study, result = services.study_upload(
        uploaded_by=carol_imaging, patient=patient_alice, data=hand_png
    )
    _login(client, carol_imaging)
    waiting = client.get(f"/imaging/studies/{study.pk}/image.png")
    assert waiting.status_code == 404
    raw_name = study.blob_name
    with django_capture_on_commit_callbacks(execute=True):
        inference.result_run(result_id=result.pk)
    study.refresh_from_db()
    assert study.deidentified and study.preview_blob and study.blob_name != raw_name
    assert not services.default_storage.exists(raw_name)  # the upload as received is gone
    shown = client.get(f"/imaging/studies/{study.pk}/image.png")
    assert shown.status_code == 200 and shown.content.startswith(b"\x89PNG")


@pytest.mark.parametrize("pdf_library_loaded", [False, True])
def test_upload_that_fails_to_decode_in_the_worker_keeps_nothing_identifiable(
    patient_alice, carol_imaging, hand_png, pdf_library_loaded, monkeypatch
):
    if pdf_library_loaded:
        # WeasyPrint (the patient's PDF) sets Pillow's LOAD_TRUNCATED_IMAGES at import.
        import weasyprint  # noqa: F401
        from PIL import ImageFile

        monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    broken = hand_png[: len(hand_png) // 2]  # a valid header, a truncated body
    study, result = services.study_upload(
        uploaded_by=carol_imaging, patient=patient_alice, data=broken
    )
    result = inference.result_run(result_id=result.pk)
    assert result.status == ResultStatus.FAILED and "cannot be decoded" in result.error
    assert not services.default_storage.exists(study.blob_name)
