"""A name planted anywhere in a DICOM file must not survive de-identification (issue 16)."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import JPEGBaseline8Bit

from imaging.inputs import InputError, decode_image
from tests.imaging.dicom_helpers import hand_dicom

PLANTED = b"Plantedname"


def _pixels(size=64):
    rng = np.random.default_rng(7)
    return rng.random((size, size)) * 0.5 + 0.25


def _dataset(data: bytes) -> Dataset:
    return dcmread(io.BytesIO(data))


def _save(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def _assert_clean(clean: bytes) -> None:
    assert PLANTED.lower() not in clean.lower()
    assert b"Doe" not in clean  # the helper's PHI (Doe^Jane) everywhere in the header


def test_name_in_tags_private_tags_sequences_and_overlays_is_removed():
    ds = _dataset(hand_dicom(_pixels()))
    ds.PatientName = "Plantedname^Jane"
    ds.add_new(0x00291010, "LO", "Plantedname private")
    item = Dataset()
    item.PatientName = "Plantedname^Seq"
    ds.ReferencedPatientSequence = Sequence([item])
    ds.add_new(0x60000010, "US", 64)
    ds.add_new(0x60000011, "US", 64)
    ds.add_new(0x60000022, "LO", "Plantedname overlay")
    ds.add_new(0x60003000, "OW", np.zeros(64 * 64 // 8, np.uint8).tobytes())
    decoded = decode_image(_save(ds))
    _assert_clean(decoded.clean_bytes)
    stored = _dataset(decoded.clean_bytes)
    assert "ReferencedPatientSequence" not in stored
    assert not any(elem.tag.group == 0x6000 for elem in stored)


def test_trailing_bytes_after_the_pixel_data_are_dropped():
    ds = _dataset(hand_dicom(_pixels()))
    ds.PixelData = ds.PixelData + PLANTED + b" trailing!"  # even length in all
    with pytest.warns(UserWarning):  # pydicom notes the excess, then ignores it
        decoded = decode_image(_save(ds))
    _assert_clean(decoded.clean_bytes)
    stored = _dataset(decoded.clean_bytes)
    assert len(stored.PixelData) == 64 * 64 * 2
    assert np.array_equal(stored.pixel_array, _dataset(hand_dicom(_pixels())).pixel_array)


def _jpeg_dicom(comment: bytes) -> bytes:
    ds = _dataset(hand_dicom(_pixels()))
    arr8 = (_pixels() * 255).astype(np.uint8)
    exif = Image.Exif()
    exif[0x010E] = "Plantedname in EXIF"  # ImageDescription, an APP1 segment
    buf = io.BytesIO()
    Image.fromarray(arr8).save(buf, "JPEG", quality=95, comment=comment, exif=exif)
    frame = buf.getvalue()
    assert comment in frame and b"Plantedname in EXIF" in frame
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelData = encapsulate([frame])
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    return _save(ds)


def test_jpeg_comment_and_application_segments_are_dropped():
    data = _jpeg_dicom(b"Plantedname comment")
    assert PLANTED in data
    decoded = decode_image(data)
    _assert_clean(decoded.clean_bytes)
    stored = _dataset(decoded.clean_bytes)
    assert stored.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"  # explicit VR LE
    assert stored.pixel_array.shape == (64, 64)
    assert decoded.pixels.shape == (64, 64)


def test_burned_in_annotation_is_refused_with_a_clear_message():
    ds = _dataset(hand_dicom(_pixels()))
    ds.BurnedInAnnotation = "YES"
    with pytest.raises(InputError) as err:
        decode_image(_save(ds))
    assert err.value.code == "burned_in_annotation"
    assert "burned into its pixels" in err.value.message


def test_pixels_survive_the_rebuild_unchanged():
    original = hand_dicom(_pixels())
    decoded = decode_image(original)
    assert np.array_equal(_dataset(decoded.clean_bytes).pixel_array, _dataset(original).pixel_array)
