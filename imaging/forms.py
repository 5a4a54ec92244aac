"""Forms for the imaging pages."""

from __future__ import annotations

from django import forms

from imaging.inputs import MAX_BYTES
from imaging.joints import EROSION_GRADES, JOINTS, JSN_GRADES


class UploadForm(forms.Form):
    file = forms.FileField(
        label="Hand radiograph",
        help_text="DICOM, PNG or JPEG, up to 50 MB and 36 megapixels. DICOM headers are "
        "de-identified before the file is stored, encrypted.",
        allow_empty_file=True,  # an empty file gets our own clear message, not Django's
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_BYTES:
            raise forms.ValidationError("The file is larger than 50 MB.", code="too_large")
        return upload


def _grade_field(label: str, levels: int) -> forms.TypedChoiceField:
    """A grade chosen by the clinician: the field starts empty (never the model's grade)."""
    return forms.TypedChoiceField(
        label=label,
        choices=[("", "Choose")] + [(g, str(g)) for g in range(levels)],
        coerce=int,
        required=True,
        error_messages={
            "required": f"{label}: choose a grade.",
            "invalid_choice": f"{label}: choose a grade from 0 to {levels - 1}.",
        },
    )


class ReviewForm(forms.Form):
    """The clinician's own grades of every joint and the RA pattern, submitted together.

    Nothing is pre-filled: the model's grades are shown beside each row, not in the field."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for joint in JOINTS:
            self.fields[f"jsn_{joint}"] = _grade_field(f"JSN for {joint}", JSN_GRADES)
            self.fields[f"erosion_{joint}"] = _grade_field(f"Erosion for {joint}", EROSION_GRADES)
        self.fields["ra_pattern"] = forms.TypedChoiceField(
            label="Your reading of the RA pattern",
            choices=[("", "Choose"), ("yes", "Present"), ("no", "Absent")],
            coerce=lambda value: value == "yes",
            error_messages={
                "required": "RA pattern: choose present or absent.",
                "invalid_choice": "RA pattern: choose present or absent.",
            },
        )

    def clean(self):
        cleaned = super().clean()
        missing = [j for j in JOINTS if f"jsn_{j}" in self.errors or f"erosion_{j}" in self.errors]
        if missing:
            raise forms.ValidationError(
                f"Grade every joint before saving ({len(missing)} of {len(JOINTS)} incomplete "
                f"or invalid: {', '.join(missing)}). Nothing was saved.",
                code="incomplete",
            )
        return cleaned

    def grades(self) -> dict[str, tuple[int, int]]:
        return {
            j: (self.cleaned_data[f"jsn_{j}"], self.cleaned_data[f"erosion_{j}"]) for j in JOINTS
        }

    def rows(self) -> list[tuple[str, forms.BoundField, forms.BoundField]]:
        return [(j, self[f"jsn_{j}"], self[f"erosion_{j}"]) for j in JOINTS]


class AcceptModelForm(forms.Form):
    """Accepting the model's grades is a separate, deliberate action."""

    confirm = forms.BooleanField(
        label="I have looked at the radiograph and accept every grade the model gave.",
        required=True,
        error_messages={"required": "Tick the box to confirm you accept the model's grades."},
    )
