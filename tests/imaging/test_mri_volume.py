"""Reading MRI series: DICOM (zip or several files) and NIfTI into a normalised Volume, and every
bad input refused with its own message before anything is decompressed or decoded."""

from __future__ import annotations

import gzip
import io
import random
import zipfile

import numpy as np
import pytest

from imaging.inputs import InputError
from imaging.mri.volume import clean_description, read_series
from tests.imaging.mri_helpers import mr_series, nifti_bytes, zip_of


def refused(files, code: str) -> str:
    with pytest.raises(InputError) as info:
        read_series(files)
    assert info.value.code == code, info.value.message
    return info.value.message


def test_slices_are_sorted_by_position_not_by_file_name():
    files, stored = mr_series(8, plane="axial")
    shuffled = files[:]
    random.Random(3).shuffle(shuffled)
    # File names that sort the wrong way: position decides, not the name.
    renamed = [(f"z{9 - i}.dcm", data) for i, (_, data) in enumerate(shuffled)]
    read = read_series(renamed)
    assert read.volume.plane == "axial"
    assert read.volume.voxels.shape == (8, 32, 40)
    # Axial slices ascend in z (inferior to superior): the helper's positions ascend with index.
    np.testing.assert_array_equal(read.volume.voxels, stored.astype(np.float32))
    assert read.volume.spacing_mm == (4.0, 0.8, 0.8)
    assert read.source == "dicom" and len(read.clean_files) == 8


@pytest.mark.parametrize("plane", ["sagittal", "coronal", "axial"])
def test_plane_comes_from_the_orientation(plane):
    files, _ = mr_series(5, plane=plane)
    read = read_series([("series.zip", zip_of(files))])
    assert read.volume.plane == plane
    assert read.volume.voxels.shape[0] == 5


def test_sagittal_slices_run_from_right_to_left():
    files, stored = mr_series(5, plane="sagittal")  # the helper's slices move to the right
    read = read_series(files)
    np.testing.assert_array_equal(read.volume.voxels, stored[::-1].astype(np.float32))


def test_mixed_series_are_refused():
    a, _ = mr_series(4, seed=1)
    b, _ = mr_series(4, seed=2)
    b = [(f"b{n}", d) for n, d in b]
    message = refused(a + b, "mixed_series")
    assert "one series" in message


def test_missing_slice_is_named():
    files, _ = mr_series(8)
    message = refused(files[:3] + files[4:], "missing_slice")
    assert "1 slice(s) are missing" in message


def test_inconsistent_spacing_is_refused():
    files, _ = mr_series(6, positions=[0, 4, 8, 13, 17, 21.5])
    assert "not evenly spaced" in refused(files, "inconsistent_spacing")


def test_duplicate_position_is_refused():
    files, _ = mr_series(4, positions=[0, 4, 4, 8])
    refused(files, "duplicate_slice")


def test_single_slice_is_refused():
    files, _ = mr_series(1)
    assert "single slice" in refused(files, "too_few_slices").lower()


def test_ct_series_is_refused_saying_what_it_is():
    files, _ = mr_series(5, modality="CT")
    message = refused([("ct.zip", zip_of(files))], "not_mri")
    assert "CT series" in message and "Modality CT" in message


def test_radiograph_is_refused_saying_what_it_is():
    files, _ = mr_series(3, modality="DX")
    assert "digital radiograph" in refused(files, "not_mri")


def test_zip_bomb_is_refused_before_decompressing(monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("IM0001.dcm", b"\0" * 20_000_000)  # 20 MB of zeros: ~20 kB compressed
    opened = []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: opened.append(a))
    message = refused([("bomb.zip", buf.getvalue())], "zip_bomb")
    assert "Nothing was decompressed" in message
    assert opened == []


