"""Train the reference bundles on synthetic radiographs and export them to ONNX.

    .venv/bin/pip install -e '.[train]'      # torch (CPU) + onnx, training time only
    .venv/bin/python -m imaging.training.train [--quick]
    .venv/bin/python -m imaging.training.evaluate

Writes imaging/bundles/{hand_joint_localiser,hand_joint_scorer,hand_ra_pattern}/ (ONNX graph,
state dict, metadata with the fitted temperatures and thresholds, example inputs). A few
minutes on two CPU cores; `evaluate` then measures the held-out figures for the model cards.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F  # noqa: N812

from imaging.joints import JSN_GRADES, N_JOINTS
from imaging.preprocess import CROP_SIZE, crops, decode_heatmaps, downsample, normalise
from imaging.training import bundle_files
from imaging.training.calibration import (
    abstention_summary,
    expected_calibration_error,
    softmax,
    threshold_for_accuracy,
)
from imaging.training.data import hands, localiser_arrays, negatives
from imaging.training.nets import (
    JointScorer,
    Localiser,
    LocaliserExport,
    RaHead,
    ScorerExport,
    ScorerPlain,
)

OPSET = 17
# channels_last makes the CPU convolutions (oneDNN) about 1.5-2x faster while training.
FAST = torch.channels_last


def _log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def train_localiser(train, epochs: int) -> Localiser:
    x, y = localiser_arrays(train)
    x, y = torch.from_numpy(x), torch.from_numpy(y)
    net = Localiser().to(memory_format=FAST)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    steps = epochs * (len(x) // 32)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(0)
    net.train()
    for epoch in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(len(x) // 32):
            idx = perm[i * 32 : (i + 1) * 32]
            out = net(x[idx].contiguous(memory_format=FAST))
            # Weighted MSE: the peaks cover a tiny fraction of the map.
            loss = ((out - y[idx]) ** 2 * (1 + 20 * y[idx])).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        _log(f"localiser epoch {epoch + 1}/{epochs} loss {total / (len(x) // 32):.5f}")
    return net.eval()


def _crop_set(samples):
    """The normalised images once (the expensive part), and both readers' labels per joint:
    (n_joints, 2) JSN and erosion."""
    imgs = [normalise(s.image) for s in samples]
    jsn = np.concatenate([s.readers_jsn().T for s in samples])
    ero = np.concatenate([s.readers_erosion().T for s in samples])
    return imgs, [s.joints for s in samples], jsn, ero


def _jittered_crops(crop_set, rng, sd: float = 2.0):
    imgs, joints, jsn, ero = crop_set
    xs = [crops(img, j + rng.normal(0, sd, j.shape)) for img, j in zip(imgs, joints, strict=True)]
    return np.concatenate(xs), jsn, ero


def train_scorer(train, epochs: int) -> JointScorer:
    """Cross-entropy against both readers' grades (their mean): where the readers disagree the
    target is split between the two grades, so the network learns the readers' uncertainty."""
    rng = np.random.default_rng(1)
    crop_set = _crop_set(train)
    net = JointScorer().to(memory_format=FAST)
    opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
    n_batches = len(train) * N_JOINTS // 128
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=epochs * n_batches)
    for epoch in range(epochs):
        x, jsn, ero = _jittered_crops(crop_set, rng)  # fresh localisation jitter every epoch
        flip = rng.random(len(x)) < 0.5
        x[flip] = x[flip][..., ::-1]
        x, jsn, ero = torch.from_numpy(x.copy()), torch.from_numpy(jsn), torch.from_numpy(ero)
        perm = torch.from_numpy(rng.permutation(len(x)))
        net.train()
        total = 0.0
        for i in range(n_batches):
            idx = perm[i * 128 : (i + 1) * 128]
            lj, le = net(x[idx].contiguous(memory_format=FAST))
            loss = (
                sum(
                    F.cross_entropy(lj, jsn[idx, r]) + F.cross_entropy(le, ero[idx, r])
                    for r in range(jsn.shape[1])
                )
                / jsn.shape[1]
            )
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        _log(f"scorer epoch {epoch + 1}/{epochs} loss {total / n_batches:.4f}")
    return net.eval()


