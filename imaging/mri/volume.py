"""Reading an MRI series (a DICOM series, from a zip or several files, or a NIfTI file) into a
normalised `Volume`, safely.

- Limits (settings MRI_MAX_*) are checked before anything is decompressed or decoded: the
  upload's bytes; for a zip, its central directory (number of members, declared sizes, each
  member's compression ratio, paths); for DICOM, every header (rows x columns x slices against
  the voxel limit); for NIfTI, the header's dimensions, before the data are read (a gzip stream
  is decompressed no further than the size its header declares).
- A zip member with an absolute path or a '..' part, an encrypted member, or any member that is
  not a DICOM Part 10 file is refused, named in the message.
- DICOM: one SeriesInstanceUID, modality MR (CT, CR, DX... are refused, saying what they are),
  one orientation, one matrix, one pixel spacing; slices sorted by ImagePositionPatient
  projected on the slice normal (never by file name); slices evenly spaced within tolerance,
  with a missing slice and an uneven spacing told apart.
- NIfTI (nibabel): NIfTI-1 or -2, .nii or .nii.gz, 3D only (a 4D file is refused), header sanity
  (dimensions, voxel sizes, an invertible affine, the data as long as the header says).
- Orientation: both kinds go through one affine (RAS), from which the plane is read (the slice
  axis) and the voxels are reoriented to one display convention: slices ascending in LPS,
  rows from anterior (axial) or superior (coronal, sagittal), columns from the patient's right
  (axial, coronal; radiological convention) or anterior (sagittal).
- De-identification: every DICOM file is rebuilt by the radiographs' allowlist de-identifier
  (imaging.inputs.deidentify: headers and pixel data), then given back the geometry a series
  needs and one new study/series UID shared by its slices.
"""

from __future__ import annotations

import gzip
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath, PureWindowsPath

import numpy as np
from django.conf import settings

from imaging.inputs import InputError, _check_dicom_header, _shift, deidentify, sniff
from imaging.mri.contract import PLANES, Volume

ZIP_MAGIC = b"PK\x03\x04"
PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"  # (7FE0,0010) little endian
MEDIA_STORAGE_DIRECTORY = "1.2.840.10008.1.3.10"  # DICOMDIR
GZIP_MAGIC = b"\x1f\x8b"
NIFTI_TARGETS = {  # array axes (slice, row, column) in nibabel's RAS axis codes
    "axial": ("S", "P", "L"),
    "coronal": ("P", "I", "L"),
    "sagittal": ("L", "I", "P"),
}
WORLD_AXIS_PLANE = {0: "sagittal", 1: "coronal", 2: "axial"}  # the slice normal's world axis
REFUSED_MODALITIES = {
    "CT": "a CT series",
    "CR": "a computed radiograph",
    "DX": "a digital radiograph",
    "RG": "a radiograph",
    "MG": "a mammogram",
    "US": "an ultrasound",
    "PT": "a PET series",
    "NM": "a nuclear medicine series",
    "XA": "an X-ray angiogram",
}
# Words of MRI sequence names kept from SeriesDescription (which PS3.15 removes by default: it
# can hold free text); anything else is dropped, so "SAG STIR Jane Doe" becomes "SAG STIR".
SEQUENCE_WORDS = {
    "SAG", "SAGITTAL", "COR", "CORONAL", "AX", "AXIAL", "TRA", "OBL", "STIR", "TIRM", "T1",
    "T2", "PD", "FS", "FATSAT", "FAT", "SAT", "SPIR", "SPAIR", "DIXON", "WATER", "TSE", "FSE",
    "SE", "GRE", "VIBE", "GD", "POST", "PRE", "C+", "SPINE", "WHOLE", "CERVICAL", "THORACIC",
    "LUMBAR", "SIJ", "SACROILIAC", "HAND", "WRIST", "MCP", "3D", "2D", "W", "T1W", "T2W",
}  # fmt: skip


def _limit(name: str) -> int:
    return int(getattr(settings, name))


@dataclass
class ReadSeries:
    """A read, checked and normalised series, ready to store and score."""

    volume: Volume
    source: str  # "dicom" | "nifti"
    clean_files: list[bytes] = field(default_factory=list)  # de-identified DICOM, slice order
    header: dict = field(default_factory=dict)  # de-identified fields only (dates shifted)


