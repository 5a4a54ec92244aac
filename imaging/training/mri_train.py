"""Train the three MRI bundles on synthetic phantoms and export them to ONNX.

    .venv/bin/python -m imaging.training.mri_train spine [--quick]
    .venv/bin/python -m imaging.training.mri_train sij
    .venv/bin/python -m imaging.training.mri_train hand
    .venv/bin/python -m imaging.training.evaluate mri       # held-out figures -> metadata, cards

Writes imaging/bundles/{spine_berlin,sij_axspa,hand_mri_arthritis}/: models/model.onnx (the
shipped graph, with its saliency output), models/model_plain.onnx (the same weights without
saliency: the benchmark's "one inference"), models/model.pt (state dict, for the torch-eager
benchmark), configs/metadata.json (temperatures and thresholds fitted on the calibration split),
examples/ and docs/README.md. Each run stays under about 8 minutes on one CPU thread.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812

from imaging.mri import scoring
from imaging.training import mri_bundle_files as files
from imaging.training import mri_synth as synth
from imaging.training import onnx_upsample
from imaging.training.calibration import (
    abstention_summary,
    expected_calibration_error,
    softmax,
    threshold_for_accuracy,
)
from imaging.training.mri_nets import (
    DenseNet25D,
    DensePlain,
    SijCnn,
    SijEnsemble,
    SijPlain,
    SijVit,
)
from imaging.training.train import OPSET, fit_temperature

HEAT_SIGMA = {"spine": 0.8, "hand": 2.0}
HEAT_WEIGHT = {"spine": 10, "hand": 30}


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --------------------------------------------------------------------------- data


def dense_arrays(anatomy: str, split: str, n: int, n_neg: int):
    """Inputs (float16), heatmap targets, grade label maps (-1 = no label) and lesion maps at
    half resolution, for the dense (spine, hand) networks."""
    grid = synth.grid_for(anatomy)
    s_n, h, w = grid
    oh, ow = h // 2, w // 2
    sigma = HEAT_SIGMA[anatomy]
    n_feat = 1 if anatomy == "spine" else len(synth.HAND_FEATURES)
    n_heat = 1 if anatomy == "spine" else len(synth.HAND_REGIONS)
    total = n + n_neg
    x = np.zeros((total, s_n, h, w), np.float16)
    heat = np.zeros((total, n_heat, oh, ow), np.float16)
    labels = np.full((total, n_feat, oh, ow), -1, np.int64)
    lesion = np.zeros((total, s_n, oh, ow), np.float16)
    yy, xx = np.mgrid[0:oh, 0:ow]
    gen = synth.generator(anatomy)
    for i in range(n):
        ph = gen(split, i)
        x[i] = scoring.prepare(ph.voxels, grid)[0]
        lesion[i] = np.clip(scoring.resize(ph.lesion, (s_n, oh, ow)), 0, 1)
        for k, (_, r, c) in enumerate(ph.centres):
            r2, c2 = (r - 0.5) / 2, (c - 0.5) / 2
            g = np.exp(-((yy - r2) ** 2 + (xx - c2) ** 2) / (2 * sigma**2))
            ch = 0 if anatomy == "spine" else k
            heat[i, ch] = np.maximum(heat[i, ch], g)
            ri, ci = int(round(r2)), int(round(c2))
            grade = ph.grades[k] if anatomy == "spine" else ph.grades[k]
            labels[i, :, max(ri - 1, 0) : ri + 2, max(ci - 1, 0) : ci + 2] = np.asarray(
                grade
            ).reshape(-1, 1, 1)
    for j, vol in enumerate(synth.negatives(anatomy, split, n_neg)):
        x[n + j] = scoring.prepare(vol, grid)[0]
    return x, heat, labels, lesion


# --------------------------------------------------------------------------- dense training


def train_dense(anatomy: str, arrays, epochs: int, batch: int = 16) -> DenseNet25D:
    x, heat, labels, lesion = arrays
    s_n = x.shape[1]
    n_feat = labels.shape[1]
    net = DenseNet25D(s_n, heat.shape[1], n_feat * synth.GRADES, coords=anatomy == "hand")
    steps = epochs * (len(x) // batch)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(0)
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(x), generator=gen).numpy()
        totals = np.zeros(3)
        for i in range(len(x) // batch):
            idx = np.sort(perm[i * batch : (i + 1) * batch])
            xb = torch.from_numpy(x[idx].astype(np.float32))
            hb = torch.from_numpy(heat[idx].astype(np.float32))
            lb = torch.from_numpy(labels[idx])
            sb = torch.from_numpy(lesion[idx].astype(np.float32))
            ph, pl, ps = net(xb)
            l_heat = ((ph - hb) ** 2 * (1 + 20 * hb)).mean() * HEAT_WEIGHT[anatomy]
            pl = pl.reshape(pl.shape[0], n_feat, synth.GRADES, *pl.shape[2:])
            l_grade = (
                sum(F.cross_entropy(pl[:, f], lb[:, f], ignore_index=-1) for f in range(n_feat))
                / n_feat
            )
            # Lesions cover ~1% of the voxels: weighted so the map does not settle on the prior.
            l_sal = (F.binary_cross_entropy(ps, sb, reduction="none") * (1 + 9 * sb)).mean()
            loss = l_heat + l_grade + l_sal
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            totals += [l_heat.item(), l_grade.item(), l_sal.item()]
        t = totals / (len(x) // batch)
        _log(f"{anatomy} epoch {epoch + 1}/{epochs} heat {t[0]:.4f} grade {t[1]:.4f} "
             f"saliency {t[2]:.4f}")  # fmt: skip
    return net.eval()


def export(module, example, path: Path, inputs, outputs) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        module,
        example,
        str(path),
        input_names=inputs,
        output_names=outputs,
        dynamic_axes={n: {0: "batch"} for n in (*inputs, *outputs)},
        opset_version=OPSET,
        dynamo=False,
    )
    # The U-Nets' upsample + conv3x3 as 2x2 polyphase convolutions: the same function, a sixth
    # fewer multiply-adds (imaging/training/onnx_upsample.py; no-op for graphs without it).
    onnx_upsample.rewrite(path)


def _session(path: Path):
    import onnxruntime as ort

    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _presence(pos_peaks: np.ndarray, neg_peaks: np.ndarray) -> float:
    """Halfway between the weakest true anatomy and the strongest non-anatomy on calibration."""
    lo = float(np.percentile(pos_peaks, 1))
    hi = float(neg_peaks.max()) if len(neg_peaks) else 0.0
    _log(f"presence: anatomy p1 {lo:.3f}, non-anatomy max {hi:.3f}")
    return round((lo + hi) / 2, 4)


def _grade_calibration(logits: np.ndarray, truth: np.ndarray, target: float, what: str) -> dict:
    t = fit_temperature(logits, truth)
    p = softmax(logits / t)
    conf = p.max(1)
    correct = p.argmax(1) == truth
    threshold = threshold_for_accuracy(conf, correct, target)
    return {
        "temperature": t,
        "review_threshold": threshold,
        "abstention": {
            "rule": f"a {what} is graded when its calibrated top probability is at or above "
            "the threshold; below it the grade is left to the reader",
            "target": f"accepted {what} grades exactly right in at least {target:.0%} of cases "
            "on the calibration (validation) split",
            "target_accuracy": target,
            "validation": abstention_summary(conf, correct, threshold),
            "validation_ece_before_scaling": expected_calibration_error(
                softmax(logits).max(1), correct
            ),
            "validation_ece_after_scaling": expected_calibration_error(conf, correct),
        },
    }


def _sizes(args) -> tuple[int, int, int, int]:
    if args.quick:
        return 40, 6, 20, 1
    return args.train, args.train // 10, args.calibration, args.epochs


def _previous_sizes(folder: Path, n_cal: int) -> dict:
    meta = json.loads((folder / "configs" / "metadata.json").read_text())
    return {**meta["training_data"]["sizes"], "calibration": n_cal}


def _train_dense_bundle(anatomy: str, folder: Path, args) -> tuple[dict, int]:
    """Train and export (or, with --recalibrate, keep the shipped weights)."""
    n, n_neg, n_cal, epochs = _sizes(args)
    if args.recalibrate:
        _log(f"{anatomy}: keeping the shipped weights, recalibrating only")
        return _previous_sizes(folder, n_cal), n_cal
    _log(f"{anatomy}: generating {n} + {n_neg} training volumes")
    arrays = dense_arrays(anatomy, "train", n, n_neg)
    net = train_dense(anatomy, arrays, epochs)
    del arrays
    example = torch.zeros(1, *synth.grid_for(anatomy))
    export(net, example, folder / "models" / "model.onnx", ["volume"],
           ["heatmaps", "logits", "saliency"])  # fmt: skip
    export(DensePlain(net).eval(), example, folder / "models" / "model_plain.onnx", ["volume"],
           ["heatmaps", "logits"])  # fmt: skip
    torch.save(net.state_dict(), folder / "models" / "model.pt")
    sizes = {"train": n, "negatives": n_neg, "calibration": n_cal, "epochs": epochs}
    return sizes, n_cal


def run_spine(args) -> None:
    folder = files.BUNDLE_ROOT / "spine_berlin"
    sizes, n_cal = _train_dense_bundle("spine", folder, args)

    _log("spine: calibrating")
    sess = _session(folder / "models" / "model.onnx")
    logits, truth, peaks = [], [], []
    for i in range(n_cal):
        ph = synth.spine("calibration", i)
        x = scoring.prepare(ph.voxels, synth.SPINE_GRID)
        _, _, pk, lg, _ = scoring.spine_raw(sess, x)
        peaks.append(pk.min())
        logits.append(lg)
        truth.append(ph.grades)
    neg = [
        scoring.spine_raw(sess, scoring.prepare(v, synth.SPINE_GRID))[2].min()
        for v in synth.negatives("spine", "calibration", max(6, n_cal // 5))
    ]
    cal = _grade_calibration(np.concatenate(logits), np.concatenate(truth), args.target, "unit")
    cal["presence_threshold"] = _presence(np.array(peaks), np.array(neg))
    _log(f"spine calibration {cal}")
    files.write_bundle("spine", cal, sizes, args.quick)


def run_hand(args) -> None:
    folder = files.BUNDLE_ROOT / "hand_mri_arthritis"
    sizes, n_cal = _train_dense_bundle("hand", folder, args)

    _log("hand: calibrating")
    sess = _session(folder / "models" / "model.onnx")
    n_r, n_f = len(synth.HAND_REGIONS), len(synth.HAND_FEATURES)
    logits, truth, peaks, arth = [], [], [], []
    for i in range(n_cal):
        ph = synth.hand("calibration", i)
        x = scoring.prepare(ph.voxels, synth.HAND_GRID)
        _, _, pk, lg, _ = scoring.hand_raw(sess, x, n_r, n_f)
        peaks.append(pk.min())
        logits.append(lg.reshape(-1, synth.GRADES))
        truth.append(ph.grades.reshape(-1))
        arth.append(synth.hand_arthritis(ph.grades))
    neg = [
        scoring.hand_raw(sess, scoring.prepare(v, synth.HAND_GRID), n_r, n_f)[2].min()
        for v in synth.negatives("hand", "calibration", max(6, n_cal // 5))
    ]
    lg_all, tr_all = np.concatenate(logits), np.concatenate(truth)
    cal = _grade_calibration(lg_all, tr_all, args.target, "region feature")
    cal["presence_threshold"] = _presence(np.array(peaks), np.array(neg))
    probs = softmax(lg_all / cal["temperature"]).reshape(n_cal, n_r, n_f, synth.GRADES)
    p_art = np.array([scoring.arthritis_probability(p) for p in probs])
    conf = np.maximum(p_art, 1 - p_art)
    correct = (p_art >= 0.5) == np.array(arth)
    art_t = threshold_for_accuracy(conf, correct, args.arthritis_target)
    cal["arthritis"] = {
        "review_threshold": art_t,
        "target": f"accepted arthritis calls right in at least {args.arthritis_target:.0%} of "
        "cases on the calibration split",
        "validation": abstention_summary(conf, correct, art_t),
        "validation_ece": expected_calibration_error(conf, correct),
    }
    _log(f"hand calibration {cal}")
    files.write_bundle("hand", cal, sizes, args.quick)


# --------------------------------------------------------------------------- SIJ


def sij_arrays(split: str, n: int):
    x = np.zeros((n, *synth.SIJ_GRID), np.float16)
    y = np.zeros(n, np.int64)
    planes = []
    for i in range(n):
        ph = synth.sij(split, i)
        x[i] = scoring.prepare(ph.voxels, synth.SIJ_GRID)[0]
        y[i] = ph.grades[0]
        planes.append(ph.plane)
    return x, y, planes


def _train_classifier(net, x, y, epochs: int, lr: float, name: str, batch: int = 32):
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * (len(x) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    gen = torch.Generator().manual_seed(1)
    for epoch in range(epochs):
        net.train()
        perm = torch.randperm(len(x), generator=gen).numpy()
        total, right = 0.0, 0
        for i in range(len(x) // batch):
            idx = np.sort(perm[i * batch : (i + 1) * batch])
            xb = torch.from_numpy(x[idx].astype(np.float32))
            if np.random.default_rng(epoch * 10_000 + i).random() < 0.5:
                xb = torch.flip(xb, dims=[3])  # left-right mirror: both joints look alike
            yb = torch.from_numpy(y[idx])
            out = net(xb)
            loss = F.cross_entropy(out, yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
            right += int((out.argmax(1) == yb).sum())
        k = len(x) // batch
        _log(f"sij {name} epoch {epoch + 1}/{epochs} loss {total / k:.4f} "
             f"train acc {right / (k * batch):.3f}")  # fmt: skip
    return net.eval()


def run_sij(args) -> None:
    n, n_cal, epochs = (40, 20, 1) if args.quick else (args.train, args.calibration, args.epochs)
    _log(f"sij: generating {n} training volumes")
    x, y, _ = sij_arrays("train", n)
    torch.manual_seed(0)
    folder = files.BUNDLE_ROOT / "sij_axspa"
    if args.reuse_cnn:
        cnn = SijCnn(synth.SIJ_GRID[0])
        cnn.load_state_dict(torch.load(folder / "models" / "model.pt")["cnn"])
        cnn.eval()
        _log("sij: CNN weights reused from the shipped bundle")
    else:
        cnn = _train_classifier(SijCnn(synth.SIJ_GRID[0]), x, y, epochs, 3e-3, "cnn")
    torch.manual_seed(0)
    vit = _train_classifier(
        SijVit(synth.SIJ_GRID[0], synth.SIJ_GRID[1:]), x, y, epochs + 6, 2e-3, "transformer"
    )
    del x
    example = torch.zeros(1, *synth.SIJ_GRID)
    export(SijEnsemble(cnn, vit).eval(), example, folder / "models" / "model.onnx", ["volume"],
           ["cnn_logits", "vit_logits", "cam"])  # fmt: skip
    export(SijPlain(cnn, vit).eval(), example, folder / "models" / "model_plain.onnx",
           ["volume"], ["cnn_logits", "vit_logits"])  # fmt: skip
    torch.save({"cnn": cnn.state_dict(), "vit": vit.state_dict()}, folder / "models" / "model.pt")

    _log("sij: calibrating")
    sess = _session(folder / "models" / "model.onnx")
    xc, yc, _ = sij_arrays("calibration", n_cal)
    cnn_l, vit_l = [], []
    for i in range(n_cal):
        c, v, _ = scoring.sij_raw(sess, xc[i : i + 1].astype(np.float32))
        cnn_l.append(c)
        vit_l.append(v)
    cnn_l, vit_l = np.array(cnn_l), np.array(vit_l)
    t_cnn, t_vit = fit_temperature(cnn_l, yc), fit_temperature(vit_l, yc)
    p = (softmax(cnn_l / t_cnn)[:, 1] + softmax(vit_l / t_vit)[:, 1]) / 2
    conf = np.maximum(p, 1 - p)
    correct = (p >= 0.5) == (yc == 1)
    threshold = threshold_for_accuracy(conf, correct, args.target)
    raw = (softmax(cnn_l)[:, 1] + softmax(vit_l)[:, 1]) / 2
    cal = {
        "temperature": {"cnn": t_cnn, "vit": t_vit},
        "review_threshold": threshold,
        "abstention": {
            "rule": "the answer is given when max(p, 1 - p) of the averaged calibrated "
            "probability is at or above the threshold and the two members differ by at most "
            "max_disagreement",
            "target": f"accepted answers right in at least {args.target:.0%} of cases on the "
            "calibration (validation) split",
            "target_accuracy": args.target,
            "validation": abstention_summary(conf, correct, threshold),
            "validation_ece_before_scaling": expected_calibration_error(
                np.maximum(raw, 1 - raw), correct
            ),
            "validation_ece_after_scaling": expected_calibration_error(conf, correct),
        },
    }
    _log(f"sij calibration {cal}")
    files.write_bundle("sij", cal, {"train": n, "calibration": n_cal, "epochs": epochs},
                       args.quick)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("anatomy", choices=("spine", "sij", "hand"))
    parser.add_argument("--quick", action="store_true", help="tiny run to check the plumbing")
    parser.add_argument(
        "--recalibrate",
        action="store_true",
        help="keep the shipped weights; refit temperature and thresholds, rewrite the files",
    )
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--reuse-cnn", action="store_true", help="sij: keep the shipped CNN")
    parser.add_argument("--train", type=int, default=600)
    parser.add_argument("--calibration", type=int, default=120)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--arthritis-target", type=float, default=0.95)
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    {"spine": run_spine, "sij": run_sij, "hand": run_hand}[args.anatomy](args)


if __name__ == "__main__":
    main()
