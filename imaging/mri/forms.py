"""Forms for the MRI pages: the upload (several files or one zip / NIfTI) and the review."""

from __future__ import annotations

from django import forms
from django.conf import settings

from imaging.mri.contract import MRI_BUNDLES

BUNDLE_CHOICES = [
    ("spine-berlin", "Spine: sagittal STIR / T2 fat-suppressed, Berlin BME score (spine-berlin)"),
    ("sij-axspa", "Sacroiliac joints: coronal or axial, axial SpA (sij-axspa)"),
    ("hand-mri-arthritis", "Hand / wrist: RAMRIS-style grades, arthritis (hand-mri-arthritis)"),
]
assert [c for c, _ in BUNDLE_CHOICES] == list(MRI_BUNDLES)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one field (Django's documented pattern for multiple uploads)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        if isinstance(data, list | tuple):
            return [single(d, initial) for d in data]
        return [single(data, initial)]


class MriUploadForm(forms.Form):
    bundle = forms.ChoiceField(
        label="Which model should read it",
        choices=[("", "Choose")] + BUNDLE_CHOICES,
        error_messages={"required": "Choose the model that should read this series."},
    )
    files = MultipleFileField(
        label="MRI series",
        help_text="One zip of a DICOM series, several DICOM files of one series, or one NIfTI "
        "file (.nii, .nii.gz). Every DICOM file is de-identified before it is stored, "
        "encrypted.",
        allow_empty_file=True,  # an empty file gets our own clear message
        error_messages={"required": "Choose the series' files."},
    )

    def clean_files(self):
        files = self.cleaned_data["files"]
        total = sum(f.size for f in files)
        if total > settings.MRI_MAX_BYTES:
            raise forms.ValidationError(
                f"The upload is {total // 2**20} MB; the limit is "
                f"{settings.MRI_MAX_BYTES // 2**20} MB.",
                code="too_large",
            )
        return files


class MriReviewForm(forms.Form):
    """The clinician's own grade of every region, submitted together; nothing pre-filled (the
    model's grades are shown beside each row)."""

    def __init__(self, *args, rows=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.rows_ = list(rows)
        for row in self.rows_:
            label = f"{row.feature.capitalize()} grade for {row.region}"
            self.fields[f"grade_{row.index}"] = forms.TypedChoiceField(
                label=label,
                choices=[("", "Choose")] + [(g, str(g)) for g in range(row.levels)],
                coerce=int,
                error_messages={
                    "required": f"{label}: choose a grade.",
                    "invalid_choice": f"{label}: choose a grade from 0 to {row.levels - 1}.",
                },
            )

    def clean(self):
        cleaned = super().clean()
        missing = [r.region for r in self.rows_ if f"grade_{r.index}" in self.errors]
        if missing:
            raise forms.ValidationError(
                f"Grade every region before saving ({len(missing)} of {len(self.rows_)} "
                f"incomplete or invalid). Nothing was saved.",
                code="incomplete",
            )
        return cleaned

    def grades(self) -> dict[tuple[str, str], int]:
        return {(r.region, r.feature): self.cleaned_data[f"grade_{r.index}"] for r in self.rows_}

    def bound_rows(self):
        return [(row, self[f"grade_{row.index}"]) for row in self.rows_]


class MriAcceptForm(forms.Form):
    confirm = forms.BooleanField(
        label="I have looked at the series and accept every grade the model gave.",
        required=True,
        error_messages={"required": "Tick the box to confirm you accept the model's grades."},
    )
