"""The MRI slice viewer in the browser, as the clinician: keyboard, wheel and swipe scrolling,
window presets, the saliency overlay switch, and the region table's slice links; axe on the
page before and after the viewer has drawn, under the real CSP."""

from __future__ import annotations

import pytest

from consent import services as consent_services
from imaging.mri import services as mri_services
from imaging.mri.inference import mri_result_store
from tests.e2e.flows import sign_in_verified
from tests.factories import ClinicianFactory, PatientFactory, StaffFactory
from tests.imaging.conftest import grant
from tests.imaging.mri_helpers import berlin_score, mr_series, zip_of

pytestmark = pytest.mark.e2e

# Red minus blue over the canvas: the overlay tints where the model saw evidence.
TINT = """() => {
  const c = document.getElementById('mri-canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let s = 0;
  for (let i = 0; i < d.length; i += 4) { s += d[i] - d[i + 2]; }
  return s;
}"""
MEAN = """() => {
  const c = document.getElementById('mri-canvas');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let s = 0;
  for (let i = 0; i < d.length; i += 4) { s += d[i + 1]; }
  return s / (d.length / 4);
}"""
SWIPE = """(dy) => {
  const stage = document.getElementById('mri-stage');
  const touch = (y) => new Touch({identifier: 1, target: stage, clientX: 50, clientY: y});
  stage.dispatchEvent(new TouchEvent('touchstart', {touches: [touch(100)], bubbles: true}));
  stage.dispatchEvent(new TouchEvent('touchmove', {touches: [touch(100 + dy)], bubbles: true,
                                                   cancelable: true}));
  stage.dispatchEvent(new TouchEvent('touchend', {touches: [], bubbles: true}));
}"""