@torch.no_grad()
def predict(loc: LocaliserExport, scorer: ScorerExport, samples):
    """Localise then score, exactly as the deployed pipeline does (torch here)."""
    out = []
    for s in samples:
        img = normalise(s.image)
        hm = loc(torch.from_numpy(downsample(img)[None, None].astype(np.float32)))[0].numpy()
        centres, peaks = decode_heatmaps(hm)
        jl, el, _, _ = scorer(torch.from_numpy(crops(img, centres)))
        out.append((centres, peaks, jl.numpy(), el.numpy()))
    return out


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """Temperature scaling (Guo et al. 2017): one scalar minimising the NLL on the calibration
    split. `labels` may be (n, readers): every reader's grade is a target."""
    if labels.ndim == 2:
        logits = np.repeat(logits, labels.shape[1], axis=0)
        labels = labels.reshape(-1)
    log_t = torch.zeros(1, requires_grad=True)
    lg, lb = torch.from_numpy(logits).float(), torch.from_numpy(labels).long()
    opt = torch.optim.LBFGS([log_t], lr=0.1, max_iter=100)

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(lg / log_t.exp(), lb)
        loss.backward()
        return loss

    opt.step(closure)
    return float(log_t.detach().exp())


def joint_probs(pred, t_jsn: float, t_ero: float) -> np.ndarray:
    return np.stack(
        [
            np.concatenate([softmax(jl / t_jsn), softmax(el / t_ero)], axis=1)
            for _, _, jl, el in pred
        ]
    ).astype(np.float32)


