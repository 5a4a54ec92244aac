"""Held-out figures for the MRI bundles, beside the seed system's (numpy + onnxruntime).

    .venv/bin/python -m imaging.training.evaluate mri [--n 200] [--only spine sij hand]

Scores phantoms of the test split (seeds never used in training or calibration) through
imaging.mri.scoring.score_volume, exactly as the application does, prints the figures with the
seed's, and writes them into each bundle's metadata (held_out_metrics) and model card.
Synthetic figures say nothing about real patients.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from imaging.mri import scoring
from imaging.mri.contract import HAND_MRI_ARTHRITIS, SIJ_AXSPA, SPINE_BERLIN, Volume
from imaging.training import mri_bundle_files as files
from imaging.training import mri_synth as synth
from imaging.training.calibration import ECE_BINS, expected_calibration_error

SPLIT_NOTE = (
    "held-out test split of synthetic phantoms (generator seeds 3,000,000+, never used for "
    "training or calibration); synthetic figures say nothing about real patients"
)


def _rate(mask) -> float | None:
    mask = np.asarray(mask, bool)
    return round(float(mask.mean()), 4) if mask.size else None


def _volume(ph) -> Volume:
    return Volume(ph.voxels, ph.spacing_mm, ph.plane, "MR", "synthetic phantom")


def _ood(name: str, anatomy: str, n: int, dirs, plane: str) -> float | None:
    """Share of volumes without the anatomy (noise, other phantoms) that the bundle withholds."""
    flagged = []
    for v in synth.negatives(anatomy, "test", n):
        score = scoring.score_volume(name, Volume(v, (3.0, 1.0, 1.0), plane), dirs=dirs)
        flagged.append(score.abstained)
    return _rate(flagged)


def evaluate_spine(n: int, dirs) -> dict:
    truth, pred, argmax, conf, not_found = [], [], [], [], 0
    for i in range(n):
        ph = synth.spine("test", i)
        score = scoring.score_volume(SPINE_BERLIN, _volume(ph), dirs=dirs)
        if not score.regions[0].probabilities:
            not_found += 1
            continue
        truth.append(ph.grades)
        pred.append([-1 if r.grade is None else r.grade for r in score.regions])
        argmax.append([int(np.argmax(r.probabilities)) for r in score.regions])
        conf.append([r.confidence for r in score.regions])
    if not truth:
        return {"volumes": n, "volumes_disc_levels_not_found": not_found, "units": 0}
    t, p, a, c = (np.concatenate(v) for v in (truth, pred, argmax, conf))
    graded = p >= 0
    pos, pos_pred = t > 0, a > 0
    tp, tn = (pos & pos_pred).sum(), (~pos & ~pos_pred).sum()
    g_pos = pos[graded]
    g_pred = p[graded] > 0
    totals_true = np.array([x.sum() for x in truth])
    totals_pred = np.array([np.sum(x) for x in argmax])
    return {
        "volumes": n,
        "units": int(t.size),
        "volumes_disc_levels_not_found": not_found,
        "bme_0_vs_1_3": {
            "definition": "every unit, the bundle's most probable grade (nothing withheld), "
            "BME present = grade 1-3",
            "accuracy": _rate(pos == pos_pred),
            "sensitivity": round(float(tp / max(pos.sum(), 1)), 4),
            "specificity": round(float(tn / max((~pos).sum(), 1)), 4),
            "prevalence": _rate(pos),
        },
        "bme_0_vs_1_3_when_graded": {
            "accuracy": _rate(g_pos == g_pred),
            "sensitivity": round(float((g_pos & g_pred).sum() / max(g_pos.sum(), 1)), 4),
            "specificity": round(float((~g_pos & ~g_pred).sum() / max((~g_pos).sum(), 1)), 4),
        },
        "grade_exact": _rate(a == t),
        "grade_exact_when_graded": _rate(p[graded] == t[graded]),
        "grade_within_one": _rate(np.abs(a - t) <= 1),
        "abstention_rate": _rate(~graded),
        "total_mean_absolute_error": round(float(np.abs(totals_true - totals_pred).mean()), 3),
        "ece": expected_calibration_error(c, a == t),
        "ece_bins": ECE_BINS,
        "non_spine_volumes_withheld": _ood(
            SPINE_BERLIN, "spine", max(10, n // 10), dirs, "sagittal"
        ),
    }


def evaluate_sij(n: int, dirs) -> dict:
    out: dict = {"volumes": 2 * n, "per_plane": {}}
    allc, allok, given, cnn_ok, vit_ok = [], [], [], [], []
    for plane in ("coronal", "axial"):
        ok, ok_given, abst = [], [], []
        for i in range(n):
            ph = synth.sij("test", i if plane == "coronal" else n + i, plane=plane)
            score = scoring.score_volume(SIJ_AXSPA, _volume(ph), dirs=dirs)
            truth = bool(ph.grades[0])
            p = score.summary["probability"]
            right = (p >= 0.5) == truth
            ok.append(right)
            abst.append(score.abstained)
            if not score.abstained:
                ok_given.append(right)
            allc.append(max(p, 1 - p))
            allok.append(right)
            cnn_ok.append((score.summary["members"]["cnn"] >= 0.5) == truth)
            vit_ok.append((score.summary["members"]["transformer"] >= 0.5) == truth)
        out["per_plane"][plane] = {
            "volumes": n,
            "accuracy": _rate(ok),
            "accuracy_when_given": _rate(ok_given),
            "abstention_rate": _rate(abst),
        }
        given += [not a for a in abst]
    out.update(
        {
            "definition": "accuracy: the averaged probability >= 0.5 against the phantom's "
            "label, every volume (nothing withheld)",
            "cnn_accuracy": _rate(cnn_ok),
            "vit_accuracy": _rate(vit_ok),
            "abstention_rate": _rate(~np.array(given)),
            "ece": expected_calibration_error(allc, allok),
            "ece_bins": ECE_BINS,
        }
    )
    return out


def evaluate_hand(n: int, dirs) -> dict:
    regions, features = synth.HAND_REGIONS, synth.HAND_FEATURES
    exact = np.zeros((len(regions), len(features)))
    withheld = np.zeros(len(regions))
    conf, right = [], []
    art_ok, art_given_ok, art_abst, art_conf = [], [], [], []
    scored = 0
    not_found = 0
    for i in range(n):
        ph = synth.hand("test", i)
        score = scoring.score_volume(HAND_MRI_ARTHRITIS, _volume(ph), dirs=dirs)
        if score.summary["arthritis_probability"] is None:
            not_found += 1
            continue
        scored += 1
        for k, r in enumerate(score.regions):
            ri, fi = divmod(k, len(features))
            g = int(np.argmax(r.probabilities))
            exact[ri, fi] += g == ph.grades[ri, fi]
            withheld[ri] += r.grade is None
            conf.append(r.confidence)
            right.append(g == ph.grades[ri, fi])
        truth = synth.hand_arthritis(ph.grades)
        p = score.summary["arthritis_probability"]
        art_ok.append((p >= 0.5) == truth)
        art_conf.append(max(p, 1 - p))
        art_abst.append(score.summary["arthritis"] is None)
        if score.summary["arthritis"] is not None:
            art_given_ok.append(score.summary["arthritis"] == truth)
    per_region = {}
    for ri, name in enumerate(regions):
        per_region[name] = {f: round(float(exact[ri, fi] / max(scored, 1)), 4) for fi, f in
                            enumerate(features)}  # fmt: skip
        per_region[name]["abstention_rate"] = round(
            float(withheld[ri] / max(scored * len(features), 1)), 4
        )
    return {
        "volumes": n,
        "volumes_regions_not_found": not_found,
        "definition": "per-region agreement: the most probable grade equals the phantom's "
        "grade (every region, nothing withheld); abstention_rate: share of region features "
        "below the review threshold",
        "per_region": per_region,
        "agreement_overall": _rate(right),
        "abstention_rate": round(float(withheld.sum() / max(scored * exact.size, 1)), 4),
        "ece": expected_calibration_error(conf, right),
        "ece_bins": ECE_BINS,
        "arthritis": {
            "accuracy": _rate(art_ok),
            "accuracy_when_given": _rate(art_given_ok),
            "abstention_rate": _rate(art_abst),
            "ece": expected_calibration_error(art_conf, art_ok),
        },
        "non_hand_volumes_withheld": _ood(
            HAND_MRI_ARTHRITIS, "hand", max(10, n // 10), dirs, "coronal"
        ),
    }


EVALUATORS = {"spine": evaluate_spine, "sij": evaluate_sij, "hand": evaluate_hand}


def write_metrics(anatomy: str, metrics: dict, root: Path = files.BUNDLE_ROOT) -> None:
    folder = root / files.SPECS[anatomy]["folder"]
    path = folder / "configs" / "metadata.json"
    meta = json.loads(path.read_text())
    meta["held_out_metrics"] = {**metrics, "split": SPLIT_NOTE, "comparison": meta["seed_figures"]}
    path.write_text(json.dumps(meta, indent=2) + "\n")
    files.write_card(folder, meta)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=200, help="test volumes per bundle (per plane)")
    parser.add_argument("--only", nargs="*", choices=tuple(EVALUATORS), default=None)
    parser.add_argument("--dry-run", action="store_true", help="print only; write nothing")
    parser.add_argument("--bundles", type=Path, default=files.BUNDLE_ROOT)
    args = parser.parse_args(argv)
    results = {}
    for anatomy in args.only or EVALUATORS:
        metrics = EVALUATORS[anatomy](args.n, [args.bundles])
        results[anatomy] = metrics
        print(f"== {files.SPECS[anatomy]['name']} ({SPLIT_NOTE})")
        print(json.dumps(metrics, indent=2))
        print(files.SEED[anatomy] + files.NOT_COMPARABLE)
        if not args.dry_run:
            write_metrics(anatomy, metrics, args.bundles)
    return results


if __name__ == "__main__":
    main()
