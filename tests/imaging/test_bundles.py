"""Bundle discovery and validation: schema, ONNX shapes, IMAGING_BUNDLE_DIRS, self-test."""

from __future__ import annotations

import json
import shutil

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from imaging import bundles

SCORER = "hand_joint_scorer"


@pytest.fixture
def site_dir(tmp_path):
    """A site's own bundle folder holding a copy of the reference scorer."""
    folder = tmp_path / "site_bundles"
    shutil.copytree(bundles.PROJECT_BUNDLES / SCORER, folder / "site_scorer")
    return folder


def _edit(folder, change):
    path = folder / "configs" / "metadata.json"
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def test_reference_bundles_load_and_are_small():
    found, errors = bundles.discover([bundles.PROJECT_BUNDLES])
    assert errors == []
    assert sorted(b.role for b in found) == sorted(bundles.ROLES)
    for b in found:
        assert b.model_path.stat().st_size < 20 * 1024 * 1024
        assert b.meta["demonstration_only"] is True
        assert "not for clinical use" in (b.path / "docs" / "README.md").read_text().lower()


def test_site_folder_in_settings_is_discovered(settings, site_dir):
    settings.IMAGING_BUNDLE_DIRS = [site_dir]
    found, errors = bundles.discover()
    assert errors == []
    assert "site_scorer" in {b.name for b in found}


def test_broken_metadata_json_is_refused_naming_the_file(site_dir):
    (site_dir / "site_scorer" / "configs" / "metadata.json").write_text("{not json")
    with pytest.raises(bundles.BundleError, match="configs/metadata.json is not valid JSON"):
        bundles.load_bundle(site_dir / "site_scorer")


def test_missing_metadata_field_is_refused_naming_the_field(site_dir):
    _edit(site_dir / "site_scorer", lambda m: m.pop("review_threshold"))
    with pytest.raises(bundles.BundleError, match="review_threshold"):
        bundles.load_bundle(site_dir / "site_scorer")


def test_wrong_metadata_type_is_refused_naming_the_field(site_dir):
    def change(meta):
        meta["calibration"]["temperature"] = {"jsn": -1.0, "erosion": 1.0}

    _edit(site_dir / "site_scorer", change)
    with pytest.raises(bundles.BundleError, match=r"calibration\.temperature"):
        bundles.load_bundle(site_dir / "site_scorer")


def test_shape_mismatch_is_refused_naming_the_field(site_dir):
    def change(meta):
        meta["network_data_format"]["inputs"]["crops"]["spatial_shape"] = [64, 64]

    _edit(site_dir / "site_scorer", change)
    with pytest.raises(bundles.BundleError) as err:
        bundles.load_bundle(site_dir / "site_scorer")
    assert "network_data_format.inputs.crops.spatial_shape" in str(err.value)


def test_channel_mismatch_on_an_output_is_refused_naming_the_field(site_dir):
    def change(meta):
        meta["network_data_format"]["outputs"]["jsn_logits"]["num_channels"] = 4

    _edit(site_dir / "site_scorer", change)
    with pytest.raises(bundles.BundleError) as err:
        bundles.load_bundle(site_dir / "site_scorer")
    assert "network_data_format.outputs.jsn_logits.num_channels" in str(err.value)


def test_output_missing_from_graph_is_refused(site_dir):
    def change(meta):
        fmt = meta["network_data_format"]["outputs"]
        fmt["saliency"] = fmt.pop("erosion_cam")

    _edit(site_dir / "site_scorer", change)
    with pytest.raises(bundles.BundleError, match="outputs.saliency is not a graph output"):
        bundles.load_bundle(site_dir / "site_scorer")


def test_unreadable_onnx_file_is_refused(site_dir):
    (site_dir / "site_scorer" / "models" / "model.onnx").write_bytes(b"not a graph")
    with pytest.raises(bundles.BundleError, match="model.onnx cannot be loaded"):
        bundles.load_bundle(site_dir / "site_scorer")


def test_self_test_command_passes_on_the_reference_bundles(capsys):
    call_command("imaging_bundles", "--self-test")
    out = capsys.readouterr().out
    for name in ("hand_joint_localiser", "hand_joint_scorer", "hand_ra_pattern"):
        assert f"self-test {name}: ok" in out


def test_self_test_command_fails_when_a_result_differs(settings, site_dir):
    def change(meta):
        meta["examples"][0]["expected"]["jsn"] = (meta["examples"][0]["expected"]["jsn"] + 2) % 5

    _edit(site_dir / "site_scorer", change)
    settings.IMAGING_BUNDLE_DIRS = [site_dir]
    with pytest.raises(CommandError, match="1 self-test difference"):
        call_command("imaging_bundles", "--self-test")


def test_listing_reports_a_broken_site_bundle_and_exits_non_zero(settings, site_dir, capsys):
    _edit(site_dir / "site_scorer", lambda m: m.pop("task"))
    settings.IMAGING_BUNDLE_DIRS = [site_dir]
    with pytest.raises(CommandError, match="1 invalid bundle"):
        call_command("imaging_bundles")
    assert "task" in capsys.readouterr().err


def test_sessions_run_batches_unless_opened_for_one_item():
    import numpy as np

    scorer = bundles.load_bundle(bundles.PROJECT_BUNDLES / "hand_joint_scorer")
    crops = np.zeros((3, 1, 48, 48), np.float32)
    batched = scorer.session()
    assert batched.run(None, {"crops": crops})[0].shape[0] == 3  # the pipeline scores 11 at once
    single = scorer.session(batch_of_one=True)
    assert single.run(None, {"crops": crops[:1]})[0].shape[0] == 1
    with pytest.raises(Exception, match="(?i)dimension|shape"):
        single.run(None, {"crops": crops})  # a batch through a one-item session is refused


def test_plain_session_falls_back_to_the_graph_when_the_bundle_has_no_plain_one():
    localiser = bundles.load_bundle(bundles.PROJECT_BUNDLES / "hand_joint_localiser")
    assert not (localiser.path / "models" / "model_plain.onnx").exists()
    outputs = [o.name for o in localiser.session(plain=True).get_outputs()]
    assert outputs == [o.name for o in localiser.session().get_outputs()]
