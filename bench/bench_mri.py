"""P4 (issue 15): MRI bundle speed and memory, as ratios against baselines measured in this run.

For each MRI bundle (spine-berlin, sij-axspa, hand-mri-arthritis):
1. Runtime: the bundle's weights (models/model.pt) in torch eager against the shipped ONNX graph
   in onnxruntime, on the same volume at the working grid. Target: onnxruntime at least 2x
   faster. torch runs the training architecture (BatchNorm, upsample then conv); the ONNX graph
   has BatchNorm folded and the upsample folded into polyphase convolutions (same function).
   torch is only in the `train` extra: without it this line is skipped, with a note.
2. Score + saliency against one inference, as issue 15 defines it: one inference is a full score
   of the volume without saliency (scoring.score_loaded(..., saliency=False): the volume checked,
   resampled to the working grid and normalised, the plain graph of the same weights without the
   saliency head (models/model_plain.onnx) run, regions localised, graded and calibrated, each
   region's slices read from its anatomy); score + saliency is the same full score with the
   shipped graph and its saliency output, the saliency resampled to the series' shape and the
   regions' slices read from it. Target: at most 1.5x. The bare graphs' times are printed beside.
3. Peak memory: a fresh process builds a 30-slice 512 x 512 series and runs score_volume on it
   (resampling, inference, saliency at full size); its peak resident set (VmHWM) must stay
   under 1.5 GiB. The process's resident set after its imports is printed beside it.

Both sides of each ratio run on one CPU thread (onnxruntime, torch and numpy's BLAS),
interleaved: each of BENCH_REPEAT (default 60) rounds times every side once, back to back, and
the ratio is the median of the rounds' ratios (paired, so a burst of load from other processes
on a shared machine hits both sides of a round alike); the medians of the times are printed.
Exits 1 if a target is missed.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# One thread everywhere, as one worker scores one study: numpy's BLAS (the saliency resampling
# is a matrix product) must not spread over a machine that other workers share.
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import numpy as np  # noqa: E402

from imaging import bundles as bundles_mod  # noqa: E402
from imaging.mri import scoring  # noqa: E402
from imaging.mri.contract import (  # noqa: E402
    HAND_MRI_ARTHRITIS,
    MRI_BUNDLES,
    SIJ_AXSPA,
    SPINE_BERLIN,
    Volume,
)
from imaging.training import mri_synth as synth  # noqa: E402

REPEAT = int(os.environ.get("BENCH_REPEAT", "60"))
TARGET_RUNTIME = 2.0
TARGET_SALIENCY = 1.5
TARGET_MEMORY_GIB = 1.5
DIRS = [ROOT / "imaging" / "bundles"]
PHANTOM = {SPINE_BERLIN: "spine", SIJ_AXSPA: "sij", HAND_MRI_ARTHRITIS: "hand"}


def timed(fns: dict[str, Callable[[], object]], repeat: int = REPEAT) -> dict[str, list[float]]:
    """Seconds per call, one sample per round; the functions are interleaved in every round so
    drift hits all alike."""
    for fn in fns.values():
        for _ in range(3):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return samples


def med(samples: list[float]) -> float:
    return statistics.median(samples)


def paired_ratio(num: list[float], den: list[float]) -> float:
    """The median over rounds of num/den, each round's two samples taken back to back."""
    return statistics.median(a / b for a, b in zip(num, den, strict=True))


def _session(path: Path):
    return bundles_mod.ort_session(path, batch_of_one=True)  # as scoring opens it


def _torch_model(name: str, bundle):
    import torch

    from imaging.training import mri_nets

    state = torch.load(bundle.path / "models" / "model.pt", weights_only=True)
    s_n, h, w = scoring.grid_of(bundle)
    if name == SIJ_AXSPA:
        cnn, vit = mri_nets.SijCnn(s_n), mri_nets.SijVit(s_n, (h, w))
        cnn.load_state_dict(state["cnn"])
        vit.load_state_dict(state["vit"])
        return mri_nets.SijEnsemble(cnn, vit).eval()
    heat = bundle.meta["network_data_format"]["outputs"]["heatmaps"]["num_channels"]
    logits = bundle.meta["network_data_format"]["outputs"]["logits"]["num_channels"]
    coords = state["e1.0.0.weight"].shape[1] == s_n + 2  # the hand net has CoordConv channels
    net = mri_nets.DenseNet25D(s_n, heat, logits, coords=coords)
    net.load_state_dict(state)
    return net.eval()


def runtime_ratio(name: str, bundle, x: np.ndarray) -> bool | None:
    try:
        import torch
    except ImportError:
        print(
            f"  1. runtime: SKIPPED - torch is not installed (it is in the `train` extra); "
            f"the onnxruntime-vs-torch comparison for {name} needs it."
        )
        return None
    torch.set_num_threads(1)
    with contextlib.suppress(RuntimeError):  # already set by an earlier bundle's line
        torch.set_num_interop_threads(1)
    net = _torch_model(name, bundle)
    sess = _session(bundle.model_path)
    outputs = [o.name for o in sess.get_outputs()]
    xt = torch.from_numpy(x)

    def eager():
        with torch.inference_mode():
            return net(xt)

    with torch.inference_mode():
        same = np.allclose(net(xt)[1].numpy(), sess.run(outputs, {"volume": x})[1], atol=1e-3)
    if not same:
        print(f"  1. runtime: FAILED - torch and onnxruntime disagree on {name}'s weights")
        return False
    t = timed({"torch": eager, "ort": lambda: sess.run(outputs, {"volume": x})})
    ratio = paired_ratio(t["torch"], t["ort"])
    ok = ratio >= TARGET_RUNTIME
    print(
        f"  1. runtime (1 thread, same weights and input): torch eager {med(t['torch']) * 1e3:.1f}"
        f" ms, onnxruntime {med(t['ort']) * 1e3:.1f} ms = {ratio:.2f}x faster (target >= "
        f"{TARGET_RUNTIME}x) {'ok' if ok else 'MISSED'}"
    )
    return ok


