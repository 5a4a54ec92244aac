"""Decoding uploads: type from content, limits, clear errors, DICOM de-identification."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.data import get_testdata_file

from imaging.inputs import InputError, decode_image
from imaging.training.synth import generate
from tests.imaging.dicom_helpers import PHI, hand_dicom


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height but carries almost no data (a decompression bomb's
    shape), so the test does not need gigabytes of memory."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (width + 1) * 4)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def test_zero_byte_file_is_refused_as_empty():
    with pytest.raises(InputError) as err:
        decode_image(b"")
    assert err.value.code == "empty"


def test_text_file_named_dcm_is_refused_by_content():
    with pytest.raises(InputError) as err:
        decode_image(b"Patient: Jane Doe\nThis is not an image.\n" * 10)
    assert err.value.code == "unsupported_type"
    assert "whatever its name says" in err.value.message


def test_truncated_dicom_is_refused_with_a_clear_error():
    data = hand_dicom(generate(1).image)
    with pytest.raises(InputError) as err:
        decode_image(data[: len(data) // 2])
    assert err.value.code == "corrupt"
    assert "DICOM" in err.value.message


def test_20000_square_png_is_refused_before_decoding():
    with pytest.raises(InputError) as err:
        decode_image(_png_header_only(20_000, 20_000))
    assert err.value.code == "too_many_pixels"
    assert "36 megapixels" in err.value.message


def test_file_over_50_mb_is_refused():
    with pytest.raises(InputError) as err:
        decode_image(b"\x89PNG\r\n\x1a\n" + b"\0" * (50 * 1024 * 1024))
    assert err.value.code == "too_large"


def test_corrupt_png_body_is_refused():
    with pytest.raises(InputError) as err:
        decode_image(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    assert err.value.code == "corrupt"


def test_png_and_jpeg_are_decoded_and_reencoded_without_metadata():
    img = Image.fromarray((generate(2).image * 255).astype(np.uint8))
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x010E] = "Jane Doe hands"  # ImageDescription
    img.save(buf, format="JPEG", exif=exif)
    decoded = decode_image(buf.getvalue())
    assert decoded.kind == "jpeg"
    assert decoded.pixels.shape == (512, 512)
    assert b"Jane Doe" not in decoded.clean_bytes
    assert decoded.clean_bytes.startswith(b"\x89PNG")


def test_dicom_header_is_deidentified_keeping_modality_body_part_laterality_view():
    decoded = decode_image(hand_dicom(generate(3).image), date_offset_days=-400)
    assert decoded.kind == "dicom"
    assert decoded.review_reason == ""
    clean = pydicom.dcmread(io.BytesIO(decoded.clean_bytes))
    for keyword in PHI:
        assert keyword not in clean, keyword
    for value in PHI.values():
        assert value.encode() not in decoded.clean_bytes
    assert not any(elem.tag.is_private for elem in clean)
    assert clean.Modality == "DX"
    assert clean.BodyPartExamined == "HAND"
    assert clean.ImageLaterality == "R"
    assert clean.ViewPosition == "PA"
    assert clean.PatientIdentityRemoved == "YES"
    assert clean.StudyDate == "20230209"  # 2024-03-15 shifted by -400 days (2024 is a leap year)
    assert decoded.header["study_date_shifted"] == "20230209"
    assert decoded.pixels.shape == (512, 512)


def test_monochrome1_is_inverted_to_bone_bright():
    image = generate(4).image
    m2 = decode_image(hand_dicom(image)).pixels
    m1 = decode_image(hand_dicom(image, photometric="MONOCHROME1")).pixels
    assert np.corrcoef(m1.ravel(), m2.ravel())[0, 1] > 0.99


@pytest.mark.parametrize("name,modality", [("CT_small.dcm", "CT"), ("MR_small.dcm", "MR")])
def test_ct_and_mr_slices_are_flagged_for_review(name, modality):
    with open(get_testdata_file(name), "rb") as fh:
        decoded = decode_image(fh.read())
    assert modality in decoded.review_reason
    assert "not a plain radiograph" in decoded.review_reason


def test_radiograph_of_the_wrong_body_part_is_flagged():
    decoded = decode_image(hand_dicom(generate(5).image, modality="CR", body_part="CHEST"))
    assert "CHEST" in decoded.review_reason
