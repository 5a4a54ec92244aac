"""Model bundles on disk: discovery, validation against a JSON schema, ONNX shape checks.

A bundle is a folder in the MONAI bundle layout, ONNX profile:
    <name>/configs/metadata.json   MONAI's keys plus ours (see METADATA_SCHEMA)
    <name>/models/model.onnx       the graph onnxruntime runs (a state dict may sit beside it)
    <name>/docs/README.md          the model card
    <name>/examples/...            example inputs with expected outputs for --self-test
                                   (run by imaging.selftest)
Bundles are found in imaging/bundles/ and in every folder of settings.IMAGING_BUNDLE_DIRS, so a
site adds a model by dropping a folder in, without code changes.

Sessions are created per call (no module-level cache): a worker scores one study per task and
the graphs are small, so loading costs milliseconds and no state is shared between processes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema

RADIOGRAPH_ROLES = ("joint_localiser", "joint_scorer", "ra_pattern")
# MRI bundles (imaging.mri.scoring): their metadata also carries an "mri" block (planes,
# minimum slices, regions, presence and extra thresholds).
MRI_ROLES = ("mri_spine_berlin", "mri_sij_axspa", "mri_hand_arthritis")
ROLES = RADIOGRAPH_ROLES + MRI_ROLES
PROJECT_BUNDLES = Path(__file__).resolve().parent / "bundles"
MAX_MODEL_BYTES = 20 * 1024 * 1024


class BundleError(Exception):
    """A bundle that cannot be used; the message names the bundle and the offending field."""


_TENSOR = {
    "type": "object",
    "required": ["type", "num_channels", "spatial_shape", "dtype"],
    "properties": {
        "type": {"type": "string"},
        "format": {"type": "string"},
        "num_channels": {"type": "integer", "minimum": 1},
        "spatial_shape": {"type": "array", "items": {"type": "integer", "minimum": 1}},
        "dtype": {"enum": ["float32"]},
        "value_range": {"type": ["array", "null"]},
        "channel_def": {"type": "object"},
    },
}
_TEMPERATURE = {"type": "number", "exclusiveMinimum": 0}

METADATA_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": [
        "version",
        "changelog",
        "task",
        "description",
        "authors",
        "copyright",
        "network_data_format",
        "intended_use",
        "role",
        "input_spec",
        "output_spec",
        "calibration",
        "review_threshold",
        "training_data",
        "held_out_metrics",
    ],
    "properties": {
        "version": {"type": "string", "pattern": r"^\d+\.\d+\.\d+$"},
        "changelog": {"type": "object", "minProperties": 1},
        "task": {"type": "string", "minLength": 1},
        "description": {"type": "string"},
        "authors": {"type": ["string", "array"]},
        "copyright": {"type": "string"},
        "intended_use": {"type": "string", "minLength": 1},
        "demonstration_only": {"type": "boolean"},
        "role": {"enum": list(ROLES)},
        "input_spec": {
            "type": "object",
            "required": ["size", "channels", "normalisation"],
            "properties": {
                "size": {"type": "array", "items": {"type": "integer", "minimum": 1}},
                "channels": {"type": "integer", "minimum": 1},
                "normalisation": {
                    "type": "object",
                    "required": ["method"],
                    "properties": {"method": {"enum": ["percentile", "none"]}},
                },
            },
        },
        "output_spec": {
            "type": "object",
            "minProperties": 1,
            "additionalProperties": {
                "type": "object",
                "required": ["labels", "meaning"],
                "properties": {"labels": {"type": "object"}, "meaning": {"type": "string"}},
            },
        },
        "calibration": {
            "type": "object",
            "required": ["method", "temperature"],
            "properties": {
                "temperature": {
                    "oneOf": [
                        _TEMPERATURE,
                        {"type": "object", "additionalProperties": _TEMPERATURE},
                    ]
                }
            },
        },
        "review_threshold": {"type": "number", "minimum": 0, "maximum": 1},
        "training_data": {"type": "object", "required": ["description"]},
        "held_out_metrics": {"type": "object"},
        "network_data_format": {
            "type": "object",
            "required": ["inputs", "outputs"],
            "properties": {
                "inputs": {"type": "object", "minProperties": 1, "additionalProperties": _TENSOR},
                "outputs": {
                    "type": "object",
                    "minProperties": 1,
                    "additionalProperties": _TENSOR,
                },
            },
        },
        "mri": {
            "type": "object",
            "required": ["bundle", "planes", "min_slices"],
            "properties": {
                "bundle": {"type": "string"},
                "planes": {
                    "type": "array",
                    "minItems": 1,
                    "items": {"enum": ["sagittal", "coronal", "axial"]},
                },
                "min_slices": {"type": "integer", "minimum": 2},
                "presence_threshold": {"type": "number", "minimum": 0, "maximum": 1},
            },
        },
        "examples": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["input"],
                "properties": {"input": {"type": "string"}, "expected": {"type": "object"}},
            },
        },
    },
    # An MRI bundle says which planes and how many slices it scores (imaging.mri.scoring).
    "if": {"properties": {"role": {"enum": list(MRI_ROLES)}}, "required": ["role"]},
    "then": {"required": ["mri"]},
}


@dataclass(frozen=True)
class Bundle:
    name: str
    path: Path
    meta: dict

    @property
    def version(self) -> str:
        return self.meta["version"]

    @property
    def role(self) -> str:
        return self.meta["role"]

    @property
    def model_path(self) -> Path:
        return self.path / "models" / "model.onnx"

    @property
    def review_threshold(self) -> float:
        return float(self.meta["review_threshold"])

    def temperature(self, output: str | None = None) -> float:
        t = self.meta["calibration"]["temperature"]
        return float(t[output] if isinstance(t, dict) else t)

    def session(self, plain: bool = False, batch_of_one: bool = False):
        """An onnxruntime session on the bundle's graph; `plain`: its graph without the saliency
        output (models/model_plain.onnx) where the bundle ships one, else the graph itself;
        `batch_of_one`: for callers that always run one item (an MRI volume), not a batch."""
        path = self.model_path
        if plain and (self.path / "models" / "model_plain.onnx").is_file():
            path = self.path / "models" / "model_plain.onnx"
        return ort_session(path, batch_of_one)

    def describe(self) -> dict:
        return {
            "name": self.name,
            "version": self.version,
            "role": self.role,
            "task": self.meta["task"],
            "path": str(self.path),
            "review_threshold": self.review_threshold,
            "demonstration_only": bool(self.meta.get("demonstration_only", False)),
        }


def _field_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def _expected_shape(spec: dict) -> list[int]:
    return [spec["num_channels"], *spec["spatial_shape"]]


def ort_session(path: Path, batch_of_one: bool = False):
    """One CPU thread (one study per worker process; workers scale out), sequential execution,
    every graph optimisation (constant folding, Conv+activation fusion, the NCHWc layout)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if batch_of_one:
        # One volume per call: fixing the batch lets the optimiser fold shape-dependent
        # subgraphs (the hand net's CoordConv position channels) into constants.
        options.add_free_dimension_override_by_name("batch", 1)
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def check_graph(name: str, meta: dict, model_path: Path) -> None:
    """Compare the ONNX graph's inputs and outputs with network_data_format."""
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises several types for unreadable graphs
        raise BundleError(f"bundle {name}: models/model.onnx cannot be loaded ({exc})") from exc
    fmt = meta["network_data_format"]
    for kind, args in (("inputs", session.get_inputs()), ("outputs", session.get_outputs())):
        graph = {a.name: a for a in args}
        declared = fmt[kind]
        for key, spec in declared.items():
            where = f"network_data_format.{kind}.{key}"
            if key not in graph:
                raise BundleError(
                    f"bundle {name}: {where} is not a graph {kind[:-1]} "
                    f"(the graph has {sorted(graph)})"
                )
            shape = list(graph[key].shape)
            if graph[key].type != "tensor(float)":
                raise BundleError(f"bundle {name}: {where}.dtype is float32, graph has "
                                  f"{graph[key].type}")  # fmt: skip
            if len(shape) != 1 + len(_expected_shape(spec)) or any(
                isinstance(g, int) and g != e
                for g, e in zip(shape[1:], _expected_shape(spec), strict=True)
            ):
                field = "spatial_shape" if len(shape) >= 2 and shape[1] == spec[
                    "num_channels"] else "num_channels"  # fmt: skip
                raise BundleError(
                    f"bundle {name}: {where}.{field} does not match the graph: metadata says "
                    f"[batch, {', '.join(map(str, _expected_shape(spec)))}], the graph has "
                    f"{shape}"
                )
        extra = set(graph) - set(declared) if kind == "inputs" else set()
        if extra:
            raise BundleError(
                f"bundle {name}: graph input(s) {sorted(extra)} missing from "
                f"network_data_format.inputs"
            )


