"""Decoding uploads safely, and de-identifying DICOM headers.

- The type comes from the content (DICOM Part 10 "DICM" marker, PNG and JPEG signatures), never
  from the file name or the browser's content type.
- Limits before any pixel is decoded: 50 MB per file, 36 megapixels (decoding one such image
  needs about 0.5 GB; the limit is what fits a worker's memory, hand radiographs are 5-20 MP);
  Pillow's own decompression-bomb guard stays on (its warning is turned into an error here).
- The web process only `inspect`s an upload (type, header, size, limits; no pixel decoded); the
  Celery worker decodes and de-identifies it (`decode_image`).
- DICOM headers are rebuilt from an allowlist, which removes everything DICOM PS3.15 Annex E's
  Basic Application Level Confidentiality Profile (Table E.1-1) removes, and more: names, IDs,
  birth date, addresses, institution, physicians and operators, free-text comments, private
  tags, and all UIDs (replaced). Kept: modality, body part, laterality, view and the pixel
  description; dates are shifted by a per-patient offset ("Retain Longitudinal Temporal
  Information with Modified Dates" option). Pixel data is rebuilt from the decoded pixels as
  uncompressed little endian, so trailing bytes and JPEG comment/application segments, which can
  hold text, are gone; an image flagged with burned-in text (BurnedInAnnotation) is refused.
- PNG and JPEG uploads are re-encoded as a plain 16-bit PNG, which drops EXIF and text chunks.
"""

from __future__ import annotations

import datetime as dt
import io
import warnings
from dataclasses import dataclass, field

import numpy as np

MAX_BYTES = 50 * 1024 * 1024
MAX_PIXELS = 36_000_000
MAX_PIXELS_TEXT = f"{MAX_PIXELS // 1_000_000} megapixels"
HAND_MODALITIES = {"CR", "DX", "RG"}  # computed, digital and (film) radiography
HAND_BODY_PARTS = {"HAND", "WRIST", "EXTREMITY", "UPPER LIMB", "UPPEREXTREMITY"}

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
JPEG_MAGIC = b"\xff\xd8\xff"


