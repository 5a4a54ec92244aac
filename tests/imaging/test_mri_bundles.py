"""The three MRI bundles: they validate, score their example volumes to the known grades,
withhold out-of-distribution volumes, refuse what they cannot score with a clear message, give
a saliency of the series' shape, and the evaluate command runs on a tiny held-out set.
No torch: onnxruntime and numpy only, as in the application."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from imaging import bundles, selftest
from imaging.mri import scoring
from imaging.mri.contract import (
    BERLIN_UNITS,
    HAND_MRI_ARTHRITIS,
    MRI_BUNDLES,
    SIJ_AXSPA,
    SPINE_BERLIN,
    Volume,
    VolumeRejected,
)
from imaging.training import mri_evaluate
from imaging.training import mri_synth as synth

FOLDERS = {
    SPINE_BERLIN: "spine_berlin",
    SIJ_AXSPA: "sij_axspa",
    HAND_MRI_ARTHRITIS: "hand_mri_arthritis",
}


def _bundle(name):
    return bundles.load_bundle(bundles.PROJECT_BUNDLES / FOLDERS[name])


def _examples():
    for name in MRI_BUNDLES:
        for ex in _bundle(name).meta["examples"]:
            yield pytest.param(name, ex, id=f"{name}-{ex['input']}")


def _noise(plane: str, grid) -> Volume:
    return Volume(synth.noise_volume("test", 1, grid).voxels, (3.0, 1.0, 1.0), plane, "MR")


def test_mri_bundles_validate_are_small_and_say_demonstration_only():
    found, errors = bundles.discover([bundles.PROJECT_BUNDLES])
    assert errors == []
    roles = {b.role for b in found}
    assert set(bundles.MRI_ROLES) <= roles
    for name in MRI_BUNDLES:
        b = _bundle(name)
        assert b.model_path.stat().st_size < 5 * 1024 * 1024
        assert b.meta["demonstration_only"] is True
        assert b.meta["mri"]["bundle"] == name
        card = (b.path / "docs" / "README.md").read_text().lower()
        assert "not for clinical use" in card
        assert "synthetic figures say nothing about real patients" in card


def test_an_mri_bundle_without_its_mri_block_is_invalid(tmp_path):
    folder = tmp_path / "spine_berlin"
    shutil.copytree(bundles.PROJECT_BUNDLES / "spine_berlin", folder)
    path = folder / "configs" / "metadata.json"
    meta = json.loads(path.read_text())
    del meta["mri"]
    path.write_text(json.dumps(meta))
    with pytest.raises(bundles.BundleError, match="'mri' is a required property"):
        bundles.load_bundle(folder)


@pytest.mark.parametrize("name, example", list(_examples()))
def test_example_volume_gets_the_grades_it_was_drawn_with(name, example):
    b = _bundle(name)
    volume = scoring.read_example(b.path / example["input"])
    score = scoring.score_volume(name, volume)
    truth = example["truth"]
    if name == SIJ_AXSPA:
        assert score.summary["axspa"] is truth["axspa"]
        assert score.regions[0].grade == int(truth["axspa"])
        return
    graded = [(r.grade, t) for r, t in zip(score.regions, truth["grades"], strict=True)]
    assert all(g == t for g, t in graded if g is not None)
    # Withheld grades go to the reader; most of an example's regions are graded.
    assert sum(g is None for g, _ in graded) <= len(graded) // (5 if name == SPINE_BERLIN else 2)
    if name == SPINE_BERLIN:
        assert [r.region for r in score.regions] == list(BERLIN_UNITS)
        if not score.abstained:
            assert score.summary["total"] == truth["total"]
    else:
        assert score.summary["arthritis"] in (truth["arthritis"], None)


@pytest.mark.parametrize("name, example", list(_examples()))
def test_scoring_without_saliency_gives_the_same_answer_and_no_map(name, example):
    """bench_mri's "one inference" (a full score without saliency, on the plain graph) answers
    exactly as the shipped score does; only the map is left out."""
    b = _bundle(name)
    volume = scoring.read_example(b.path / example["input"])
    with_map = scoring.score_volume(name, volume)
    without = scoring.score_volume(name, volume, saliency=False)
    assert with_map.saliency is not None
    assert with_map.saliency.shape == volume.voxels.shape
    assert float(with_map.saliency.min()) >= 0 and float(with_map.saliency.max()) <= 1
    assert without.saliency is None
    assert scoring.example_output(without) == scoring.example_output(with_map)
    assert [r.probabilities for r in without.regions] == [r.probabilities for r in with_map.regions]
    n = volume.voxels.shape[0]
    assert all(0 <= r.slices[0] <= r.slices[1] <= n - 1 for r in without.regions)


def test_plain_session_has_no_saliency_output_and_the_same_grades():
    b = _bundle(SPINE_BERLIN)
    shipped = [o.name for o in b.session().get_outputs()]
    plain = [o.name for o in b.session(plain=True).get_outputs()]
    assert "saliency" in shipped
    assert "saliency" not in plain
    # Asking the plain graph for a saliency map is a clear error, not a silent empty map.
    volume = scoring.read_example(b.path / b.meta["examples"][0]["input"])
    with pytest.raises(Exception, match="saliency"):
        scoring.score_volume(SPINE_BERLIN, volume, session=b.session(plain=True))


@pytest.mark.parametrize("name", MRI_BUNDLES)
def test_self_test_matches_recorded_outputs(name):
    assert selftest.self_test(_bundle(name)) == []


@pytest.mark.parametrize(
    "name, plane, grid",
    [
        (SPINE_BERLIN, "sagittal", synth.SPINE_GRID),
        (HAND_MRI_ARTHRITIS, "coronal", synth.HAND_GRID),
    ],
)
def test_out_of_distribution_volume_is_withheld_not_scored(name, plane, grid):
    score = scoring.score_volume(name, _noise(plane, grid))
    assert score.abstained is True
    assert score.review_reason
    assert all(r.grade is None for r in score.regions)
    key = "total" if name == SPINE_BERLIN else "arthritis"
    assert score.summary[key] is None


@pytest.mark.parametrize(
    "modality, message",
    [("CT", "This is a CT series"), ("DX", "radiograph"), ("CR", "radiograph")],
)
def test_ct_or_radiograph_is_refused_with_a_message(modality, message):
    ph = synth.spine("test", 0)
    volume = Volume(ph.voxels, ph.spacing_mm, "sagittal", modality)
    with pytest.raises(VolumeRejected, match=message) as err:
        scoring.score_volume(SPINE_BERLIN, volume)
    assert "MRI series (modality MR) only" in str(err.value)


def test_single_slice_is_refused_with_a_message():
    ph = synth.spine("test", 0)
    volume = Volume(ph.voxels[7:8], ph.spacing_mm, "sagittal")
    with pytest.raises(VolumeRejected, match="single slice"):
        scoring.score_volume(SPINE_BERLIN, volume)


@pytest.mark.parametrize(
    "name, plane, message",
    [
        (SPINE_BERLIN, "axial", "needs a sagittal series; this series is axial"),
        (HAND_MRI_ARTHRITIS, "sagittal", "needs a coronal series"),
        (SIJ_AXSPA, "sagittal", "needs a coronal or axial series"),
    ],
)
def test_wrong_plane_is_refused_with_a_message(name, plane, message):
    vol = Volume(np.random.default_rng(0).random((16, 96, 96), np.float32), (3, 1, 1), plane)
    with pytest.raises(VolumeRejected, match=message):
        scoring.score_volume(name, vol)


def test_blank_and_non_numeric_volumes_are_refused():
    blank = Volume(np.zeros((16, 96, 96), np.float32), (3, 1, 1), "coronal")
    with pytest.raises(VolumeRejected, match="blank"):
        scoring.score_volume(SIJ_AXSPA, blank)
    vox = np.random.default_rng(0).random((16, 96, 96), np.float32)
    vox[3, 4, 5] = np.nan
    with pytest.raises(VolumeRejected, match="NaN"):
        scoring.score_volume(SIJ_AXSPA, Volume(vox, (3, 1, 1), "coronal"))


def test_a_4d_array_is_not_a_volume():
    with pytest.raises(ValueError, match="three dimensions"):
        Volume(np.zeros((2, 16, 64, 64), np.float32), (3, 1, 1), "sagittal")


def test_unknown_bundle_name_is_refused():
    ph = synth.spine("test", 0)
    with pytest.raises(VolumeRejected, match="not an MRI bundle"):
        scoring.score_volume("knee-acl", Volume(ph.voxels, ph.spacing_mm, "sagittal"))


@pytest.mark.parametrize("name", MRI_BUNDLES)
def test_saliency_has_the_series_shape_and_range(name):
    anatomy = {SPINE_BERLIN: "spine", SIJ_AXSPA: "sij", HAND_MRI_ARTHRITIS: "hand"}[name]
    s_n, h, w = synth.grid_for(anatomy)
    ph = synth.generator(anatomy)("test", 5)
    voxels = scoring.resize(ph.voxels, (s_n + 6, h + 40, w + 24))  # not the working grid
    score = scoring.score_volume(name, Volume(voxels, ph.spacing_mm, ph.plane))
    assert score.saliency.shape == voxels.shape
    assert score.saliency.dtype == np.float32
    assert 0 <= score.saliency.min() and score.saliency.max() <= 1
    for r in score.regions:
        assert 0 <= r.slices[0] <= r.slices[1] < voxels.shape[0]
    assert json.dumps(score.as_json())  # JSON-able for storage


def test_spine_bme_saliency_is_where_the_oedema_is():
    ph = next(p for p in (synth.spine("test", i) for i in range(20)) if p.grades.max() == 3)
    score = scoring.score_volume(SPINE_BERLIN, Volume(ph.voxels, ph.spacing_mm, "sagittal"))
    inside = score.saliency[ph.lesion > 0.5].mean()
    outside = score.saliency[ph.lesion == 0].mean()
    assert inside > 2.5 * outside
    hot = score.saliency > 0.5  # the map's hot voxels lie mostly on or next to the oedema
    near = np.zeros_like(hot)
    for dr in (-2, 0, 2):
        for dc in (-2, 0, 2):
            near |= np.roll(ph.lesion > 0, (dr, dc), axis=(1, 2))
    assert hot.any() and near[hot].mean() > 0.6


def test_a_site_bundle_with_the_role_replaces_the_reference_one(settings, tmp_path):
    folder = tmp_path / "our_spine"
    shutil.copytree(bundles.PROJECT_BUNDLES / "spine_berlin", folder)
    path = folder / "configs" / "metadata.json"
    meta = json.loads(path.read_text())
    meta["version"] = "9.9.9"
    path.write_text(json.dumps(meta))
    settings.IMAGING_BUNDLE_DIRS = [tmp_path]
    ph = synth.spine("test", 0)
    score = scoring.score_volume(SPINE_BERLIN, Volume(ph.voxels, ph.spacing_mm, "sagittal"))
    assert score.version == "9.9.9"
    settings.IMAGING_BUNDLE_DIRS = []
    assert (
        scoring.score_volume(SPINE_BERLIN, Volume(ph.voxels, ph.spacing_mm, "sagittal")).version
        != "9.9.9"
    )


def test_evaluate_runs_on_a_tiny_held_out_set_without_writing(capsys):
    before = {n: (_bundle(n).path / "configs" / "metadata.json").read_text() for n in MRI_BUNDLES}
    results = mri_evaluate.main(["--n", "2", "--dry-run"])
    assert set(results) == {"spine", "sij", "hand"}
    assert set(results["spine"]["bme_0_vs_1_3"]) >= {"accuracy", "sensitivity", "specificity"}
    assert set(results["sij"]["per_plane"]) == {"coronal", "axial"}
    assert set(results["hand"]["per_region"]) == set(synth.HAND_REGIONS)
    out = capsys.readouterr().out
    assert "67%" in out and "99%" in out and "say nothing about real patients" in out
    after = {n: (_bundle(n).path / "configs" / "metadata.json").read_text() for n in MRI_BUNDLES}
    assert after == before


def test_evaluate_command_has_an_mri_sub_command(monkeypatch, tmp_path):
    from imaging.training import evaluate

    called = {}
    monkeypatch.setattr(mri_evaluate, "main", lambda argv: called.setdefault("argv", argv))
    monkeypatch.setattr("sys.argv", ["evaluate", "mri", "--n", "3"])
    evaluate.main()
    assert called["argv"] == ["--n", "3"]


def test_coronal_and_axial_sij_answers_combine_into_one():
    b = _bundle(SIJ_AXSPA)
    scores = [
        scoring.score_volume(SIJ_AXSPA, scoring.read_example(b.path / ex["input"]))
        for ex in b.meta["examples"]
    ]
    combined = scoring.combine_sij(scores)
    assert set(combined["per_plane"]) == {"coronal", "axial"}
    assert combined["probability"] == pytest.approx(
        np.mean([s.summary["probability"] for s in scores]), abs=1e-3
    )


@pytest.mark.parametrize(
    "voxels",
    [
        np.random.default_rng(0).normal(size=(16, 256, 96)).astype(np.float32),
        np.random.default_rng(1).integers(0, 5, (7, 33, 40)).astype(np.float32),  # many ties
        np.random.default_rng(2).exponential(size=(30, 64, 64)).astype(np.float32),
        np.arange(10, dtype=np.float32).reshape(1, 2, 5),  # tiny: the full-sort fallback
        np.concatenate([np.zeros(10_000), np.ones(5)]).astype(np.float32).reshape(1, 1, -1),
    ],
)
def test_normalisation_percentiles_are_numpys_and_the_output_float32(voxels):
    lo, hi = scoring.tail_percentiles(voxels, 1.0, 99.5)
    assert (lo, hi) == tuple(float(v) for v in np.percentile(voxels, [1.0, 99.5]))
    out = scoring.normalise(voxels)
    assert out.dtype == np.float32
    assert out.shape == voxels.shape
    reference = np.clip((voxels - lo) / max(hi - lo, 1e-6), 0, 1)
    assert np.abs(out - reference).max() <= 1e-6
    assert not np.shares_memory(out, voxels)  # the caller's volume is left as it was


def test_normalising_a_blank_volume_gives_zeros_not_nan():
    out = scoring.normalise(np.full((3, 32, 32), 7.0, np.float32))
    assert np.isfinite(out).all()
    assert float(out.max()) == 0.0
