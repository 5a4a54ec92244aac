"""The training-time graph rewrite: nearest 2x upsample + conv3x3 as 2x2 polyphase convs."""

from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

onnx = pytest.importorskip("onnx", reason="the graph rewrite runs at training time (train extra)")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from imaging import bundles  # noqa: E402
from imaging.training import onnx_upsample  # noqa: E402


def _decoder_graph(mode: str = "nearest") -> onnx.ModelProto:
    """d (1, 3, 5, 4) upsampled 2x, concatenated with skip (1, 2, 10, 8), conv3x3 + bias, relu:
    the U-Nets' decoder step."""
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.normal(size=(4, 5, 3, 3)).astype(np.float32), "w")
    b = numpy_helper.from_array(rng.normal(size=(4,)).astype(np.float32), "b")
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "scales")
    resize = {"mode": mode, "coordinate_transformation_mode": "asymmetric"}
    if mode == "nearest":
        resize["nearest_mode"] = "floor"
    nodes = [
        helper.make_node("Resize", ["d", "", "scales"], ["up"], **resize),
        helper.make_node("Concat", ["up", "skip"], ["cat"], axis=1),
        helper.make_node("Conv", ["cat", "w", "b"], ["conv"], kernel_shape=[3, 3], pads=[1] * 4),
        helper.make_node("Relu", ["conv"], ["out"]),
    ]
    graph = helper.make_graph(
        nodes,
        "decoder",
        [
            helper.make_tensor_value_info("d", TensorProto.FLOAT, [1, 3, 5, 4]),
            helper.make_tensor_value_info("skip", TensorProto.FLOAT, [1, 2, 10, 8]),
        ],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 4, 10, 8])],
        [w, b, scales],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def _run(model: onnx.ModelProto, feeds: dict) -> np.ndarray:
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def test_folded_graph_computes_the_same_function_without_the_upsample():
    rng = np.random.default_rng(1)
    feeds = {
        "d": rng.normal(size=(1, 3, 5, 4)).astype(np.float32),
        "skip": rng.normal(size=(1, 2, 10, 8)).astype(np.float32),
    }
    before = _decoder_graph()
    after, folded = onnx_upsample.fold_upsample_convs(_decoder_graph())
    assert folded == 1
    ops = [n.op_type for n in after.graph.node]
    assert "Resize" not in ops
    assert ops.count("Conv") == 5  # four 2x2 phases and the skip's 3x3
    assert np.abs(_run(after, feeds) - _run(before, feeds)).max() < 1e-5


def test_a_linear_upsample_is_left_alone():
    model, folded = onnx_upsample.fold_upsample_convs(_decoder_graph("linear"))
    assert folded == 0
    assert "Resize" in [n.op_type for n in model.graph.node]


def test_rewrite_refuses_a_graph_whose_outputs_would_change(tmp_path, monkeypatch):
    path = tmp_path / "model.onnx"
    onnx.save(_decoder_graph(), str(path))
    monkeypatch.setattr(onnx_upsample, "max_difference", lambda before, after: 1.0)
    with pytest.raises(ValueError, match="differs by"):
        onnx_upsample.rewrite(path)
    assert "Resize" in [n.op_type for n in onnx.load(str(path)).graph.node]  # left as it was


@pytest.mark.parametrize("folder", ["spine_berlin", "hand_mri_arthritis"])
@pytest.mark.parametrize("graph", ["model.onnx", "model_plain.onnx"])
def test_shipped_unet_graphs_are_folded(folder, graph):
    model = onnx.load(str(bundles.PROJECT_BUNDLES / folder / "models" / graph))
    ops = [n.op_type for n in model.graph.node]
    assert "Resize" not in ops
    assert ops.count("DepthToSpace") == 2
