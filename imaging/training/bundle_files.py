"""Write the reference bundles' metadata, model cards and example inputs (no torch needed)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from imaging.joints import EROSION_GRADES, JOINTS, JSN_GRADES, N_JOINTS
from imaging.preprocess import CROP_SIZE, crops, normalise
from imaging.training.data import SPLITS
from imaging.training.synth import generate, generate_negative, to_png_bytes

BUNDLE_ROOT = Path(__file__).resolve().parent.parent / "bundles"
VERSION = "0.2.0"
CHANGELOG = {
    "0.2.0": "retrained on labels from two simulated readers with borderline grades; "
    "temperatures fitted and the abstention threshold chosen on the validation split for a "
    "stated target; held-out ECE reported",
    "0.1.0": "first reference bundle, trained on synthetic radiographs",
}
NORMALISATION = {"method": "percentile", "low": 1.0, "high": 99.5, "range": [0.0, 1.0]}
INTENDED_USE = (
    "Demonstration only. Trained on synthetic hand radiographs drawn by the project's own "
    "generator; not validated on real radiographs and not for clinical use. Every output is "
    "shown to a clinician, who confirms or overrides it."
)
TRAINING_DATA = (
    "Synthetic posteroanterior hand radiographs (512 x 512, 16-bit) from "
    "imaging/training/synth.py: bones with cortical rims, joint spaces whose width encodes JSN "
    "0-4, cortical defects whose count encodes erosion 0-5, left and right hands, rotation "
    "+-15 degrees, scale 0.88-1.10, exposure, noise and blur variation (one training "
    "image in eight drawn without noise or exposure variation); plus images with no hand. "
    "Grades are borderline as on real films: the joint-space width is drawn from a continuous "
    "narrowing between grades and each erosion has a random visibility. Labels come from two "
    "simulated readers who grade every joint independently (perception noise on the narrowing, "
    "detection noise on faint erosions) and agree exactly on JSN about 80% of the time, as "
    "real SvdH readers do; the scorer is trained against both readers' grades. Seed ranges for "
    "training, RA-head fitting, calibration (validation) and the held-out test split are "
    "disjoint."
)
JSN_LABELS = {str(g): f"JSN grade {g}" for g in range(JSN_GRADES)}
ERO_LABELS = {str(g): f"erosion grade {g}" for g in range(EROSION_GRADES)}


def _tensor(kind, channels, spatial, value_range, channel_def, fmt="magnitude"):
    return {
        "type": kind,
        "format": fmt,
        "modality": "xray" if kind == "image" else "n/a",
        "num_channels": channels,
        "spatial_shape": spatial,
        "dtype": "float32",
        "value_range": value_range,
        "is_patch_data": kind == "image" and spatial == [CROP_SIZE, CROP_SIZE],
        "channel_def": channel_def,
    }


def _common(task, description, role, calibration, sizes, quick):
    return {
        "schema": "sjogrens-diary/imaging-bundle/1",
        "version": VERSION,
        "changelog": CHANGELOG,
        "monai_version": "n/a (ONNX profile)",
        "pytorch_version": "2.13.0 (training only)",
        "numpy_version": np.__version__,
        "required_packages_version": {"onnxruntime": ">=1.19"},
        "task": task,
        "description": description,
        "authors": "My Sjögren's Diary project",
        "copyright": "Copyright (c) the My Sjögren's Diary project",
        "data_source": "synthetic (imaging/training/synth.py)",
        "data_type": "png",
        "intended_use": INTENDED_USE,
        "demonstration_only": True,
        "role": role,
        "training_data": {
            "description": TRAINING_DATA,
            "sizes": sizes,
            "quick_run": quick,
        },
        "calibration": {
            "method": calibration.get(
                "method",
                "temperature scaling (Guo et al. 2017) fitted on the calibration (validation) "
                "split against both readers' grades",
            ),
            "temperature": calibration["temperature"],
            **({"abstention": calibration["abstention"]} if "abstention" in calibration else {}),
            **(
                {"reused_weights": calibration["reused_weights"]}
                if "reused_weights" in calibration
                else {}
            ),
        },
        "review_threshold": calibration["review_threshold"],
        "held_out_metrics": {},
    }


def metadata_for(name: str, calibration: dict, sizes: dict, quick: bool) -> dict:
    joints_def = {str(i): j for i, j in enumerate(JOINTS)}
    if name == "hand_joint_localiser":
        meta = _common(
            "Hand joint localisation (MCP 1-5, thumb IP, PIP 2-5, wrist) on a PA radiograph",
            "A small U-Net that outputs one heatmap per joint; the peak is the joint centre and "
            "its height the evidence that the joint is there. A low mean peak means no hand. The "
            "image and its mirror image are run together and the mirror's heatmaps flipped back "
            "and averaged inside the graph, so a mirrored radiograph gets mirrored joints.",
            "joint_localiser",
            calibration,
            sizes,
            quick,
        )
        meta["input_spec"] = {
            "size": [128, 128],
            "channels": 1,
            "working_size": 512,
            "normalisation": NORMALISATION,
            "resampling": "letterbox to 512 x 512 (zero padding), then 4 x 4 block mean",
        }
        meta["output_spec"] = {
            "heatmaps": {
                "labels": joints_def,
                "meaning": "per-joint heatmap, 0-1, stride 8 working pixels; the mean of the "
                "11 peaks below review_threshold means no hand was found",
            }
        }
        meta["network_data_format"] = {
            "inputs": {"image": _tensor("image", 1, [128, 128], [0.0, 1.0], {"0": "xray"})},
            "outputs": {
                "heatmaps": _tensor("probabilities", N_JOINTS, [64, 64], [0.0, 1.0], joints_def)
            },
        }
    elif name == "hand_joint_scorer":
        meta = _common(
            "Sharp/van der Heijde joint-space narrowing (0-4) and erosion (0-5) per joint",
            "A small CNN on a 48 x 48 crop around each located joint. Global average pooling "
            "and one linear layer per head, exported with the class activation maps as extra "
            "outputs: one forward pass gives the scores and the saliency. The crop and its "
            "mirror image are averaged inside the graph, so left and right hands score alike. "
            "models/model_plain.onnx holds the same weights without the maps: the benchmark's "
            "plain-inference baseline, never loaded by the pipeline.",
            "joint_scorer",
            calibration,
            sizes,
            quick,
        )
        meta["input_spec"] = {
            "size": [CROP_SIZE, CROP_SIZE],
            "channels": 1,
            "working_size": 512,
            "normalisation": NORMALISATION,
            "resampling": "bilinear crop centred on the located joint, working-frame pixels",
        }
        meta["output_spec"] = {
            "jsn_logits": {"labels": JSN_LABELS, "meaning": "SvdH joint-space narrowing"},
            "erosion_logits": {"labels": ERO_LABELS, "meaning": "SvdH erosion"},
            "jsn_cam": {"labels": JSN_LABELS, "meaning": "class activation map, stride 4"},
            "erosion_cam": {"labels": ERO_LABELS, "meaning": "class activation map, stride 4"},
        }
        meta["network_data_format"] = {
            "inputs": {
                "crops": _tensor("image", 1, [CROP_SIZE, CROP_SIZE], [0.0, 1.0], {"0": "xray"})
            },
            "outputs": {
                "jsn_logits": _tensor("logits", JSN_GRADES, [], None, JSN_LABELS),
                "erosion_logits": _tensor("logits", EROSION_GRADES, [], None, ERO_LABELS),
                "jsn_cam": _tensor("cam", JSN_GRADES, [12, 12], None, JSN_LABELS),
                "erosion_cam": _tensor("cam", EROSION_GRADES, [12, 12], None, ERO_LABELS),
            },
        }
    elif name == "hand_ra_pattern":
        meta = _common(
            "Image-level 'RA pattern' probability from the per-joint scores",
            "A two-layer perceptron over each joint's calibrated probability of narrowing "
            "grade >= 2 and of any erosion. The synthetic ground truth: at least three of MCP "
            "2-5, PIP 2-5 and the wrist damaged, one of them an eroded MCP or wrist.",
            "ra_pattern",
            calibration,
            sizes,
            quick,
        )
        channel_def = {str(i): j for i, j in enumerate(JOINTS)}
        meta["input_spec"] = {
            "size": [JSN_GRADES + EROSION_GRADES],
            "channels": N_JOINTS,
            "normalisation": {"method": "none", "range": [0.0, 1.0]},
            "resampling": "none: calibrated JSN (5) then erosion (6) probabilities per joint",
        }
        meta["output_spec"] = {
            "ra_logit": {
                "labels": {"0": "RA pattern"},
                "meaning": "logit; divide by the temperature, then the logistic function",
            }
        }
        meta["network_data_format"] = {
            "inputs": {
                "joint_probs": _tensor(
                    "probabilities",
                    N_JOINTS,
                    [JSN_GRADES + EROSION_GRADES],
                    [0.0, 1.0],
                    channel_def,
                )  # fmt: skip
            },
            "outputs": {"ra_logit": _tensor("logits", 1, [], None, {"0": "RA pattern"})},
        }
    else:
        raise KeyError(name)
    return meta


def _save_png(path: Path, array: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_png_bytes(array))


def _scorer_example_tiles(seed: int) -> list[np.ndarray]:
    """Four crops that exercise the scorer: a healthy joint, a narrowed one, an eroded one and
    one the two readers graded differently (a borderline joint)."""
    wanted = {
        "healthy": lambda rj, re: rj[0] == rj[1] == 0 and re[0] == re[1] == 0,
        "narrowed": lambda rj, re: rj[0] == rj[1] >= 2,
        "eroded": lambda rj, re: re[0] == re[1] >= 1,
        "borderline": lambda rj, re: rj[0] != rj[1],
    }
    found: dict[str, np.ndarray] = {}
    for k in range(200):
        sample = generate(seed + k)
        rj, re = sample.readers_jsn(), sample.readers_erosion()
        tiles = None
        for i in range(N_JOINTS):
            for key, test in wanted.items():
                if key not in found and test(rj[:, i], re[:, i]):
                    if tiles is None:
                        tiles = crops(normalise(sample.image), sample.joints)[:, 0]
                    found[key] = tiles[i]
                    break  # one example per joint
        if len(found) == len(wanted):
            break
    return [found[k] for k in wanted if k in found]


def write_examples(name: str) -> list[dict]:
    """Example inputs shipped with each bundle; `record_expected` adds the outputs."""
    folder = BUNDLE_ROOT / name / "examples"
    folder.mkdir(parents=True, exist_ok=True)
    base = SPLITS["examples"]
    if name == "hand_joint_localiser":
        _save_png(folder / "hand.png", generate(base).image)
        _save_png(folder / "no_hand.png", generate_negative(base).image)
        return [{"input": "examples/hand.png"}, {"input": "examples/no_hand.png"}]
    if name == "hand_joint_scorer":
        tiles = _scorer_example_tiles(base + 1)
        out = []
        for i, tile in enumerate(tiles):
            _save_png(folder / f"crop_{i}.png", tile)
            out.append({"input": f"examples/crop_{i}.png"})
        return out
    sample = generate(base + 2)
    probs = np.zeros((N_JOINTS, JSN_GRADES + EROSION_GRADES), np.float32)
    probs[np.arange(N_JOINTS), sample.jsn] = 1
    probs[np.arange(N_JOINTS), JSN_GRADES + sample.erosion] = 1
    (folder / "probs_0.json").write_text(json.dumps(probs.tolist()))
    healthy = np.zeros_like(probs)
    healthy[:, 0] = 1
    healthy[:, JSN_GRADES] = 1
    (folder / "probs_1.json").write_text(json.dumps(healthy.tolist()))
    return [{"input": "examples/probs_0.json"}, {"input": "examples/probs_1.json"}]


def write_all(calibration: dict, sizes: dict, *, quick: bool) -> None:
    for name, cal in calibration.items():
        write_bundle_files(name, metadata_for(name, cal, sizes, quick))


def write_bundle_files(name: str, meta: dict) -> None:
    """Metadata, card and examples of one bundle, then the examples' expected outputs as the
    shipped graph computes them (onnxruntime)."""
    from imaging import bundles, selftest

    meta["examples"] = write_examples(name)
    folder = BUNDLE_ROOT / name
    (folder / "configs").mkdir(parents=True, exist_ok=True)
    (folder / "configs" / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    write_card(folder, meta)
    bundle = bundles.load_bundle(folder)
    meta["examples"] = selftest.record_expected(bundle)
    (folder / "configs" / "metadata.json").write_text(json.dumps(meta, indent=2) + "\n")
    write_card(folder, meta)


def _pct(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _metrics_table(metrics: dict) -> list[str]:
    """The headline figures beside the seed's (which were measured on real radiographs)."""
    lines = ["", f"Measured on the {metrics.get('split', 'held-out test split')}.", ""]
    if "MCP" in metrics:
        seed = {"MCP": ("80.5%", "< 2%"), "PIP": ("72.3%", "< 2%"), "WRIST": ("n/a", "n/a")}
        lines += [
            "Each prediction is compared with each of the two simulated readers; the readers' "
            "exact agreement with each other is the reference (a model that predicts the "
            "grade most readers would give can agree with each reader more often than two "
            "readers agree with each other).",
            "",
            "| Joint group | Joints | JSN exact | JSN within one | Erosion exact | "
            "Erosion within one | Readers' JSN exact | Seed exact / off by > 1 |",
            "| --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for group, (exact, off) in seed.items():
            m = metrics[group]
            lines.append(
                f"| {group} | {m['joints']} | {_pct(m['jsn_exact'])} | "
                f"{_pct(m.get('jsn_within_one'))} | {_pct(m['erosion_exact'])} | "
                f"{_pct(m.get('erosion_within_one'))} | {_pct(m.get('readers_jsn_exact'))} | "
                f"{exact} / {off} |"
            )
    elif "accuracy" in metrics:
        lines += [
            "| | This model | Seed |",
            "| --- | --- | --- |",
            f"| Accuracy | {_pct(metrics['accuracy'])} | 88% |",
            f"| Precision | {_pct(metrics['precision'])} | 84% |",
            f"| Recall | {_pct(metrics['recall'])} | 91% |",
        ]
        if metrics.get("readers_agree") is not None:
            lines += [
                "",
                f"The two readers' RA patterns agree on {_pct(metrics['readers_agree'])}.",
            ]
    elif "median_error_px_at_512" in metrics:
        lines += [
            f"- Median joint-centre error {metrics['median_error_px_at_512']} px, 95th "
            f"percentile {metrics['p95_error_px_at_512']} px (512 px working frame).",
            f"- Hands wrongly flagged as 'no hand': {metrics['hands_wrongly_flagged_no_hand']} "
            f"of {metrics['hands']}; images without a hand flagged: "
            f"{_pct(metrics['non_hand_images_flagged'])} of {metrics['non_hand_images']}.",
        ]
    cal = metrics.get("calibration")
    if cal:
        ece = (
            f"JSN {cal['ece_jsn']:.3f}, erosion {cal['ece_erosion']:.3f}, joint confidence "
            f"{cal['ece_joint']:.3f}"
            if "ece_jsn" in cal
            else f"{cal['ece']:.3f}"
        )
        lines += [
            "",
            "### Calibration on held-out data",
            "",
            f"- Expected calibration error (ECE, {cal['ece_bins']} bins): {ece}.",
            f"- Abstention target (chosen on the validation split): {cal['target']}.",
            f"- Held out: coverage {_pct(cal['coverage'])} (answers above the threshold "
            f"{cal['review_threshold']:.3f}); accuracy on those {_pct(cal['accuracy_on_accepted'])}"
            f"; target met on held-out data: {'yes' if cal['target_met_on_held_out'] else 'no'}.",
            f"- Confidence range: {cal['confidence_min']:.3f} to "
            f"{cal.get('confidence_max', 1.0):.3f}, median {cal['confidence_median']:.3f}.",
        ]
    return lines


def _calibration_section(meta: dict) -> list[str]:
    cal = meta["calibration"]
    lines = [
        "## Calibration",
        f"{cal['method']}; temperature {json.dumps(cal['temperature'])}; outputs whose "
        f"calibrated confidence is below {meta['review_threshold']:.3f} are shown as "
        '"needs manual review", never as a grade or a yes/no.',
    ]
    abst = cal.get("abstention")
    if abst:
        val = abst["validation"]
        lines += [
            "",
            f"The threshold is not hand-set: {abst['rule']}, and it is the lowest value for "
            f"which the target is met on the calibration (validation) split. Target: "
            f"{abst['target']}. On that split: coverage {_pct(val['coverage'])}, accuracy on "
            f"accepted answers {_pct(val['accuracy_on_accepted'])} (all answers "
            f"{_pct(val['accuracy_overall'])}); ECE of that confidence "
            f"{abst['validation_ece_before_scaling']:.3f} before temperature scaling, "
            f"{abst['validation_ece_after_scaling']:.3f} after (the temperatures minimise each "
            "head's likelihood, not this figure; held-out ECE per head is below).",
        ]
    return lines


def write_card(folder: Path, meta: dict) -> None:
    metrics = meta.get("held_out_metrics") or {}
    lines = [
        f"# {folder.name} {meta['version']}: model card",
        "",
        "**Demonstration model trained on synthetic images. Not for clinical use.**",
        "",
        f"Task: {meta['task']}.",
        "",
        meta["description"],
        "",
        "## Intended use",
        meta["intended_use"],
        "",
        "## Training data",
        meta["training_data"]["description"],
        "",
        f"Split sizes: {json.dumps(meta['training_data']['sizes'])}.",
        "",
        *_calibration_section(meta),
        "",
        "## Held-out metrics",
    ]
    if metrics:
        lines += _metrics_table(metrics)
        lines += ["", "All figures:", "", "```json", json.dumps(metrics, indent=2), "```"]
        if metrics.get("comparison"):
            lines += ["", metrics["comparison"]]
    else:
        lines.append("Not measured yet: run `python -m imaging.training.evaluate`.")
    lines += [
        "",
        "## Limitations",
        "- Synthetic images only: real radiographs differ in anatomy, projection, disease "
        "appearance and artefacts; these figures say nothing about real-world accuracy.",
        "- The erosion grade is the number of planted cortical defects, a simplification of the "
        "SvdH surface-area definition; the wrist is one radiocarpal region, not the SvdH sites.",
        "- The RA pattern is a rule on one hand's damage pattern, not a diagnosis.",
        "- The two readers are simulated: their disagreement is perception noise on one "
        "continuous narrowing and detection noise on faint erosions. Real readers also "
        "disagree for other reasons (projection, overlap, their own thresholds), so real "
        "agreement and calibration must be measured on a site's own reviewed results (the "
        "staff agreement page does this from clinicians' independent gradings).",
        "- Hands were drawn filling a square frame at one field of view (scale 0.88-1.10): a "
        "hand much smaller in the frame (wide margins, another field of view) is not found and "
        "is flagged for manual review, not scored.",
        "",
    ]
    (folder / "docs").mkdir(parents=True, exist_ok=True)
    (folder / "docs" / "README.md").write_text("\n".join(lines))
