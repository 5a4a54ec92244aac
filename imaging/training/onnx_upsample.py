"""Fold nearest-neighbour 2x upsampling into the convolution that follows it (training time).

The MRI U-Nets (`mri_nets.DenseNet25D`) decode with `conv3x3(concat(upsample2x(d), skip))`.
A 3x3 convolution of a nearest-upsampled map is, for each of the four output phases (even/odd
row, even/odd column), a 2x2 convolution of the low-resolution map with summed weights
(polyphase decomposition): row 2i reads rows i-1 (tap -1) and i (taps 0 and +1), row 2i+1 reads
rows i (taps -1 and 0) and i+1 (tap +1), and likewise for columns. So

    conv3x3(concat(up(d), skip)) = DepthToSpace(concat(4 x conv2x2(d))) + conv3x3(skip)

computes the same function with 4/9 of the multiply-adds on the upsampled channels (about a
sixth of the whole graph). Only the float rounding differs (~1e-6); `rewrite` checks the
rewritten graph against the original in onnxruntime and refuses a mismatch.

    python -m imaging.training.onnx_upsample imaging/bundles/spine_berlin/models/model.onnx ...

`mri_train.export` applies it to every exported graph (a graph without the pattern is left as
it is, e.g. the SIJ ensemble's). The torch-eager benchmark baseline keeps the training
architecture: same weights, same function.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper, shape_inference

# Row (column) taps of the 3x3 kernel summed into each of the 2x2 kernel's rows (columns), for
# an even (0) or odd (1) output row (column).
TAP_GROUPS = {0: ([0], [1, 2]), 1: ([0, 1], [2])}
TOLERANCE = 1e-4


def _attrs(node) -> dict:
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _is_nearest_2x(node, consts: dict) -> bool:
    a = _attrs(node)
    if node.op_type != "Resize" or a.get("mode", b"nearest") != b"nearest":
        return False
    if a.get("coordinate_transformation_mode") != b"asymmetric" or a.get("nearest_mode") not in (
        b"floor",
        None,
    ):
        return False
    scales = consts.get(node.input[2]) if len(node.input) > 2 else None
    return scales is not None and list(scales) == [1.0, 1.0, 2.0, 2.0] and len(node.input) < 4


def _is_plain_3x3(node) -> bool:
    a = _attrs(node)
    return (
        node.op_type == "Conv"
        and a.get("kernel_shape") == [3, 3]
        and a.get("pads") == [1, 1, 1, 1]
        and a.get("strides", [1, 1]) == [1, 1]
        and a.get("dilations", [1, 1]) == [1, 1]
        and a.get("group", 1) == 1
    )


def fold_upsample_convs(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    """The model with every conv3x3(concat(nearest2x(d), skip)) rewritten as above, and how
    many were rewritten."""
    model = shape_inference.infer_shapes(model)
    g = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    consts = dict(inits)
    for n in g.node:
        if n.op_type == "Constant":
            consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
    channels = {
        v.name: v.type.tensor_type.shape.dim[1].dim_value
        for v in [*g.value_info, *g.input]
        if len(v.type.tensor_type.shape.dim) == 4
    }
    producer = {o: n for n in g.node for o in n.output}
    nodes, new_inits, k = [], [], 0
    for n in g.node:
        cat = producer.get(n.input[0]) if n.op_type == "Conv" else None
        up = producer.get(cat.input[0]) if cat is not None and cat.op_type == "Concat" else None
        if (
            up is None
            or len(cat.input) != 2
            or _attrs(cat).get("axis") != 1
            or not _is_nearest_2x(up, consts)
            or not _is_plain_3x3(n)
            or len(n.input) != 3
            or not channels.get(up.input[0])
        ):
            nodes.append(n)
            continue
        weight = inits[n.input[1]].astype(np.float64)
        cu = channels[up.input[0]]
        w_up, w_skip = weight[:, :cu], weight[:, cu:]
        phases = []
        for a in (0, 1):
            for b in (0, 1):
                kern = np.zeros((weight.shape[0], cu, 2, 2))
                for r, rows in enumerate(TAP_GROUPS[a]):
                    for c, cols in enumerate(TAP_GROUPS[b]):
                        kern[:, :, r, c] = w_up[:, :, rows][:, :, :, cols].sum(axis=(2, 3))
                name = f"upfold{k}_w{a}{b}"
                new_inits.append(numpy_helper.from_array(kern.astype(np.float32), name))
                out = f"upfold{k}_phase{a}{b}"
                pads = [1 - a, 1 - b, a, b]  # even rows read i-1 and i, odd rows i and i+1
                nodes.append(
                    helper.make_node(
                        "Conv", [up.input[0], name], [out], kernel_shape=[2, 2], pads=pads
                    )
                )
                phases.append(out)
        # Channel (row phase * 2 + column phase) * C + c goes to (2h + row phase, 2w + col phase).
        nodes.append(helper.make_node("Concat", phases, [f"upfold{k}_phases"], axis=1))
        nodes.append(
            helper.make_node(
                "DepthToSpace", [f"upfold{k}_phases"], [f"upfold{k}_up"], blocksize=2, mode="DCR"
            )
        )
        skip_w = f"upfold{k}_w_skip"
        new_inits.append(numpy_helper.from_array(w_skip.astype(np.float32), skip_w))
        nodes.append(
            helper.make_node(
                "Conv",
                [cat.input[1], skip_w, n.input[2]],
                [f"upfold{k}_skip"],
                kernel_shape=[3, 3],
                pads=[1, 1, 1, 1],
            )
        )
        nodes.append(helper.make_node("Add", [f"upfold{k}_up", f"upfold{k}_skip"], [n.output[0]]))
        k += 1
    if not k:
        return model, 0
    del g.node[:]
    g.node.extend(nodes)
    g.initializer.extend(new_inits)
    _drop_unused(g)
    del g.value_info[:]  # recomputed by onnxruntime; stale entries would only mislead
    onnx.checker.check_model(model)
    return model, k


def _drop_unused(g) -> None:
    """Remove nodes (the replaced Resize, Concat and Conv) and initialisers nothing reads."""
    while True:
        used = {i for n in g.node for i in n.input} | {o.name for o in g.output}
        dead = [n for n in g.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for n in dead:
            g.node.remove(n)
    used = {i for n in g.node for i in n.input}
    keep = [t for t in g.initializer if t.name in used]
    del g.initializer[:]
    g.initializer.extend(keep)


def max_difference(before: onnx.ModelProto, after: onnx.ModelProto, seed: int = 0) -> float:
    """The largest absolute difference of any output on a random input, in onnxruntime."""
    import onnxruntime as ort

    dims = [d.dim_value or 1 for d in before.graph.input[0].type.tensor_type.shape.dim]
    x = np.random.default_rng(seed).random(dims, dtype=np.float32)
    feeds = {before.graph.input[0].name: x}
    runs = [
        ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(
            None, feeds
        )
        for m in (before, after)
    ]
    return max(float(np.abs(a - b).max()) for a, b in zip(*runs, strict=True))


def rewrite(path: Path) -> int:
    """Rewrite the graph at `path` in place (when it has the pattern and the outputs agree);
    the number of convolutions folded."""
    before = onnx.load(str(path))
    after, k = fold_upsample_convs(onnx.load(str(path)))
    if not k:
        return 0
    diff = max_difference(before, after)
    if diff > TOLERANCE:
        raise ValueError(f"{path}: the rewritten graph differs by {diff:.2e} (> {TOLERANCE})")
    onnx.save(after, str(path))
    return k


def main(argv: list[str]) -> int:
    for arg in argv:
        print(f"{arg}: {rewrite(Path(arg))} upsample+conv folded")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