def read_series(files: list[tuple[str, bytes]], *, date_offset_days: int = 0) -> ReadSeries:
    """One upload (one zip, one NIfTI file, or several DICOM files of one series) -> a volume.
    Raises InputError with a message for the uploader; nothing is kept of a refused upload."""
    if not files:
        raise InputError("empty", "No file was sent.")
    total = sum(len(data) for _, data in files)
    if total > _limit("MRI_MAX_BYTES"):
        raise InputError(
            "too_large",
            f"The upload is {total // 2**20} MB; the limit is "
            f"{_limit('MRI_MAX_BYTES') // 2**20} MB.",
        )
    if len(files) > _limit("MRI_MAX_FILES"):
        raise InputError(
            "too_many_files",
            f"{len(files)} files were sent; a series may have at most "
            f"{_limit('MRI_MAX_FILES')} files.",
        )
    if any(len(data) == 0 for _, data in files):
        raise InputError("empty", "A file is empty (0 bytes).")
    kinds = {_kind(data) for _, data in files}
    if len(files) == 1 and kinds == {"zip"}:
        return _read_dicom(_zip_members(files[0][1]), date_offset_days)
    if len(files) == 1 and kinds == {"nifti"}:
        return _read_nifti(files[0][1])
    if kinds - {"dicom"}:
        if "zip" in kinds or "nifti" in kinds:
            raise InputError(
                "mixed_upload",
                "Send one zip of the series, one NIfTI file, or several DICOM files of one "
                "series, not a mixture.",
            )
        bad = [name for name, data in files if _kind(data) != "dicom"]
        raise InputError("not_dicom", f"Not DICOM (Part 10) files: {_names(bad)}.")
    return _read_dicom(files, date_offset_days)


def _kind(data: bytes) -> str:
    if data.startswith(ZIP_MAGIC):
        return "zip"
    if data.startswith(GZIP_MAGIC) or _nifti_magic(data):
        return "nifti"
    if len(data) >= 132 and data[128:132] == b"DICM":
        return "dicom"
    return "other"


def _nifti_magic(data: bytes) -> bool:
    return data[344:348] in (b"n+1\x00", b"ni1\x00") or data[4:8] in (b"n+2\x00", b"ni2\x00")