def train_ra_head(probs: np.ndarray, labels: np.ndarray, epochs: int = 400) -> RaHead:
    """`labels`: the share of readers whose grades meet the RA rule (0, 0.5 or 1)."""
    torch.manual_seed(0)
    head = RaHead()
    opt = torch.optim.Adam(head.parameters(), lr=1e-2, weight_decay=1e-4)
    x, y = torch.from_numpy(probs), torch.from_numpy(labels.astype(np.float32))[:, None]
    for _ in range(epochs):
        loss = F.binary_cross_entropy_with_logits(head(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    _log(f"RA head loss {loss.item():.4f}")
    return head.eval()


def export(module: torch.nn.Module, example, path: Path, inputs, outputs, dynamic) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.onnx.export(
        module,
        example,
        str(path),
        input_names=inputs,
        output_names=outputs,
        dynamic_axes=dynamic,
        opset_version=OPSET,
        dynamo=False,
    )


def export_scorer_plain(scorer: JointScorer, root: Path) -> None:
    """The scorer's weights without the activation maps, beside the shipped graph: the
    benchmark's "one plain inference" baseline (the pipeline never loads it)."""
    export(
        ScorerPlain(scorer).eval(),
        torch.zeros(2, 1, CROP_SIZE, CROP_SIZE),
        root / "hand_joint_scorer" / "models" / "model_plain.onnx",
        ["crops"],
        ["jsn_logits", "erosion_logits"],
        {n: {0: "batch"} for n in ("crops", "jsn_logits", "erosion_logits")},
    )


def _load_localiser(root: Path) -> Localiser:
    net = Localiser()
    net.load_state_dict(torch.load(root / "hand_joint_localiser" / "models" / "model.pt"))
    return net.eval()


def _scorer_calibration(pred, cal, target: float) -> dict:
    """Temperatures fitted on the calibration split against both readers; the abstention
    threshold chosen there for `target` (accepted joints have both grades as a reader gave
    them); ECE before and after scaling, for the record."""
    jl = np.concatenate([p[2] for p in pred])
    el = np.concatenate([p[3] for p in pred])
    jsn = np.concatenate([s.readers_jsn().T for s in cal])
    ero = np.concatenate([s.readers_erosion().T for s in cal])
    t_jsn, t_ero = fit_temperature(jl, jsn), fit_temperature(el, ero)
    pj, pe = softmax(jl / t_jsn), softmax(el / t_ero)
    conf = np.minimum(pj.max(1), pe.max(1))
    # One reader per joint (alternating), so each joint counts once and both readers equally.
    reader = np.arange(len(jsn)) % jsn.shape[1]
    rows = np.arange(len(jsn))
    correct = (pj.argmax(1) == jsn[rows, reader]) & (pe.argmax(1) == ero[rows, reader])
    threshold = threshold_for_accuracy(conf, correct, target)
    raw_conf = np.minimum(softmax(jl).max(1), softmax(el).max(1))
    return {
        "temperature": {"jsn": t_jsn, "erosion": t_ero},
        "review_threshold": threshold,
        "abstention": {
            "rule": "a joint is accepted when its confidence (the smaller of the JSN and "
            "erosion top probabilities) is at or above the threshold",
            "target": f"accepted joints have both grades exactly as a reader gave them in at "
            f"least {target:.0%} of cases on the calibration (validation) split",
            "target_accuracy": target,
            "validation": abstention_summary(conf, correct, threshold),
            "validation_ece_before_scaling": expected_calibration_error(raw_conf, correct),
            "validation_ece_after_scaling": expected_calibration_error(conf, correct),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny run to check the plumbing")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--train", type=int, default=1600, help="training hands")
    parser.add_argument("--calibration", type=int, default=300, help="validation hands")
    parser.add_argument("--ra-fit", type=int, default=600, help="hands to fit the RA head")
    parser.add_argument("--scorer-epochs", type=int, default=14)
    parser.add_argument(
        "--reuse-localiser",
        action="store_true",
        help="keep the shipped localiser's weights (the joint geometry did not change)",
    )
    parser.add_argument("--joint-target", type=float, default=0.9)
    parser.add_argument("--ra-target", type=float, default=0.95)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    n_train, n_neg, n_ra, n_cal = (
        (60, 8, 40, 40) if args.quick else (args.train, 200, args.ra_fit, args.calibration)
    )
    ep_loc, ep_sc = (1, 1) if args.quick else (10, args.scorer_epochs)
    root = bundle_files.BUNDLE_ROOT

    _log("generating training images")
    train = hands("train", n_train, clean_every=8)
    if args.reuse_localiser:
        loc_net = _load_localiser(root)
        _log("localiser: reusing the shipped weights")
    else:
        loc_net = train_localiser(train + negatives("train", n_neg), ep_loc)
    scorer = train_scorer(train, ep_sc)
    # Export in the default memory layout; the graphs are the mirror-averaged wrappers.
    loc_net = loc_net.to(memory_format=torch.contiguous_format)
    scorer = scorer.to(memory_format=torch.contiguous_format)
    loc = LocaliserExport(loc_net).eval()
    exported = ScorerExport(scorer).eval()

    _log("calibrating on the calibration (validation) split")
    cal = hands("calibration", n_cal)
    cal_neg = negatives("calibration", max(8, n_cal // 6))
    pred = predict(loc, exported, cal)
    scorer_cal = _scorer_calibration(pred, cal, args.joint_target)
    t_jsn = scorer_cal["temperature"]["jsn"]
    t_ero = scorer_cal["temperature"]["erosion"]
    hand_peaks = np.array([p[1].mean() for p in pred])
    neg_peaks = np.array([p[1].mean() for p in predict(loc, exported, cal_neg)])
    # Halfway between the weakest hand and the strongest non-hand seen in calibration.
    presence = float((np.percentile(hand_peaks, 1) + neg_peaks.max()) / 2)
    _log(f"scorer calibration {scorer_cal}")
    _log(f"presence={presence:.3f} (hands p1 {np.percentile(hand_peaks, 1):.3f}, "
         f"non-hands max {neg_peaks.max():.3f})")  # fmt: skip

    _log("fitting the RA-pattern head")
    ra_set = hands("ra_fit", n_ra)
    head = train_ra_head(
        joint_probs(predict(loc, exported, ra_set), t_jsn, t_ero),
        np.array([s.reader_ra().mean() for s in ra_set]),
    )
    with torch.no_grad():
        ra_logits = head(torch.from_numpy(joint_probs(pred, t_jsn, t_ero))).numpy()[:, 0]
    ra_readers = np.stack([s.reader_ra() for s in cal]).astype(int)  # (n, 2)
    t_ra = fit_temperature(np.stack([np.zeros_like(ra_logits), ra_logits], 1), ra_readers)
    p_ra = 1 / (1 + np.exp(-ra_logits / t_ra))
    ra_conf = np.maximum(p_ra, 1 - p_ra)
    ra_correct = (p_ra >= 0.5) == ra_readers[np.arange(len(p_ra)), np.arange(len(p_ra)) % 2]
    ra_threshold = threshold_for_accuracy(ra_conf, ra_correct, args.ra_target)
    raw = 1 / (1 + np.exp(-ra_logits))
    ra_cal = {
        "temperature": t_ra,
        "review_threshold": ra_threshold,
        "abstention": {
            "rule": "the answer is accepted when max(p, 1 - p) is at or above the threshold",
            "target": f"accepted answers agree with a reader's RA pattern in at least "
            f"{args.ra_target:.0%} of cases on the calibration (validation) split",
            "target_accuracy": args.ra_target,
            "validation": abstention_summary(ra_conf, ra_correct, ra_threshold),
            "validation_ece_before_scaling": expected_calibration_error(
                np.maximum(raw, 1 - raw), ra_correct
            ),
            "validation_ece_after_scaling": expected_calibration_error(ra_conf, ra_correct),
        },
    }
    _log(f"RA calibration {ra_cal}")

    export(
        loc,
        torch.zeros(1, 1, 128, 128),
        root / "hand_joint_localiser" / "models" / "model.onnx",
        ["image"],
        ["heatmaps"],
        {"image": {0: "batch"}, "heatmaps": {0: "batch"}},
    )
    export(
        exported,
        torch.zeros(2, 1, CROP_SIZE, CROP_SIZE),
        root / "hand_joint_scorer" / "models" / "model.onnx",
        ["crops"],
        ["jsn_logits", "erosion_logits", "jsn_cam", "erosion_cam"],
        {
            n: {0: "batch"}
            for n in ("crops", "jsn_logits", "erosion_logits", "jsn_cam", "erosion_cam")
        },
    )
    export(
        head,
        torch.zeros(1, N_JOINTS, JSN_GRADES + 6),
        root / "hand_ra_pattern" / "models" / "model.onnx",
        ["joint_probs"],
        ["ra_logit"],
        {"joint_probs": {0: "batch"}, "ra_logit": {0: "batch"}},
    )
    export_scorer_plain(scorer, root)
    for name, module in (
        ("hand_joint_localiser", loc_net),
        ("hand_joint_scorer", scorer),
        ("hand_ra_pattern", head),
    ):
        torch.save(module.state_dict(), root / name / "models" / "model.pt")
    calibration = {
        "hand_joint_localiser": {
            "temperature": 1.0,
            "review_threshold": presence,
            "method": "none: heatmap peaks are not class probabilities, so no temperature is "
            "fitted (1.0 is a fixed placeholder). The presence threshold is fitted on the "
            "calibration split: halfway between the 1st percentile of hands' mean peak and the "
            "highest mean peak of images without a hand.",
            "reused_weights": bool(args.reuse_localiser),
        },
        "hand_joint_scorer": scorer_cal,
        "hand_ra_pattern": ra_cal,
    }
    sizes = {"train": n_train, "negatives": n_neg, "ra_fit": n_ra, "calibration": n_cal,
             "scorer_epochs": ep_sc}  # fmt: skip
    bundle_files.write_all(calibration, sizes, quick=args.quick)
    _log("done; now run: python -m imaging.training.evaluate")


if __name__ == "__main__":
    main()
