"""P4 (issue 6): imaging inference speed, as ratios against baselines measured in the same run.

1. Runtime: the reference bundles' weights (models/model.pt) in torch eager against the shipped
   ONNX graphs in onnxruntime, for the networks one radiograph needs (the localiser on one image,
   the joint scorer with its activation maps on the 11 crops). Target: onnxruntime at least 2x
   faster. torch is only in the `train` extra: without it this part is skipped, with a message.
2. Saliency cost: scoring the 11 crops with the shipped graph (logits plus class activation
   maps, and the evidence maps the pipeline derives from them) against one plain inference of
   the same weights without maps (models/model_plain.onnx, exported beside it by the training
   script for this purpose). Target: at most 1.5x.
3. Whole radiograph: pipeline.analyse on a 512 x 512 radiograph (normalise, letterbox, locate,
   crop, score, RA pattern, saliency overlay PNG) against one joint-scoring pass over all 11
   crops as a batch. Target: at most 3x.

Both sides of each ratio run on one CPU thread (as a worker does), interleaved, and the median
of BENCH_REPEAT (default 30) repetitions is compared. Exits 1 if a target is missed.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from imaging import bundles as bundles_mod  # noqa: E402
from imaging import pipeline  # noqa: E402
from imaging.preprocess import crops, downsample, letterbox, normalise  # noqa: E402
from imaging.training.synth import generate  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "30"))
TARGET_RUNTIME = 2.0  # onnxruntime at least this many times faster than torch eager
TARGET_SALIENCY = 1.5  # score + map at most this many times one plain inference
TARGET_WHOLE = 3.0  # whole radiograph at most this many times one batch scoring pass


def timed(fns: dict[str, Callable[[], object]], repeat: int = REPEAT) -> dict[str, float]:
    """Median seconds per call; the functions are interleaved so drift hits all alike."""
    for fn in fns.values():  # warm-up (first-call allocations, lazy initialisation)
        fn()
        fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(s) for name, s in samples.items()}


def load() -> pipeline.Bundles:
    root = bundles_mod.PROJECT_BUNDLES
    return pipeline.Bundles(
        localiser=bundles_mod.load_bundle(root / "hand_joint_localiser"),
        scorer=bundles_mod.load_bundle(root / "hand_joint_scorer"),
        ra=bundles_mod.load_bundle(root / "hand_ra_pattern"),
    )


def plain_session(b: pipeline.Bundles):
    import onnxruntime as ort

    path = b.scorer.path / "models" / "model_plain.onnx"
    if not path.is_file():
        raise SystemExit(f"{path} is missing: re-run python -m imaging.training.train")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def runtime_ratio(b: pipeline.Bundles, image: np.ndarray, tiles: np.ndarray) -> bool | None:
    try:
        import torch
    except ImportError:
        print(
            "1. runtime: SKIPPED - torch is not installed (it is in the `train` extra: "
            "pip install -e '.[train]'); the onnxruntime-vs-torch comparison needs it."
        )
        return None
    from imaging.training.nets import JointScorer, Localiser, LocaliserExport, ScorerExport

    torch.set_num_threads(1)
    loc_net, scorer_net = Localiser(), JointScorer()
    for net, bundle in ((loc_net, b.localiser), (scorer_net, b.scorer)):
        state = torch.load(bundle.path / "models" / "model.pt", weights_only=True)
        net.load_state_dict(state)
        net.eval()
    loc_t, scorer_t = LocaliserExport(loc_net).eval(), ScorerExport(scorer_net).eval()
    small = downsample(letterbox(normalise(image))[0])[None, None].astype(np.float32)
    small_t, tiles_t = torch.from_numpy(small), torch.from_numpy(tiles)
    loc_s, scorer_s = b.session("localiser"), b.session("scorer")
    outputs = ["jsn_logits", "erosion_logits", "jsn_cam", "erosion_cam"]

    def torch_loc():
        with torch.inference_mode():
            return loc_t(small_t)

    def torch_scorer():
        with torch.inference_mode():
            return scorer_t(tiles_t)

    # Same weights, same answers (within float tolerance) before any timing.
    with torch.inference_mode():
        same = np.allclose(
            loc_t(small_t).numpy(), loc_s.run(["heatmaps"], {"image": small})[0], atol=1e-4
        ) and np.allclose(
            scorer_t(tiles_t)[0].numpy(), scorer_s.run(outputs, {"crops": tiles})[0], atol=1e-3
        )
    if not same:
        print("1. runtime: FAILED - torch and onnxruntime disagree on the same weights")
        return False
    t = timed(
        {
            "torch_loc": torch_loc,
            "ort_loc": lambda: loc_s.run(["heatmaps"], {"image": small}),
            "torch_scorer": torch_scorer,
            "ort_scorer": lambda: scorer_s.run(outputs, {"crops": tiles}),
        }
    )
    torch_total, ort_total = t["torch_loc"] + t["torch_scorer"], t["ort_loc"] + t["ort_scorer"]
    ratio = torch_total / ort_total
    print(
        f"1. runtime (1 thread): localiser torch {t['torch_loc'] * 1e3:.2f} ms, onnxruntime "
        f"{t['ort_loc'] * 1e3:.2f} ms ({t['torch_loc'] / t['ort_loc']:.2f}x); scorer on 11 "
        f"crops torch {t['torch_scorer'] * 1e3:.2f} ms, onnxruntime "
        f"{t['ort_scorer'] * 1e3:.2f} ms ({t['torch_scorer'] / t['ort_scorer']:.2f}x)"
    )
    ok = ratio >= TARGET_RUNTIME
    print(
        f"   both networks: torch {torch_total * 1e3:.2f} ms / onnxruntime "
        f"{ort_total * 1e3:.2f} ms = {ratio:.2f}x faster (target >= {TARGET_RUNTIME}x) "
        f"{'ok' if ok else 'MISSED'}"
    )
    return ok


def saliency_ratio(b: pipeline.Bundles, tiles: np.ndarray) -> bool:
    scorer_s, plain_s = b.session("scorer"), plain_session(b)
    t_jsn, t_ero = b.scorer.temperature("jsn"), b.scorer.temperature("erosion")

    def plain():
        jl, el = plain_s.run(["jsn_logits", "erosion_logits"], {"crops": tiles})
        return pipeline.softmax(jl / t_jsn).argmax(1), pipeline.softmax(el / t_ero).argmax(1)

    def with_maps():
        return pipeline.score_crops(scorer_s, b.scorer, tiles)

    maps = with_maps()
    grades = plain()
    if [s.jsn for s in maps] != grades[0].tolist() or [s.erosion for s in maps] != (
        grades[1].tolist()
    ):
        print("2. saliency: FAILED - the plain graph and the shipped graph grade differently")
        return False
    t = timed({"plain": plain, "maps": with_maps})
    ratio = t["maps"] / t["plain"]
    ok = ratio <= TARGET_SALIENCY
    print(
        f"2. score + saliency on 11 crops: {t['maps'] * 1e3:.2f} ms vs plain inference "
        f"{t['plain'] * 1e3:.2f} ms = {ratio:.2f}x (target <= {TARGET_SALIENCY}x) "
        f"{'ok' if ok else 'MISSED'}"
    )
    return ok


def whole_ratio(b: pipeline.Bundles, image: np.ndarray, tiles: np.ndarray) -> bool:
    scorer_s = b.session("scorer")
    outputs = ["jsn_logits", "erosion_logits", "jsn_cam", "erosion_cam"]
    result = pipeline.analyse(image, bundles=b)
    if result.status != "scored" or result.overlay is None:
        print("3. whole radiograph: FAILED - the benchmark radiograph was not scored")
        return False
    t = timed(
        {
            "batch": lambda: scorer_s.run(outputs, {"crops": tiles}),
            "whole": lambda: pipeline.analyse(image, bundles=b),
        }
    )
    ratio = t["whole"] / t["batch"]
    ok = ratio <= TARGET_WHOLE
    print(
        f"3. whole radiograph (locate, score 11 joints, RA, overlay): {t['whole'] * 1e3:.2f} ms "
        f"vs one batch scoring pass over the 11 crops {t['batch'] * 1e3:.2f} ms = {ratio:.2f}x "
        f"(target <= {TARGET_WHOLE}x) {'ok' if ok else 'MISSED'}"
    )
    return ok


def main() -> int:
    b = load()
    sample = generate(3_000_777)
    image = sample.image
    loc = pipeline.localise(b.session("localiser"), b.localiser, image)
    tiles = crops(loc.work, loc.centres)
    print(f"P4 imaging inference, median of {REPEAT} interleaved runs, one CPU thread each")
    results = [
        runtime_ratio(b, image, tiles),
        saliency_ratio(b, tiles),
        whole_ratio(b, image, tiles),
    ]
    missed = [r for r in results if r is False]
    print(
        "P4: " + ("all measured targets met" if not missed else f"{len(missed)} target(s) missed")
    )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
