"""MRI in the imaging app: volumes in (DICOM series, NIfTI), three demonstration bundles, review.

contract.py is the interface between reading volumes (volume.py) and scoring them (bundles)."""
