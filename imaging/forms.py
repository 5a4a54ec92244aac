"""Forms for the imaging pages."""

from __future__ import annotations

from django import forms

from imaging.inputs import MAX_BYTES
from imaging.joints import JOINTS


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Hand radiograph",
        help_text="DICOM, PNG or JPEG, up to 50 MB and 60 megapixels. DICOM headers are "
        "de-identified before the file is stored, encrypted.",
        allow_empty_file=True,  # an empty file gets our own clear message, not Django's
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError("The file is larger than 50 MB.", code="too_large")
        return upload


class JointReviewForm(forms.Form):
    joint = forms.ChoiceField(choices=[(j, j) for j in JOINTS], widget=forms.HiddenInput)
    jsn = forms.TypedChoiceField(
        label="Joint-space narrowing (0-4)",
        choices=[(g, str(g)) for g in range(5)],
        coerce=int,
    )
    erosion = forms.TypedChoiceField(
        label="Erosion (0-5)",
        choices=[(g, str(g)) for g in range(6)],
        coerce=int,
    )


class RaReviewForm(forms.Form):
    ra_pattern = forms.TypedChoiceField(
        label="RA pattern",
        choices=[("yes", "Present"), ("no", "Absent")],
        coerce=lambda value: value == "yes",
    )