def saliency_ratio(name: str, bundle, volume: Volume, x: np.ndarray) -> bool:
    sess = _session(bundle.model_path)
    plain = _session(bundle.path / "models" / "model_plain.onnx")
    plain_out = [o.name for o in plain.get_outputs()]
    with_sal = scoring.score_loaded(bundle, name, volume, sess)
    without = scoring.score_loaded(bundle, name, volume, plain, saliency=False)
    if with_sal.saliency is None or with_sal.saliency.shape != volume.voxels.shape:
        print(f"  2. saliency: FAILED - {name} gave no saliency of the series' shape")
        return False
    if scoring.example_output(with_sal) != scoring.example_output(without):
        print(f"  2. saliency: FAILED - {name}'s grades differ with and without saliency")
        return False
    outputs = [o.name for o in sess.get_outputs()]
    t = timed(
        {
            "plain_graph": lambda: plain.run(plain_out, {"volume": x}),
            "graph": lambda: sess.run(outputs, {"volume": x}),
            "one": lambda: scoring.score_loaded(bundle, name, volume, plain, saliency=False),
            "score": lambda: scoring.score_loaded(bundle, name, volume, sess),
        }
    )
    ratio = paired_ratio(t["score"], t["one"])
    ok = ratio <= TARGET_SALIENCY
    print(
        f"  2. score + saliency {med(t['score']) * 1e3:.1f} ms vs one inference (the same full "
        f"score without saliency) {med(t['one']) * 1e3:.1f} ms = {ratio:.2f}x (target <= "
        f"{TARGET_SALIENCY}x) {'ok' if ok else 'MISSED'}; bare graphs: with saliency "
        f"{med(t['graph']) * 1e3:.1f} ms, plain {med(t['plain_graph']) * 1e3:.1f} ms"
    )
    return ok


# Peak resident set from /proc (VmHWM): getrusage's ru_maxrss would carry over the parent's
# high-water mark across fork and exec, and the parent holds torch.
MEMORY_CHILD = """
import json, sys
sys.path.insert(0, {root!r})
from pathlib import Path
import numpy as np
from imaging.mri import scoring
from imaging.mri.contract import Volume
from imaging.training import mri_synth as synth
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
base = hwm()
ph = synth.generator({anatomy!r})("test", 7)
vol = Volume(scoring.resize(ph.voxels, (30, 512, 512)), ph.spacing_mm, ph.plane, "MR")
score = scoring.score_volume({name!r}, vol, dirs=[Path({dirs!r})])
assert score.saliency.shape == (30, 512, 512)
print(json.dumps({{"after_imports_kib": base, "peak_kib": hwm()}}))
"""


def memory_peak(name: str) -> bool:
    code = MEMORY_CHILD.format(root=str(ROOT), anatomy=PHANTOM[name], name=name, dirs=str(DIRS[0]))
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=ROOT
    )
    if out.returncode != 0:
        print(f"  3. memory: FAILED - the child process failed: {out.stderr.strip()[-400:]}")
        return False
    m = json.loads(out.stdout.strip().splitlines()[-1])
    peak_gib = m["peak_kib"] / 1024**2
    ok = peak_gib < TARGET_MEMORY_GIB
    print(
        f"  3. peak memory scoring a 30 x 512 x 512 series: {peak_gib * 1024:.0f} MiB "
        f"(after imports {m['after_imports_kib'] / 1024:.0f} MiB; target < "
        f"{TARGET_MEMORY_GIB} GiB) {'ok' if ok else 'MISSED'}"
    )
    return ok


def main() -> int:
    results = []
    only = sys.argv[1:]  # e.g. `bench_mri.py spine-berlin`; all three by default
    print(
        "bench_mri: one thread each; ratios are medians of paired rounds. 'One inference' = a "
        "full score of the volume without saliency (check, resample, normalise, plain graph, "
        "regions, grades, calibration); 'score + saliency' = the same with the shipped graph's "
        "saliency resampled to the series."
    )
    for name in [n for n in MRI_BUNDLES if not only or n in only]:
        bundle = scoring.load(name, DIRS)
        ph = synth.generator(PHANTOM[name])("test", 3)
        volume = Volume(ph.voxels, ph.spacing_mm, ph.plane, "MR")
        x = scoring.prepare(volume.voxels, scoring.grid_of(bundle))
        print(f"P4 {name} {bundle.version} (volume {'x'.join(map(str, volume.voxels.shape))}):")
        results += [
            runtime_ratio(name, bundle, x),
            saliency_ratio(name, bundle, volume, x),
            memory_peak(name),
        ]
    failed = [r for r in results if r is False]
    print(f"bench_mri: {'all targets met' if not failed else f'{len(failed)} target(s) missed'}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
