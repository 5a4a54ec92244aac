"""Imaging review in the browser, as the clinician: the grading form starts empty with the
model's grades beside it, all joints are saved in one submit as an independent grading,
accepting the model's grades is a separate button, and a result the model abstained on opens
a manual grading form whose status then says who graded it and when. axe runs on every page."""

from __future__ import annotations

import pytest

from consent import services as consent_services
from imaging import inference
from imaging import services as imaging_services
from imaging.joints import JOINTS
from imaging.models import Result, Review
from imaging.training.synth import generate, generate_negative, to_png_bytes
from tests.e2e.flows import sign_in_verified
from tests.factories import ClinicianFactory, PatientFactory, StaffFactory
from tests.imaging.conftest import grant

pytestmark = pytest.mark.e2e


@pytest.fixture
def world(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    alice = PatientFactory(email="alice@example.org", display_name="Alice")
    carol = ClinicianFactory(email="carol@example.org", display_name="Dr Carol")
    consent_services.clinician_verify(clinician=carol, by=StaffFactory())
    grant(alice, carol, ("diary", "imaging"))
    # Inference runs here, in the test, rather than in a worker.
    monkeypatch.setattr(imaging_services, "_enqueue", lambda result_id: None)

    def upload(image):
        study, result = imaging_services.study_upload(
            uploaded_by=carol, patient=alice, data=to_png_bytes(image)
        )
        return study, inference.result_run(result_id=result.pk)

    return carol, upload


def _grade_every_joint(page, jsn: str, erosion: str, ra: str) -> None:
    for joint in JOINTS:
        page.select_option(f"#id_jsn_{joint}", jsn)
        page.select_option(f"#id_erosion_{joint}", erosion)
    page.select_option("#id_ra_pattern", ra)


def test_clinician_grades_independently_accepts_separately_and_grades_an_abstained_result(
    browse, world
):
    carol, upload = world
    # A healthy hand drawn at the clean end of the range: the model is sure of every grade.
    healthy = generate(4_100_001, jsn=[0] * 11, erosion=[0] * 11, noise=False)
    study, result = upload(healthy.image)
    assert result.status == "scored"
    assert not any(j["needs_review"] for j in result.joint_scores), result.joint_scores
    sign_in_verified(browse, carol)
    page = browse.page

    browse.goto(f"/imaging/studies/{study.pk}/")
    # The form starts empty; the model's grades are shown beside it, not filled in.
    for joint in JOINTS:
        assert page.locator(f"#id_jsn_{joint}").input_value() == ""
        assert page.locator(f"#id_erosion_{joint}").input_value() == ""
    assert page.locator("#id_ra_pattern").input_value() == ""
    assert page.locator("td.model-grade").count() == 2 * len(JOINTS)
    browse.screenshot("imaging-study-empty-form")

    # Saving with joints missing is refused with a clear message, and nothing is saved.
    page.select_option("#id_jsn_MCP1", "1")
    browse.submit("Save my grading of all joints")
    assert "Grade every joint before saving" in page.locator("#grading-errors").inner_text()
    assert page.locator("#id_jsn_MCP1").input_value() == "1"  # what was entered is kept
    assert Review.objects.count() == 0

    _grade_every_joint(page, "1", "0", "no")
    browse.submit("Save my grading of all joints")
    status = page.locator(".review-status").inner_text()
    assert "Graded independently" in status and "Dr Carol" in status
    review = Review.objects.get()
    assert review.kind == "independent" and review.joints.count() == len(JOINTS)

    # Accepting the model's grades is its own button, and a deliberate one.
    page.get_by_label("I have looked at the radiograph and accept every grade").check()
    browse.submit("Accept the model's grades")
    status = page.locator(".review-status").inner_text()
    assert "Accepted the model's grades" in status and "Dr Carol" in status
    assert list(Review.objects.order_by("reviewed_at").values_list("kind", flat=True)) == [
        "independent",
        "accepted_model",
    ]

    # An image the model abstained on opens the manual grading form, with nothing to accept.
    other, abstained = upload(generate_negative(4_100_002).image)
    assert abstained.status == "needs_review"
    browse.goto(f"/imaging/studies/{other.pk}/")
    assert page.get_by_role("heading", name="Manual grading (the model abstained)").is_visible()
    assert page.get_by_role("button", name="Accept the model's grades").count() == 0
    assert "Not graded yet" in page.locator(".review-status").inner_text()
    _grade_every_joint(page, "0", "0", "no")
    browse.submit("Save my grading of all joints")
    browse.screenshot("imaging-study-manual")
    status = page.locator(".review-status").inner_text()
    assert "Graded manually (the model abstained)" in status and "Dr Carol" in status
    assert Result.objects.get(pk=abstained.pk).submissions.get().kind == "manual"


def test_grading_form_and_agreement_page_work_on_a_phone(open_browse, world):
    from tests.e2e.conftest import PHONE
    from tests.factories import StaffFactory as Staff

    carol, upload = world
    study, _ = upload(generate(4_100_003).image)
    phone = open_browse(PHONE)
    sign_in_verified(phone, carol)
    phone.goto(f"/imaging/studies/{study.pk}/")  # axe and reflow at 360 px
    assert phone.page.locator("#id_jsn_WRIST").input_value() == ""
    phone.screenshot("imaging-study-phone")
    staff = open_browse(PHONE)
    sign_in_verified(staff, Staff(email="sam@example.org", display_name="Sam"))
    staff.goto("/imaging/agreement/")
    assert "No reviews yet." in staff.page.content()
    imaging_services.result_review_grade(
        result=Result.objects.get(study=study),
        reviewer=carol,
        grades={j: (1, 0) for j in JOINTS},
        ra_pattern=False,
    )
    staff.goto("/imaging/agreement/")  # the tables, checked with axe at 360 px
    assert "Too few independent gradings to judge this bundle" in staff.page.content()
    staff.screenshot("imaging-agreement-phone")