def load_bundle(path: Path) -> Bundle:
    path = Path(path)
    name = path.name
    meta_path = path / "configs" / "metadata.json"
    if not meta_path.is_file():
        raise BundleError(f"bundle {name}: configs/metadata.json is missing")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BundleError(
            f"bundle {name}: configs/metadata.json is not valid JSON ({exc})"
        ) from exc
    validator = jsonschema.Draft202012Validator(METADATA_SCHEMA)
    errors = sorted(validator.iter_errors(meta), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        raise BundleError(f"bundle {name}: metadata field {_field_path(e)}: {e.message}")
    model = path / "models" / "model.onnx"
    if not model.is_file():
        raise BundleError(f"bundle {name}: models/model.onnx is missing")
    if model.stat().st_size > MAX_MODEL_BYTES:
        raise BundleError(f"bundle {name}: models/model.onnx is over 20 MB")
    for required in (path / "docs" / "README.md",):
        if not required.is_file():
            raise BundleError(f"bundle {name}: docs/README.md (the model card) is missing")
    check_graph(name, meta, model)
    return Bundle(name=name, path=path, meta=meta)


def bundle_dirs() -> list[Path]:
    from django.conf import settings

    return [PROJECT_BUNDLES, *[Path(p) for p in getattr(settings, "IMAGING_BUNDLE_DIRS", [])]]


def discover(dirs: list[Path] | None = None) -> tuple[list[Bundle], list[BundleError]]:
    """Every valid bundle, and an error for every folder that looks like a broken one."""
    found: list[Bundle] = []
    errors: list[BundleError] = []
    seen: set[str] = set()
    for root in dirs if dirs is not None else bundle_dirs():
        if not Path(root).is_dir():
            errors.append(BundleError(f"bundle folder {root} does not exist"))
            continue
        for folder in sorted(p for p in Path(root).iterdir() if p.is_dir()):
            if not (folder / "configs").is_dir() and not (folder / "models").is_dir():
                continue  # not a bundle (e.g. __pycache__)
            try:
                bundle = load_bundle(folder)
            except BundleError as exc:
                errors.append(exc)
                continue
            if bundle.name in seen:
                errors.append(BundleError(f"bundle {bundle.name}: name used twice ({folder})"))
                continue
            seen.add(bundle.name)
            found.append(bundle)
    return found, errors


def get_bundle(name: str, dirs: list[Path] | None = None) -> Bundle:
    for root in dirs if dirs is not None else bundle_dirs():
        folder = Path(root) / name
        if folder.is_dir():
            return load_bundle(folder)
    raise BundleError(f"bundle {name}: not found in {[str(d) for d in (dirs or bundle_dirs())]}")


def default_for(role: str, dirs: list[Path] | None = None) -> Bundle:
    bundles, _ = discover(dirs)
    for b in bundles:
        if b.role == role:
            return b
    raise BundleError(f"no valid bundle with role {role}")
