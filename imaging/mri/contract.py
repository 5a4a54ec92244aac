"""The interface between MRI volumes and the MRI bundles that score them.

A reader (DICOM series or NIfTI) produces a `Volume`; `imaging.mri.scoring.score_volume(name,
volume)` runs one bundle on it and returns an `MriScore`. Both sides depend on this module only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PLANES = ("sagittal", "coronal", "axial")

SPINE_BERLIN = "spine-berlin"
SIJ_AXSPA = "sij-axspa"
HAND_MRI_ARTHRITIS = "hand-mri-arthritis"
MRI_BUNDLES = (SPINE_BERLIN, SIJ_AXSPA, HAND_MRI_ARTHRITIS)

# The 23 vertebral units of the Berlin MRI method (disc levels C2/3 to L5/S1), BME 0-3 each.
BERLIN_UNITS = tuple(
    [f"C{i}/C{i + 1}" for i in range(2, 7)]
    + ["C7/T1"]
    + [f"T{i}/T{i + 1}" for i in range(1, 12)]
    + ["T12/L1"]
    + [f"L{i}/L{i + 1}" for i in range(1, 5)]
    + ["L5/S1"]
)
BERLIN_MAX_GRADE = 3
assert len(BERLIN_UNITS) == 23


@dataclass(frozen=True)
class Volume:
    """One MRI series, normalised: voxels[slice, row, col], float32, slices sorted by position
    along the slice normal; spacing in mm as (between slices, row, col)."""

    voxels: np.ndarray
    spacing_mm: tuple[float, float, float]
    plane: str  # one of PLANES, from the orientation (DICOM ImageOrientationPatient / NIfTI affine)
    modality: str = "MR"  # DICOM Modality; "MR" for NIfTI
    series_description: str = ""  # e.g. "SAG STIR", used to check the bundle's expected sequence
    body_part: str = ""

    def __post_init__(self) -> None:
        if self.voxels.ndim != 3:
            raise ValueError("a volume has three dimensions (slices, rows, columns)")
        if self.plane not in PLANES:
            raise ValueError(f"unknown plane {self.plane!r}")


@dataclass(frozen=True)
class RegionScore:
    """One scored region: a Berlin vertebral unit, a hand region, or the whole SIJ series.

    grade is None when the bundle abstained for this region (a manual check is asked for);
    probabilities are over the grades 0..n-1; slices is the (first, last) slice index the region
    was seen on, so the viewer can link the table row to the slices."""

    region: str
    feature: str  # "bme", "synovitis", "tenosynovitis", "osteitis", "axspa"
    grade: int | None
    probabilities: tuple[float, ...]
    confidence: float
    slices: tuple[int, int]

    @property
    def abstained(self) -> bool:
        return self.grade is None


@dataclass
class MriScore:
    """What one bundle says about one volume (JSON-able except `saliency`)."""

    bundle: str
    version: str
    regions: list[RegionScore]
    summary: dict  # spine: {"total": 0-69 or None}; sij: {"probability": p, "per_plane": ...};
    # hand: {"arthritis_probability": p, "arthritis": bool | None}
    abstained: bool  # True when any region, or the overall call, asks for a manual check
    review_reason: str = ""
    saliency: np.ndarray | None = field(default=None, repr=False)  # same shape as voxels, 0-1

    def as_json(self) -> dict:
        return {
            "bundle": self.bundle,
            "version": self.version,
            "regions": [
                {
                    "region": r.region,
                    "feature": r.feature,
                    "grade": r.grade,
                    "probabilities": list(r.probabilities),
                    "confidence": r.confidence,
                    "slices": list(r.slices),
                }
                for r in self.regions
            ],
            "summary": self.summary,
            "abstained": self.abstained,
            "review_reason": self.review_reason,
        }


class VolumeRejected(ValueError):
    """A volume a bundle cannot score (wrong modality, plane, single slice...): a clear message
    for the person who uploaded it."""