@pytest.fixture
def mri_world(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path / "media"
    alice = PatientFactory(email="alice@example.org", display_name="Alice")
    carol = ClinicianFactory(email="carol@example.org", display_name="Dr Carol")
    consent_services.clinician_verify(clinician=carol, by=StaffFactory())
    grant(alice, carol, ("diary", "imaging"))
    monkeypatch.setattr(mri_services, "_enqueue", lambda result_id: None)  # scored below
    files, _ = mr_series(12, 48, 40, plane="sagittal")
    study, result = mri_services.mri_study_upload(
        uploaded_by=carol, patient=alice, files=[("series.zip", zip_of(files))],
        bundle_name="spine-berlin",
    )  # fmt: skip
    mri_result_store(result=result, score=berlin_score((12, 48, 40)), shape=(12, 48, 40))
    return carol, study


def status(page) -> str:
    return page.locator("#mri-status").inner_text()


def test_viewer_scrolls_toggles_overlay_and_follows_table_links(browse, mri_world):
    carol, study = mri_world
    sign_in_verified(browse, carol)
    page = browse.page
    browse.goto(f"/imaging/mri/studies/{study.pk}/")
    page.wait_for_selector("#mri-stage[data-ready='true']")
    browse.check()  # axe again, now that the viewer has drawn
    assert status(page).startswith("Slice 7 of 12")
    assert page.locator("#mri-canvas").get_attribute("width") == "40"

    # Keyboard: arrows one slice, Page Up/Down five, Home/End the ends.
    page.locator("#mri-stage").focus()
    page.keyboard.press("ArrowDown")
    assert status(page).startswith("Slice 8 of 12")
    page.keyboard.press("PageUp")
    assert status(page).startswith("Slice 3 of 12")
    page.keyboard.press("End")
    assert status(page).startswith("Slice 12 of 12")
    page.keyboard.press("ArrowDown")  # stays on the last slice
    assert status(page).startswith("Slice 12 of 12")
    page.keyboard.press("Home")
    assert status(page).startswith("Slice 1 of 12")
    assert page.locator("#mri-slice").input_value() == "1"

    # Wheel and a vertical swipe.
    page.locator("#mri-stage").hover()
    page.mouse.wheel(0, 120)
    page.wait_for_function("() => document.getElementById('mri-status').textContent"
                           ".startsWith('Slice 2 ')")  # fmt: skip
    page.evaluate(SWIPE, 30)
    assert status(page).startswith("Slice 3 of 12")

    # The overlay switch: the warm tint is there, then gone.
    assert "Saliency map shown" in status(page)
    tinted = page.evaluate(TINT)
    assert tinted > 0
    page.get_by_label("Show the saliency map").uncheck()
    assert page.evaluate(TINT) == 0
    assert "Saliency map shown" not in status(page)
    browse.screenshot("mri-viewer-overlay-off")
    page.get_by_label("Show the saliency map").check()
    assert page.evaluate(TINT) == tinted

    # A window preset changes the picture.
    before = page.evaluate(MEAN)
    page.select_option("#mri-window", "1")
    assert page.evaluate(MEAN) != before
    page.select_option("#mri-window", "0")

    # A table row's slice link jumps to its slices and marks the row.
    link = page.locator("tr#region-22 .slice-link")
    first = int(link.get_attribute("data-slice"))
    link.click()
    assert status(page).startswith(f"Slice {first + 1} of 12")
    assert "L5/S1 (bme) is on this slice" in status(page)
    assert "current" in page.locator("tr#region-22").get_attribute("class")
    assert page.evaluate("() => document.activeElement.id") == "mri-stage"
    browse.screenshot("mri-viewer")
    browse.check()


def test_upload_in_the_browser_and_the_viewer_on_a_phone(open_browse, mri_world, tmp_path):
    from tests.e2e.conftest import PHONE
    from tests.imaging.mri_helpers import mr_series as series

    carol, study = mri_world
    phone = open_browse(PHONE)
    sign_in_verified(phone, carol)
    page = phone.page
    phone.goto(f"/imaging/mri/patients/{study.patient.public_id}/")
    # A CT series is refused with its message, on the form.
    ct, _ = series(4, 16, 16, modality="CT")
    (tmp_path / "ct.zip").write_bytes(zip_of(ct))
    page.select_option("#id_bundle", "spine-berlin")
    page.set_input_files("#id_files", str(tmp_path / "ct.zip"))
    phone.submit("Upload and score")
    assert "not an MRI series" in page.locator(".form-errors").inner_text()
    # Several DICOM files of one series, chosen together.
    files, _ = series(6, 24, 24, plane="axial")
    paths = []
    for name, data in files:
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    page.select_option("#id_bundle", "sij-axspa")
    page.set_input_files("#id_files", paths)
    phone.submit("Upload and score")
    assert "/imaging/mri/studies/" in page.url
    assert "Scoring is in progress" in page.content()
    page.wait_for_selector("#mri-stage[data-ready='true']")
    assert page.locator("#mri-status").inner_text().startswith("Slice 4 of 6")
    phone.check()  # axe and reflow at 360 px with the viewer drawn
    phone.screenshot("mri-upload-phone")
    # The scored study's viewer and table at 360 px.
    phone.goto(f"/imaging/mri/studies/{study.pk}/")
    page.wait_for_selector("#mri-stage[data-ready='true']")
    phone.check()
    phone.screenshot("mri-viewer-phone")


def test_a_phantom_scored_by_the_spine_bundle_in_the_viewer(browse, mri_world):
    from imaging.mri.inference import mri_result_run
    from imaging.training import mri_synth
    from tests.imaging.mri_helpers import mr_series as series

    carol, first = mri_world
    phantom = mri_synth.spine("test", 7)
    files, _ = series(plane="sagittal", volume=phantom.voxels, spacing=3.0,
                      pixel_spacing=(1.0, 1.0))  # fmt: skip
    study, result = mri_services.mri_study_upload(
        uploaded_by=carol, patient=first.patient, files=files, bundle_name="spine-berlin"
    )
    result = mri_result_run(result_id=result.pk)
    assert result.status in ("scored", "needs_review"), result.error
    sign_in_verified(browse, carol)
    page = browse.page
    browse.goto(f"/imaging/mri/studies/{study.pk}/")
    page.wait_for_selector("#mri-stage[data-ready='true']")
    browse.check()
    assert page.locator("tr[data-region-index]").count() == 23
    page.locator("tr#region-20 .slice-link").click()  # L3/L4
    assert "L3/L4 (bme) is on this slice" in page.locator("#mri-status").inner_text()
    browse.screenshot("mri-viewer-spine-bundle")
