"""Building MRI series for tests: DICOM slices (pydicom) whose every file carries planted names
and IDs (tags, a private tag, a sequence), zips of them, and NIfTI files (nibabel)."""

from __future__ import annotations

import io
import zipfile

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from tests.imaging.dicom_helpers import PHI

MR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
PLANTED = (
    "Doe^Jane",
    "Jane Doe",
    "NHS-943-476-5919",
    "MRN-12345",
    "St Elsewhere",
    "House^Gregory",
    "ACC998877",
    "19610214",
    "SEQ-SECRET-ID",
    "private vendor note",
)
# Orientation (row direction, column direction) of each plane, in LPS.
ORIENTATIONS = {
    "sagittal": ([0, 1, 0], [0, 0, -1]),
    "coronal": ([1, 0, 0], [0, 0, -1]),
    "axial": ([1, 0, 0], [0, 1, 0]),
}


def phantom(slices: int, rows: int, cols: int, seed: int = 0) -> np.ndarray:
    """Smooth anatomy-like intensities with a bright block whose slice index is known."""
    rng = np.random.default_rng(seed)
    zz, yy, xx = np.mgrid[0:slices, 0:rows, 0:cols]
    vol = 400 + 300 * np.sin(yy / 5.0) * np.cos(xx / 7.0) + 20 * zz
    vol += rng.normal(0, 10, vol.shape)
    return np.clip(vol, 0, 4000).astype(np.uint16)


def mr_slice(
    pixels: np.ndarray,
    *,
    index: int,
    series_uid: str,
    plane: str = "sagittal",
    spacing: float = 4.0,
    position: float | None = None,
    modality: str = "MR",
    pixel_spacing=(0.8, 0.8),
    description: str = "SAG STIR Jane Doe",
) -> bytes:
    ds = Dataset()
    for key, value in PHI.items():
        setattr(ds, key, value)
    ds.Modality = modality
    ds.BodyPartExamined = "SPINE"
    ds.SeriesDescription = description
    ds.StudyDate = "20240315"
    ds.SeriesDate = "20240315"
    ds.SOPClassUID = MR_IMAGE_STORAGE
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.1"
    ds.SeriesInstanceUID = series_uid
    ds.InstanceNumber = index + 1
    row_dir, col_dir = ORIENTATIONS[plane]
    normal = np.cross(row_dir, col_dir)
    where = index * spacing if position is None else position
    ds.ImageOrientationPatient = [float(v) for v in row_dir + col_dir]
    ds.ImagePositionPatient = [float(v) for v in (np.array([-50.0, -60.0, 70.0]) + normal * where)]
    ds.PixelSpacing = [float(v) for v in pixel_spacing]
    ds.SliceThickness = spacing
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = pixels.astype(np.uint16).tobytes()
    ds.add_new(0x00091010, "LO", "private vendor note: Jane Doe")
    item = Dataset()
    item.PatientID = "SEQ-SECRET-ID"
    item.PatientName = "Doe^Jane"
    ds.OtherPatientIDsSequence = Sequence([item])
    request = Dataset()
    request.RequestedProcedureDescription = "MRI spine for Jane Doe"
    ds.RequestAttributesSequence = Sequence([request])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def mr_series(
    slices: int = 8,
    rows: int = 32,
    cols: int = 40,
    *,
    plane: str = "sagittal",
    spacing: float = 4.0,
    positions: list[float] | None = None,
    modality: str = "MR",
    seed: int = 0,
    volume: np.ndarray | None = None,
    pixel_spacing=(0.8, 0.8),
) -> tuple[list[tuple[str, bytes]], np.ndarray]:
    """(files named IM0001.dcm... in slice order, the stored volume). `volume` (non-negative)
    replaces the default phantom, e.g. one of imaging.training.mri_synth's (scaled to 12 bits)."""
    if volume is not None:
        scaled = np.clip(volume, 0, None) / max(float(volume.max()), 1e-6)
        vol = np.rint(scaled * 4000).astype(np.uint16)
        slices = vol.shape[0]
    else:
        vol = phantom(slices, rows, cols, seed)
    uid = generate_uid()
    files = []
    for i in range(slices):
        files.append(
            (
                f"IM{i + 1:04d}.dcm",
                mr_slice(
                    vol[i],
                    index=i,
                    series_uid=uid,
                    plane=plane,
                    spacing=spacing,
                    position=None if positions is None else positions[i],
                    modality=modality,
                    pixel_spacing=pixel_spacing,
                ),
            )
        )
    return files, vol


def zip_of(files: list[tuple[str, bytes]], *, compression=zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as zf:
        for name, data in files:
            zf.writestr(name, data)
    return buf.getvalue()


def nifti_bytes(data: np.ndarray, affine=None, *, gz: bool = False) -> bytes:
    import gzip

    import nibabel as nib

    image = nib.Nifti1Image(data, np.eye(4) if affine is None else affine)
    raw = image.to_bytes()
    return gzip.compress(raw) if gz else raw


def berlin_score(shape: tuple[int, int, int], *, abstain: tuple[str, ...] = (), seed: int = 0):
    """A spine-berlin output in the contract's form, for tests of storage, pages and review
    (the bundle's own output is tested with the bundle)."""
    from imaging.mri.contract import BERLIN_UNITS, SPINE_BERLIN, MriScore, RegionScore

    rng = np.random.default_rng(seed)
    regions = []
    for i, unit in enumerate(BERLIN_UNITS):
        grade = None if unit in abstain else int(rng.integers(0, 4))
        probs = np.full(4, 0.05)
        probs[grade if grade is not None else 1] = 0.85
        first = min(shape[0] - 1, i * shape[0] // len(BERLIN_UNITS))
        regions.append(
            RegionScore(
                region=unit,
                feature="bme",
                grade=grade,
                probabilities=tuple(float(p) for p in probs / probs.sum()),
                confidence=0.4 if grade is None else 0.9,
                slices=(first, min(shape[0] - 1, first + 1)),
            )
        )
    graded = [r.grade for r in regions if r.grade is not None]
    saliency = np.zeros(shape, dtype=np.float32)
    saliency[:, : shape[1] // 2, : shape[2] // 2] = 1.0
    return MriScore(
        bundle=SPINE_BERLIN,
        version="0.1.0-test",
        regions=regions,
        summary={"total": None if abstain else int(sum(graded))},
        abstained=bool(abstain),
        review_reason="Some units are below the confidence threshold." if abstain else "",
        saliency=saliency,
    )


def sij_score(shape: tuple[int, int, int], plane: str, probability: float, *, unsure=False):
    """A sij-axspa output in the contract's form (one region, per-plane summary)."""
    from imaging.mri.contract import SIJ_AXSPA, MriScore, RegionScore

    p = probability
    region = RegionScore("sacroiliac joints", "axspa", None if unsure else int(p >= 0.5),
                         (1 - p, p), max(p, 1 - p), (0, shape[0] - 1))  # fmt: skip
    return MriScore(
        bundle=SIJ_AXSPA,
        version="0.1.0-test",
        regions=[region],
        summary={"probability": p, "per_plane": {plane: p}, "axspa": None if unsure else p >= 0.5},
        abstained=unsure,
        review_reason="The ensemble is unsure." if unsure else "",
        saliency=np.zeros(shape, dtype=np.float32),
    )