def test_ten_thousand_slice_zip_is_refused_from_its_directory(monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for i in range(10_000):
            zf.writestr(f"IM{i:05d}.dcm", b"x")
    opened = []
    monkeypatch.setattr(zipfile.ZipFile, "open", lambda *a, **k: opened.append(a))
    message = refused([("big.zip", buf.getvalue())], "too_many_files")
    assert "10000 files" in message and opened == []


def test_declared_size_over_the_limit_is_refused(settings):
    settings.MRI_MAX_UNCOMPRESSED_BYTES = 1000
    files, _ = mr_series(4)
    refused([("s.zip", zip_of(files, compression=zipfile.ZIP_STORED))], "too_large")


def test_voxel_limit_is_checked_from_the_headers(settings):
    settings.MRI_MAX_VOXELS = 1000
    files, _ = mr_series(4)
    assert "voxels" in refused(files, "too_many_voxels")


@pytest.mark.parametrize("name", ["../../etc/passwd.dcm", "/abs/IM1.dcm", "a/../../b.dcm"])
def test_paths_that_climb_out_are_refused(name):
    files, _ = mr_series(3)
    files[0] = (name, files[0][1])
    assert name in refused([("s.zip", zip_of(files))], "unsafe_path")


def test_zip_holding_other_files_is_refused():
    files, _ = mr_series(3)
    message = refused([("s.zip", zip_of(files + [("notes.txt", b"Jane's notes")]))], "not_dicom")
    assert "notes.txt" in message


def test_mixture_of_zip_and_files_is_refused():
    files, _ = mr_series(3)
    refused([("s.zip", zip_of(files)), files[0]], "mixed_upload")


def test_other_loose_files_are_refused():
    files, _ = mr_series(3)
    assert "x.txt" in refused(files + [("x.txt", b"hello")], "not_dicom")


def test_series_description_keeps_sequence_words_only():
    assert clean_description("SAG STIR Jane Doe 1961") == "SAG STIR"
    assert clean_description("t2_fs_cor for SMITH") == "T2 FS COR"


# --- NIfTI --------------------------------------------------------------------------------


def test_nifti_and_gzipped_nifti_are_read_with_their_plane():
    data = np.arange(20 * 24 * 6, dtype=np.int16).reshape(20, 24, 6)
    affine = np.diag([0.7, 0.7, 3.5, 1.0])
    for gz in (False, True):
        read = read_series([("v.nii", nifti_bytes(data, affine, gz=gz))])
        assert read.source == "nifti"
        assert read.volume.plane == "axial"
        assert read.volume.voxels.shape == (6, 24, 20)
        assert read.volume.spacing_mm == (3.5, 0.7, 0.7)


def test_nifti_sagittal_from_the_affine():
    data = np.zeros((24, 20, 5), dtype=np.int16)
    affine = np.array([[0, 0, 4.0, 0], [0.8, 0, 0, 0], [0, 0.8, 0, 0], [0, 0, 0, 1]])
    read = read_series([("v.nii.gz", nifti_bytes(data, affine, gz=True))])
    assert read.volume.plane == "sagittal"
    assert read.volume.voxels.shape == (5, 20, 24)


def test_4d_nifti_is_refused():
    data = np.zeros((8, 8, 4, 3), dtype=np.int16)
    assert "4D" in refused([("v.nii", nifti_bytes(data))], "not_3d")


def test_2d_nifti_is_a_single_slice():
    refused([("v.nii", nifti_bytes(np.zeros((8, 8, 1), dtype=np.int16)))], "too_few_slices")


def test_nifti_with_broken_header_is_refused():
    raw = bytearray(nifti_bytes(np.zeros((8, 8, 4), dtype=np.int16)))
    raw[40:56] = b"\xff" * 16  # dim[] garbage
    refused([("v.nii", bytes(raw))], "broken_header")


def test_truncated_nifti_is_refused():
    raw = nifti_bytes(np.ones((16, 16, 8), dtype=np.int16))
    assert "shorter" in refused([("v.nii", raw[:-100])], "broken_header")


def test_nifti_voxel_limit_is_checked_before_decompressing(settings, monkeypatch):
    settings.MRI_MAX_VOXELS = 100
    reads = []
    real = gzip.GzipFile.read

    def counting(self, size=-1):
        reads.append(size)
        return real(self, size)

    monkeypatch.setattr(gzip.GzipFile, "read", counting)
    raw = nifti_bytes(np.zeros((64, 64, 64), dtype=np.int16), gz=True)
    refused([("v.nii.gz", raw)], "too_many_voxels")
    assert reads and max(reads) <= 540  # only the header was decompressed


def test_empty_upload_is_refused():
    refused([("a.dcm", b"")], "empty")
    refused([], "empty")


def test_a_dicomdir_in_the_zip_is_ignored():
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import ExplicitVRLittleEndian

    ds = Dataset()
    record = Dataset()
    record.PatientName = "Doe^Jane"
    ds.DirectoryRecordSequence = Sequence([record])
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.1.3.10"
    meta.MediaStorageSOPInstanceUID = "1.2.3"
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    files, _ = mr_series(4)
    read = read_series([("s.zip", zip_of(files + [("DICOMDIR", buf.getvalue())]))])
    assert read.volume.voxels.shape[0] == 4 and len(read.clean_files) == 4


def test_a_dicom_file_without_pixels_is_refused():
    import pydicom

    files, _ = mr_series(4)
    ds = pydicom.dcmread(io.BytesIO(files[1][1]))
    del ds.PixelData
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    files[1] = ("IM0002.dcm", buf.getvalue())
    assert "IM0002.dcm" in refused(files, "no_pixels")