class InputError(ValueError):
    """An upload that cannot be read; `code` is stable for clients, the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class DecodedImage:
    kind: str  # "dicom" | "png" | "jpeg"
    pixels: np.ndarray  # 2-D float32, larger = denser (MONOCHROME2 sense)
    header: dict = field(default_factory=dict)  # de-identified fields only
    review_reason: str = ""  # set when the image must not be scored (wrong modality, ...)
    clean_bytes: bytes = b""  # what may be stored: de-identified DICOM or re-encoded PNG


def sniff(data: bytes) -> str:
    if len(data) == 0:
        raise InputError("empty", "The file is empty (0 bytes).")
    if len(data) > MAX_BYTES:
        raise InputError("too_large", "The file is larger than 50 MB.")
    if len(data) >= 132 and data[128:132] == b"DICM":
        return "dicom"
    if data.startswith(PNG_MAGIC):
        return "png"
    if data.startswith(JPEG_MAGIC):
        return "jpeg"
    raise InputError(
        "unsupported_type",
        "The file is not a DICOM (Part 10), PNG or JPEG image, whatever its name says.",
    )


@dataclass
class Inspected:
    kind: str
    rows: int
    columns: int
    header: dict = field(default_factory=dict)  # de-identified fields only (dates shifted)


def inspect(data: bytes, *, date_offset_days: int = 0) -> Inspected:
    """What the web process may learn of an upload without decoding a pixel: its type, size
    and the de-identified header fields. Refuses what `decode_image` would refuse before
    decoding (type, size, pixel limit, burned-in text, an unreadable header)."""
    if len(data) > MAX_BYTES:
        raise InputError("too_large", "The file is larger than 50 MB.")
    kind = sniff(data)
    if kind != "dicom":
        w, h = _raster_size(data, kind)
        return Inspected(kind=kind, rows=h, columns=w)
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError) as exc:
        raise InputError("corrupt", f"The DICOM file cannot be read: {exc}") from exc
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    if rows == 0 or cols == 0 or b"\xe0\x7f\x10\x00" not in data:  # (7FE0,0010) Pixel Data
        raise InputError("no_pixels", "The DICOM file holds no image (no pixel data).")
    _check_dicom_header(ds)
    if not ds.file_meta.TransferSyntaxUID.is_compressed:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        needed = rows * cols * frames * samples * int(ds.get("BitsAllocated", 16) or 16) // 8
        if len(data) < needed:
            raise InputError(
                "corrupt",
                "The DICOM file cannot be read: its pixel data is incomplete (the file is "
                "shorter than its image).",
            )
    header = header_fields(ds)
    date = header["study_date_shifted"]
    header["study_date_shifted"] = _shift(date, date_offset_days) if date else ""
    return Inspected(kind=kind, rows=rows, columns=cols, header=header)


def _raster_size(data: bytes, kind: str) -> tuple[int, int]:
    from PIL import Image, UnidentifiedImageError

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            w, h = Image.open(io.BytesIO(data)).size  # lazy: reads the header only
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise InputError(
                "too_many_pixels", f"The image is over the limit of {MAX_PIXELS_TEXT}."
            ) from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise InputError(
                "corrupt", f"The {kind.upper()} file cannot be decoded: {exc}"
            ) from exc
    if w * h > MAX_PIXELS:
        raise InputError(
            "too_many_pixels", f"The image is {w} x {h} pixels; the limit is {MAX_PIXELS_TEXT}."
        )
    return w, h


def decode_image(data: bytes, *, date_offset_days: int = 0) -> DecodedImage:
    kind = sniff(data)
    if kind == "dicom":
        return _decode_dicom(data, date_offset_days)
    return _decode_raster(data, kind)


# --------------------------------------------------------------------------------------------
# PNG / JPEG


def _decode_raster(data: bytes, kind: str) -> DecodedImage:
    from PIL import Image, ImageFile, UnidentifiedImageError

    # A library may have turned this process-wide switch on (WeasyPrint does at import): a
    # truncated upload must be refused, never padded with grey and scored.
    ImageFile.LOAD_TRUNCATED_IMAGES = False

    with warnings.catch_warnings():
        # Pillow warns above MAX_IMAGE_PIXELS and raises above twice that; treat both as errors.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            img = Image.open(io.BytesIO(data))  # lazy: reads the header only
            w, h = img.size
            if w * h > MAX_PIXELS:
                raise InputError(
                    "too_many_pixels",
                    f"The image is {w} x {h} pixels; the limit is {MAX_PIXELS_TEXT}.",
                )
            img.load()
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise InputError(
                "too_many_pixels",
                f"The image is over the limit of {MAX_PIXELS_TEXT} (Pillow's decompression-bomb "
                f"guard: {exc}).",
            ) from exc
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
            raise InputError(
                "corrupt", f"The {kind.upper()} file cannot be decoded: {exc}"
            ) from exc
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        pixels = np.asarray(img, dtype=np.float32)
    else:
        pixels = np.asarray(img.convert("L"), dtype=np.float32)
    return DecodedImage(kind=kind, pixels=pixels, header={}, clean_bytes=_png16(pixels))


def _png16(pixels: np.ndarray) -> bytes:
    from PIL import Image

    lo, hi = float(pixels.min()), float(pixels.max())
    scaled = pixels - lo  # one float copy, scaled in place: peak memory matters here
    scaled *= 65535.0 / (hi - lo) if hi > lo else 0.0
    buf = io.BytesIO()
    Image.fromarray(scaled.astype(np.uint16)).save(buf, format="PNG")
    del scaled
    return buf.getvalue()


# --------------------------------------------------------------------------------------------
# DICOM

# Attributes copied into the de-identified dataset. Everything else is dropped.
KEEP = (
    "SOPClassUID",
    "Modality",
    "BodyPartExamined",
    "Laterality",
    "ImageLaterality",
    "ViewPosition",
    "PatientOrientation",
    "SamplesPerPixel",
    "PhotometricInterpretation",
    "Rows",
    "Columns",
    "BitsAllocated",
    "BitsStored",
    "HighBit",
    "PixelRepresentation",
    "PixelSpacing",
    "ImagerPixelSpacing",
    "RescaleIntercept",
    "RescaleSlope",
    "RescaleType",
    "WindowCenter",
    "WindowWidth",
    "NumberOfFrames",
)
DATES = ("StudyDate", "SeriesDate", "AcquisitionDate", "ContentDate")


def _shift(value: str, days: int) -> str:
    try:
        return (
            dt.datetime.strptime(value[:8], "%Y%m%d").date() + dt.timedelta(days=days)
        ).strftime("%Y%m%d")
    except ValueError:
        return ""  # an unparseable date is removed, not kept


def deidentify(ds, date_offset_days: int, stored: np.ndarray):
    """A new dataset holding only the allowlisted attributes (see the module docstring).

    `stored` is the decoded pixel data (stored values). The pixel data is rebuilt from it as
    uncompressed little endian, never copied: bytes after the last pixel and the JPEG comment
    and application segments of an encapsulated frame can carry text, and must not survive.
    """
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    out = Dataset()
    for keyword in KEEP:
        if keyword in ds:
            out[keyword] = ds[keyword]
    _set_native_pixels(out, stored)
    for keyword in DATES:
        value = str(ds.get(keyword, "") or "")
        if value:
            shifted = _shift(value, date_offset_days)
            if shifted:
                setattr(out, keyword, shifted)
    out.StudyInstanceUID = generate_uid()
    out.SeriesInstanceUID = generate_uid()
    out.SOPInstanceUID = generate_uid()
    out.PatientIdentityRemoved = "YES"
    out.LongitudinalTemporalInformationModified = "MODIFIED"
    codes = []
    for value, meaning in (
        ("113100", "Basic Application Confidentiality Profile"),
        ("113107", "Retain Longitudinal Temporal Information Modified Dates Option"),
    ):
        item = Dataset()
        item.CodeValue = value
        item.CodingSchemeDesignator = "DCM"
        item.CodeMeaning = meaning
        codes.append(item)
    out.DeidentificationMethodCodeSequence = Sequence(codes)
    out.DeidentificationMethod = "PS3.15 E.1 basic profile (allowlist), dates shifted"
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.get("SOPClassUID", "1.2.840.10008.5.1.4.1.1.1")
    meta.MediaStorageSOPInstanceUID = out.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    out.file_meta = meta
    return out


def _set_native_pixels(out, stored: np.ndarray) -> None:
    """Native (uncompressed) pixel data from the decoded stored values, nothing else."""
    arr = np.ascontiguousarray(stored)
    if arr.dtype.itemsize > 2:  # decoders may widen; radiographs hold at most 16 bits
        arr = arr.astype(np.int16 if arr.dtype.kind == "i" else np.uint16)
    bits = arr.dtype.itemsize * 8
    out.SamplesPerPixel = 1
    out.BitsAllocated = bits
    stored_bits = int(out.get("BitsStored", bits) or bits)
    out.BitsStored = min(stored_bits, bits)
    out.HighBit = out.BitsStored - 1
    out.PixelRepresentation = 1 if arr.dtype.kind == "i" else 0
    frames = arr.shape[0] if arr.ndim == 3 else 1
    out.Rows, out.Columns = arr.shape[-2], arr.shape[-1]
    if frames > 1:
        out.NumberOfFrames = frames
    elif "NumberOfFrames" in out:
        del out.NumberOfFrames
    data = arr.astype(arr.dtype.newbyteorder("<"), copy=False).tobytes()
    if len(data) % 2:
        data += b"\x00"  # DICOM values have even length
    out.PixelData = data
    out["PixelData"].VR = "OB" if bits == 8 else "OW"


def header_fields(ds) -> dict:
    spacing = ds.get("PixelSpacing") or ds.get("ImagerPixelSpacing")
    return {
        "modality": str(ds.get("Modality", "") or ""),
        "body_part": str(ds.get("BodyPartExamined", "") or ""),
        "laterality": str(ds.get("ImageLaterality", "") or ds.get("Laterality", "") or ""),
        "view": str(ds.get("ViewPosition", "") or ""),
        "study_date_shifted": str(ds.get("StudyDate", "") or ""),
        "rows": int(ds.get("Rows", 0) or 0),
        "columns": int(ds.get("Columns", 0) or 0),
        "pixel_spacing": [float(v) for v in spacing] if spacing else None,
    }


def review_reason_for(header: dict, frames: int) -> str:
    modality = header["modality"].upper()
    if modality and modality not in HAND_MODALITIES:
        return (
            f"Modality {modality} is not a plain radiograph (CR/DX); a hand radiograph is needed."
        )
    body = header["body_part"].upper()
    if body and body not in HAND_BODY_PARTS:
        return f"Body part {body} is not a hand or wrist."
    if frames > 1:
        return "A multi-frame image is not a single hand radiograph."
    return ""


def _check_dicom_header(ds) -> None:
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if rows * cols * frames > MAX_PIXELS:
        raise InputError("too_many_pixels", f"The image is {cols} x {rows} x {frames} pixels; "
                         f"the limit is {MAX_PIXELS_TEXT}.")  # fmt: skip
    if str(ds.get("BurnedInAnnotation", "") or "").upper() == "YES":
        raise InputError(
            "burned_in_annotation",
            "This image has text burned into its pixels (BurnedInAnnotation = YES), which may "
            "name the patient and cannot be removed safely. Upload a version without annotations.",
        )


def _decode_dicom(data: bytes, date_offset_days: int) -> DecodedImage:
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        ds = pydicom.dcmread(io.BytesIO(data))
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError) as exc:
        raise InputError("corrupt", f"The DICOM file cannot be read: {exc}") from exc
    rows, cols = int(ds.get("Rows", 0) or 0), int(ds.get("Columns", 0) or 0)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if "PixelData" not in ds or rows == 0 or cols == 0:
        raise InputError("no_pixels", "The DICOM file holds no image (no pixel data).")
    _check_dicom_header(ds)
    _check_dicom_header(ds)
    try:
        from pydicom.pixels import apply_modality_lut

        stored = ds.pixel_array
        arr = apply_modality_lut(stored, ds).astype(np.float32)
    except Exception as exc:  # pydicom raises many types for truncated or odd pixel data
        raise InputError(
            "corrupt",
            f"The DICOM file cannot be read: its pixel data is incomplete or damaged ({exc})",
        ) from exc
    if arr.ndim == 3 and frames > 1:
        arr = arr[0]
    if arr.ndim != 2 or int(ds.get("SamplesPerPixel", 1) or 1) != 1:
        raise InputError("unsupported_type", "Only greyscale DICOM images are accepted.")
    if str(ds.get("PhotometricInterpretation", "")) == "MONOCHROME1":
        arr = arr.max() - arr  # MONOCHROME1: higher values are darker
    clean = deidentify(ds, date_offset_days, stored)
    header = header_fields(clean)
    buf = io.BytesIO()
    clean.save_as(buf, enforce_file_format=True)
    return DecodedImage(
        kind="dicom",
        pixels=arr,
        header=header,
        review_reason=review_reason_for(header, frames),
        clean_bytes=buf.getvalue(),
    )
