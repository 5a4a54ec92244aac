"""Building DICOM files for tests (pydicom), with identifying data to be removed."""

from __future__ import annotations

import io

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

PHI = {
    "PatientName": "Doe^Jane",
    "PatientID": "NHS-943-476-5919",
    "PatientBirthDate": "19610214",
    "PatientAddress": "1 High Street, Leeds",
    "OtherPatientIDs": "MRN-12345",
    "InstitutionName": "St Elsewhere Hospital",
    "InstitutionAddress": "2 Hospital Road",
    "ReferringPhysicianName": "House^Gregory",
    "PerformingPhysicianName": "Quinn^Michaela",
    "OperatorsName": "Radiographer^Rita",
    "AccessionNumber": "ACC998877",
    "StudyID": "STUDY42",
    "ImageComments": "Jane Doe, follow-up of erosive disease",
    "StudyDescription": "Hands PA for Jane Doe",
}


def hand_dicom(pixels: np.ndarray, *, modality="DX", body_part="HAND", photometric="MONOCHROME2"):
    ds = Dataset()
    for key, value in PHI.items():
        setattr(ds, key, value)
    ds.Modality = modality
    ds.BodyPartExamined = body_part
    ds.ImageLaterality = "R"
    ds.ViewPosition = "PA"
    ds.StudyDate = "20240315"
    ds.SeriesDate = "20240315"
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - Presentation
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    arr = (np.clip(pixels, 0, 1) * 4095).astype(np.uint16)
    if photometric == "MONOCHROME1":
        arr = 4095 - arr
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelData = arr.tobytes()
    ds.add_new(0x00091010, "LO", "private vendor note: Jane Doe")  # a private tag
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()