def _names(names: list[str], most: int = 5) -> str:
    shown = ", ".join(names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


# --- Zip: everything checked from the central directory first ------------------------------


def _unsafe(name: str) -> bool:
    for path in (PurePosixPath(name), PureWindowsPath(name)):
        if path.is_absolute() or path.drive or ".." in path.parts:
            return True
    return name.startswith(("/", "\\"))


def _zip_members(data: bytes) -> list[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = [i for i in archive.infolist() if not i.is_dir()]
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise InputError("corrupt", f"The zip file cannot be read: {exc}") from exc
    if not infos:
        raise InputError("empty", "The zip file holds no files.")
    if len(infos) > _limit("MRI_MAX_FILES"):
        raise InputError(
            "too_many_files",
            f"The zip holds {len(infos)} files; a series may have at most "
            f"{_limit('MRI_MAX_FILES')} files. Nothing was decompressed.",
        )
    unsafe = [i.filename for i in infos if _unsafe(i.filename)]
    if unsafe:
        raise InputError(
            "unsafe_path",
            f"The zip holds paths that climb out of its folder: {_names(unsafe)}. "
            "Nothing was decompressed.",
        )
    if any(i.flag_bits & 0x1 for i in infos):
        raise InputError("encrypted_zip", "The zip is password-protected; send it unencrypted.")
    declared = sum(i.file_size for i in infos)
    if declared > _limit("MRI_MAX_UNCOMPRESSED_BYTES"):
        raise InputError(
            "too_large",
            f"The zip would unpack to {declared // 2**20} MB; the limit is "
            f"{_limit('MRI_MAX_UNCOMPRESSED_BYTES') // 2**20} MB. Nothing was decompressed.",
        )
    ratio = _limit("MRI_MAX_COMPRESSION_RATIO")
    bombs = [i.filename for i in infos if i.file_size > ratio * max(i.compress_size, 1)]
    if bombs:
        raise InputError(
            "zip_bomb",
            f"{_names(bombs)} would expand more than {ratio} times (a zip bomb?). "
            "Nothing was decompressed.",
        )
    members = []
    try:
        for info in infos:
            with archive.open(info) as fh:  # reads at most the declared size, checks the CRC
                members.append((info.filename, fh.read(info.file_size + 1)))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise InputError("corrupt", f"The zip file cannot be read: {exc}") from exc
    other = [name for name, body in members if _kind(body) != "dicom"]
    if other:
        raise InputError(
            "not_dicom",
            f"The zip holds files that are not DICOM (Part 10) images: {_names(other)}. "
            "Send a zip of one DICOM series only.",
        )
    return members


# --- DICOM ----------------------------------------------------------------------------------


@dataclass
class _Slice:
    name: str
    data: bytes
    ds: object  # pydicom Dataset, header only
    position: np.ndarray


def _headers(files: list[tuple[str, bytes]]) -> list[_Slice]:
    import pydicom
    from pydicom.errors import InvalidDicomError

    slices = []
    for name, data in files:
        try:
            sniff(data)
            ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
        except InputError as exc:
            raise InputError(exc.code, f"{name}: {exc.message}") from exc
        except (InvalidDicomError, EOFError, OSError, ValueError, KeyError) as exc:
            raise InputError("corrupt", f"{name}: the DICOM file cannot be read: {exc}") from exc
        if _is_dicomdir(ds):
            continue  # an index of the files (names included), not an image: not kept
        rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
        if rows == 0 or cols == 0 or PIXEL_DATA_TAG not in data:
            raise InputError("no_pixels", f"{name}: the DICOM file holds no image (no pixels).")
        try:
            _check_dicom_header(ds)
        except InputError as exc:
            raise InputError(exc.code, f"{name}: {exc.message}") from exc
        slices.append(_Slice(name=name, data=data, ds=ds, position=np.zeros(3)))
    if not slices:
        raise InputError("no_pixels", "The upload holds no DICOM images.")
    return slices


def _is_dicomdir(ds) -> bool:
    sop = str(getattr(getattr(ds, "file_meta", None), "MediaStorageSOPClassUID", "") or "")
    return sop == MEDIA_STORAGE_DIRECTORY or "DirectoryRecordSequence" in ds


def _check_modality(slices: list[_Slice]) -> str:
    modalities = sorted({str(s.ds.get("Modality", "") or "").upper() for s in slices})
    refused = [m for m in modalities if m != "MR"]
    if refused:
        what = ", ".join(REFUSED_MODALITIES.get(m, f"modality {m or 'unknown'}") for m in refused)
        raise InputError(
            "not_mri",
            f"This is {what} (DICOM Modality {', '.join(refused) or 'missing'}), not an MRI "
            "series (Modality MR). The MRI models only read MRI.",
        )
    return "MR"


def _one_value(slices: list[_Slice], keyword: str, what: str) -> None:
    values = {str(s.ds.get(keyword, "")) for s in slices}
    if len(values) > 1:
        raise InputError(
            "mixed_series",
            f"The files do not all have the same {what}: they mix {len(values)} series or "
            "acquisitions. Send the files of one series only.",
        )


def _vector(ds, keyword: str, size: int, name: str) -> np.ndarray:
    value = ds.get(keyword)
    try:
        vec = np.array([float(v) for v in value], dtype=np.float64)
    except (TypeError, ValueError):
        vec = np.zeros(0)
    if vec.shape != (size,) or not np.all(np.isfinite(vec)):
        raise InputError(
            "no_geometry",
            f"{name}: the file has no usable {keyword}, so its slice position is unknown.",
        )
    return vec


def _sorted_geometry(slices: list[_Slice]) -> tuple[list[_Slice], np.ndarray, float]:
    """Slices sorted along the normal; the affine (LPS) columns; the spacing between slices."""
    iop = _vector(slices[0].ds, "ImageOrientationPatient", 6, slices[0].name)
    for s in slices[1:]:
        other = _vector(s.ds, "ImageOrientationPatient", 6, s.name)
        if not np.allclose(iop, other, atol=1e-3):
            raise InputError(
                "mixed_series",
                "The slices are not all in one orientation (ImageOrientationPatient differs): "
                "send one series only.",
            )
    row_dir, col_dir = iop[:3], iop[3:]
    normal = np.cross(row_dir, col_dir)
    if not np.isclose(np.linalg.norm(normal), 1.0, atol=1e-2):
        raise InputError("no_geometry", "ImageOrientationPatient is not two unit vectors.")
    for s in slices:
        s.position = _vector(s.ds, "ImagePositionPatient", 3, s.name)
    along = np.array([float(s.position @ normal) for s in slices])
    order = np.argsort(along, kind="stable")
    slices = [slices[i] for i in order]
    along = along[order]
    gaps = np.diff(along)
    if np.any(gaps < 1e-3):
        raise InputError(
            "duplicate_slice",
            "Two files hold a slice at the same position: the upload mixes series or repeats "
            "a file.",
        )
    step = float(np.min(gaps))
    tolerance = max(0.05 * step, 0.01)
    if np.any(np.abs(gaps - step) > tolerance):
        multiples = gaps / step
        if np.all(np.abs(multiples - np.round(multiples)) * step <= tolerance):
            missing = int(np.sum(np.round(multiples) - 1))
            first = int(np.argmax(np.round(multiples) > 1))
            raise InputError(
                "missing_slice",
                f"{missing} slice(s) are missing from the series (a gap of "
                f"{gaps[first]:.2f} mm after slice {first + 1} where the spacing is "
                f"{step:.2f} mm). Send the complete series.",
            )
        raise InputError(
            "inconsistent_spacing",
            f"The slices are not evenly spaced ({gaps.min():.2f} to {gaps.max():.2f} mm "
            "apart): the series cannot be read as one volume.",
        )
    return slices, normal, step


def _pixel_spacing(ds, name: str) -> tuple[float, float]:
    spacing = ds.get("PixelSpacing")
    try:
        rows_mm, cols_mm = (float(v) for v in spacing)
    except (TypeError, ValueError) as exc:
        raise InputError("no_geometry", f"{name}: the file has no PixelSpacing.") from exc
    if not (rows_mm > 0 and cols_mm > 0):
        raise InputError("no_geometry", f"{name}: PixelSpacing must be positive.")
    return rows_mm, cols_mm


def _read_dicom(files: list[tuple[str, bytes]], date_offset_days: int) -> ReadSeries:
    slices = _headers(files)
    modality = _check_modality(slices)
    multi = [s.name for s in slices if int(s.ds.get("NumberOfFrames", 1) or 1) > 1]
    if multi:
        raise InputError(
            "multi_frame",
            f"Multi-frame (enhanced) MR files are not read: {_names(multi)}. Export the series "
            "as one file per slice.",
        )
    if len(slices) < _limit("MRI_MIN_SLICES"):
        raise InputError(
            "too_few_slices",
            f"{'A single slice was' if len(slices) == 1 else f'{len(slices)} slices were'} "
            f"sent; an MRI series needs at least {_limit('MRI_MIN_SLICES')}.",
        )
    _one_value(slices, "SeriesInstanceUID", "SeriesInstanceUID")
    _one_value(slices, "Rows", "image size (Rows)")
    _one_value(slices, "Columns", "image size (Columns)")
    rows, cols = int(slices[0].ds.Rows), int(slices[0].ds.Columns)
    if rows * cols * len(slices) > _limit("MRI_MAX_VOXELS"):
        raise InputError(
            "too_many_voxels",
            f"The series is {len(slices)} x {rows} x {cols} voxels; the limit is "
            f"{_limit('MRI_MAX_VOXELS'):,}.",
        )
    spacing = _pixel_spacing(slices[0].ds, slices[0].name)
    for s in slices[1:]:
        if not np.allclose(_pixel_spacing(s.ds, s.name), spacing, rtol=1e-3):
            raise InputError(
                "inconsistent_spacing",
                "The slices do not all have the same PixelSpacing: send one series only.",
            )
    slices, normal, step = _sorted_geometry(slices)
    iop = _vector(slices[0].ds, "ImageOrientationPatient", 6, slices[0].name)
    voxels, clean = _decode_and_deidentify(slices, date_offset_days, step)
    affine = np.eye(4)
    affine[:3, 0] = normal * step  # array axis 0: slices
    affine[:3, 1] = iop[3:] * spacing[0]  # axis 1: rows (down the column direction)
    affine[:3, 2] = iop[:3] * spacing[1]  # axis 2: columns (along the row direction)
    affine[:3, 3] = slices[0].position
    affine[:2, :] *= -1  # LPS (DICOM) -> RAS (nibabel)
    plane = _plane(affine, slice_axis=0)
    voxels, spacing_mm = _reorient(voxels, affine, plane)
    first = slices[0].ds
    date = str(first.get("StudyDate", "") or "")
    header = {
        "modality": modality,
        "body_part": str(first.get("BodyPartExamined", "") or "")[:64],
        "series_description": clean_description(str(first.get("SeriesDescription", "") or "")),
        "study_date_shifted": _shift(date, date_offset_days) if date else "",
    }
    volume = Volume(
        voxels=voxels,
        spacing_mm=spacing_mm,
        plane=plane,
        modality=modality,
        series_description=header["series_description"],
        body_part=header["body_part"],
    )
    return ReadSeries(volume=volume, source="dicom", clean_files=clean, header=header)


def clean_description(text: str) -> str:
    """Only the MRI sequence words of a SeriesDescription (see SEQUENCE_WORDS)."""
    words = re.split(r"[\s_/,;:()\[\]-]+", text.upper())
    return " ".join(w for w in words if w in SEQUENCE_WORDS)[:64]


def _decode_and_deidentify(
    slices: list[_Slice], date_offset_days: int, step: float
) -> tuple[np.ndarray, list[bytes]]:
    """Decode every slice (modality LUT applied) and rebuild every file de-identified."""
    import pydicom
    from pydicom.pixels import apply_modality_lut
    from pydicom.uid import generate_uid

    study_uid, series_uid, frame_uid = generate_uid(), generate_uid(), generate_uid()
    first = slices[0].ds
    rows, cols = int(first.Rows), int(first.Columns)
    voxels = np.empty((len(slices), rows, cols), dtype=np.float32)
    clean = []
    for index, s in enumerate(slices):
        try:
            ds = pydicom.dcmread(io.BytesIO(s.data))
            stored = ds.pixel_array
            voxels[index] = apply_modality_lut(stored, ds).astype(np.float32)
        except Exception as exc:  # pydicom raises many types for truncated or odd pixel data
            raise InputError(
                "corrupt",
                f"{s.name}: the pixel data is incomplete or damaged ({type(exc).__name__}).",
            ) from exc
        out = deidentify(ds, date_offset_days, stored)
        # The geometry a series needs (not identifying), and one study/series for all slices.
        out.ImageOrientationPatient = ds.ImageOrientationPatient
        out.ImagePositionPatient = ds.ImagePositionPatient
        out.PixelSpacing = ds.PixelSpacing
        out.SliceThickness = ds.get("SliceThickness", step) or step
        out.SpacingBetweenSlices = round(step, 4)
        out.InstanceNumber = index + 1
        out.SeriesDescription = clean_description(str(ds.get("SeriesDescription", "") or ""))
        out.StudyInstanceUID, out.SeriesInstanceUID = study_uid, series_uid
        out.FrameOfReferenceUID = frame_uid
        buf = io.BytesIO()
        out.save_as(buf, enforce_file_format=True)
        clean.append(buf.getvalue())
        s.data = b""  # the identifiable original is not kept any longer than needed
    return voxels, clean


# --- Orientation (both kinds) ---------------------------------------------------------------


def _plane(affine: np.ndarray, *, slice_axis: int) -> str:
    from nibabel.orientations import io_orientation

    ornt = io_orientation(affine)
    return WORLD_AXIS_PLANE[int(ornt[slice_axis, 0])]


def _reorient(
    voxels: np.ndarray, affine: np.ndarray, plane: str
) -> tuple[np.ndarray, tuple[float, float, float]]:
    """Voxels in the display convention of their plane; spacing (slice, row, column) in mm."""
    from nibabel.orientations import (
        apply_orientation,
        axcodes2ornt,
        io_orientation,
        ornt_transform,
    )

    transform = ornt_transform(io_orientation(affine), axcodes2ornt(NIFTI_TARGETS[plane]))
    out = np.ascontiguousarray(apply_orientation(voxels, transform), dtype=np.float32)
    sizes = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    spacing = [0.0, 0.0, 0.0]
    for axis, (target, _) in enumerate(transform):
        spacing[int(target)] = round(float(sizes[axis]), 4)
    return out, (spacing[0], spacing[1], spacing[2])


# --- NIfTI ----------------------------------------------------------------------------------


def _nifti_header_bytes(data: bytes) -> bytes:
    """At most the first 540 bytes (a NIfTI-2 header), decompressed if gzipped."""
    if not data.startswith(GZIP_MAGIC):
        return data[:540]
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
            return fh.read(540)
    except (OSError, EOFError) as exc:
        raise InputError("corrupt", f"The NIfTI file cannot be decompressed: {exc}") from exc


def _read_nifti(data: bytes) -> ReadSeries:
    import nibabel as nib
    from nibabel.filebasedimages import ImageFileError
    from nibabel.spatialimages import HeaderDataError

    head = _nifti_header_bytes(data)
    if head[4:8] in (b"n+2\x00", b"ni2\x00") or head[:4] == (540).to_bytes(4, "little"):
        image_class, header_class = nib.Nifti2Image, nib.Nifti2Header
    else:
        image_class, header_class = nib.Nifti1Image, nib.Nifti1Header
    try:
        header = header_class.from_fileobj(io.BytesIO(head), check=True)
        shape = tuple(int(d) for d in header.get_data_shape())
        offset = int(header.get_data_offset())
        dtype = header.get_data_dtype()
    except (HeaderDataError, ValueError, TypeError, OverflowError, EOFError) as exc:
        raise InputError("broken_header", f"The NIfTI header is broken: {exc}") from exc
    dims = [d for d in shape]
    while len(dims) > 3 and dims[-1] == 1:
        dims.pop()
    if len(dims) > 3:
        raise InputError(
            "not_3d",
            f"The NIfTI file is {len(dims)}D ({' x '.join(map(str, dims))}): a time series or "
            "several volumes. Send one 3D volume.",
        )
    if len(dims) < 3 or dims[2] == 1:
        raise InputError(
            "too_few_slices",
            "The NIfTI file holds a single slice (2D); an MRI series needs at least "
            f"{_limit('MRI_MIN_SLICES')} slices.",
        )
    if any(d <= 0 for d in dims):
        raise InputError("broken_header", f"The NIfTI header's dimensions are invalid: {dims}.")
    nvox = int(np.prod(dims, dtype=np.int64))
    if nvox > _limit("MRI_MAX_VOXELS"):
        raise InputError(
            "too_many_voxels",
            f"The volume is {' x '.join(map(str, dims))} voxels; the limit is "
            f"{_limit('MRI_MAX_VOXELS'):,}. Nothing was decompressed.",
        )
    needed = offset + nvox * dtype.itemsize
    raw = _nifti_body(data, needed)
    try:
        image = image_class.from_bytes(raw)
        affine = image.affine
        zooms = image.header.get_zooms()[:3]
        if not np.all(np.isfinite(affine)) or abs(np.linalg.det(affine[:3, :3])) < 1e-9:
            raise InputError("broken_header", "The NIfTI affine is not a usable orientation.")
        if not all(np.isfinite(z) and z > 0 for z in zooms):
            raise InputError("broken_header", f"The NIfTI voxel sizes are invalid: {zooms}.")
        voxels = np.asarray(image.get_fdata(dtype=np.float32)).reshape(dims)
    except InputError:
        raise
    except (HeaderDataError, ImageFileError, ValueError, TypeError, EOFError, OSError) as exc:
        raise InputError("broken_header", f"The NIfTI file cannot be read: {exc}") from exc
    if not np.all(np.isfinite(voxels)):
        voxels = np.nan_to_num(voxels, nan=0.0, posinf=0.0, neginf=0.0)
    plane = _plane(affine, slice_axis=2)
    voxels, spacing = _reorient(voxels, affine, plane)
    if voxels.shape[0] < _limit("MRI_MIN_SLICES"):
        raise InputError(
            "too_few_slices",
            f"The volume has {voxels.shape[0]} slice(s) in its {plane} plane; an MRI series "
            f"needs at least {_limit('MRI_MIN_SLICES')}.",
        )
    volume = Volume(voxels=voxels, spacing_mm=spacing, plane=plane, modality="MR")
    return ReadSeries(volume=volume, source="nifti", header={"modality": "MR"})


def _nifti_body(data: bytes, needed: int) -> bytes:
    """The header and data, decompressed no further than the size the header declares."""
    if data.startswith(GZIP_MAGIC):
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                raw = fh.read(needed)
        except (OSError, EOFError) as exc:
            raise InputError("corrupt", f"The NIfTI file cannot be decompressed: {exc}") from exc
    else:
        raw = data[:needed]
    if len(raw) < needed:
        raise InputError(
            "broken_header",
            f"The NIfTI file is shorter ({len(raw):,} bytes) than its header declares "
            f"({needed:,} bytes): it is truncated or its header is broken.",
        )
    return raw


__all__ = ["PLANES", "ReadSeries", "clean_description", "read_series"]
