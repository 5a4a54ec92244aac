"""Issue 16: imaging grades, scores and confidences sealed with the patient's data key.

Result.scores / joint_scores / confidence and every grade of JointReview and RaReview move from
clear columns into imaging.sealed.SealedJSONField columns (AES-GCM with the patient's key from
diary.crypto and settings.DIARY_KEKS, the real key provider): each field is added sealed beside
the clear one, every existing row is copied across through the instance (which seals it), the
clear column and the check constraints on it are dropped and the sealed column takes the name.
The range checks live on as field validators (full_clean in the services).

Reversible: going back re-adds the clear columns and fills them from the sealed values.
"""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import migrations, models

import imaging.sealed

PROBABILITY = [MinValueValidator(0), MaxValueValidator(1)]
FIELDS = {
    "result": ["scores", "joint_scores", "confidence"],
    "jointreview": [
        "model_jsn",
        "model_erosion",
        "model_confidence",
        "model_abstained",
        "jsn",
        "erosion",
    ],
    "rareview": ["model_probability", "ra_pattern"],
}


def grade(levels):
    return [MinValueValidator(0), MaxValueValidator(levels - 1)]


def sealed(**kwargs):
    return imaging.sealed.SealedJSONField(**kwargs)


def _rows(apps, model):
    Model = apps.get_model("imaging", model)
    related = "study" if model == "result" else "result__study"
    return Model, Model.objects.select_related(related).order_by("pk")


def seal_forward(apps, schema_editor):
    for model, names in FIELDS.items():
        Model, rows = _rows(apps, model)
        for batch_start in range(0, rows.count(), 500):
            batch = list(rows[batch_start : batch_start + 500])
            imaging.sealed.share_keys(batch)
            for row in batch:
                for name in names:
                    setattr(row, f"{name}_sealed", getattr(row, name))
                row.save(update_fields=[f"{name}_sealed" for name in names])


def seal_backward(apps, schema_editor):
    for model, names in FIELDS.items():
        Model, rows = _rows(apps, model)
        for batch_start in range(0, rows.count(), 500):
            batch = list(rows[batch_start : batch_start + 500])
            imaging.sealed.share_keys(batch)
            for row in batch:
                values = {name: getattr(row, f"{name}_sealed") for name in names}
                Model.objects.filter(pk=row.pk).update(**values)


class Migration(migrations.Migration):
    dependencies = [
        ("imaging", "0005_study_deidentified_preview"),
    ]

    operations = [
        migrations.AddField(
            model_name="result",
            name="scores_sealed",
            field=sealed(
                record_type="imaging.result.scores",
                patient="study.patient_id",
                record_id=("pk",),
                default=dict,
            ),
        ),
        migrations.AddField(
            model_name="result",
            name="joint_scores_sealed",
            field=sealed(
                record_type="imaging.result.joint_scores",
                patient="study.patient_id",
                record_id=("pk",),
                default=list,
            ),
        ),
        migrations.AddField(
            model_name="result",
            name="confidence_sealed",
            field=sealed(
                record_type="imaging.result.confidence",
                patient="study.patient_id",
                record_id=("pk",),
                validators=PROBABILITY,
            ),
        ),
        migrations.AddField(
            model_name="jointreview",
            name="model_jsn_sealed",
            field=sealed(
                record_type="imaging.jointreview.model_jsn",
                patient="result.study.patient_id",
                record_id=("result_id", "review_id", "joint"),
                validators=grade(5),
            ),
        ),
        migrations.AddField(
            model_name="jointreview",
            name="model_erosion_sealed",
            field=sealed(
                record_type="imaging.jointreview.model_erosion",
                patient="result.study.patient_id",
                record_id=("result_id", "review_id", "joint"),
                validators=grade(6),
            ),
        ),
        migrations.AddField(
            model_name="jointreview",
            name="model_confidence_sealed",
            field=sealed(
                record_type="imaging.jointreview.model_confidence",
                patient="result.study.patient_id",
                record_id=("result_id", "review_id", "joint"),
                validators=PROBABILITY,
            ),
        ),
        migrations.AddField(
            model_name="jointreview",
            name="model_abstained_sealed",
            field=sealed(
                record_type="imaging.jointreview.model_abstained",
                patient="result.study.patient_id",
                record_id=("result_id", "review_id", "joint"),
                default=False,
            ),
        ),
        migrations.AddField(
            model_name="jointreview",
            name="jsn_sealed",
            field=sealed(
                record_type="imaging.jointreview.jsn",
                patient="result.study.patient_id",
                record_id=("result_id", "review_id", "joint"),
                blank=False,
                validators=grade(5),
            ),
        ),
        migrations.AddField(
            model_name="jointreview",
            name="erosion_sealed",
            field=sealed(
                record_type="imaging.jointreview.erosion",
                patient="result.study.patient_id",
                record_id=("result_id", "review_id", "joint"),
                blank=False,
                validators=grade(6),
            ),
        ),
        migrations.AddField(
            model_name="rareview",
            name="model_probability_sealed",
            field=sealed(
                record_type="imaging.rareview.model_probability",
                patient="result.study.patient_id",
                record_id=("result_id", "review_id"),
                validators=PROBABILITY,
            ),
        ),
        migrations.AddField(
            model_name="rareview",
            name="ra_pattern_sealed",
            field=sealed(
                record_type="imaging.rareview.ra_pattern",
                patient="result.study.patient_id",
                record_id=("result_id", "review_id"),
                blank=False,
            ),
        ),
        # Before the data step, so that going back re-adds the clear columns nullable, fills
        # them, and only then makes them NOT NULL again and restores their checks.
        migrations.AlterField(
            model_name="jointreview",
            name="jsn",
            field=models.PositiveSmallIntegerField(null=True),
        ),
        migrations.AlterField(
            model_name="jointreview",
            name="erosion",
            field=models.PositiveSmallIntegerField(null=True),
        ),
        migrations.AlterField(
            model_name="rareview",
            name="ra_pattern",
            field=models.BooleanField(null=True),
        ),
        migrations.RemoveConstraint(model_name="result", name="result_confidence_0_1"),
        migrations.RemoveConstraint(model_name="jointreview", name="review_jsn_0_4"),
        migrations.RemoveConstraint(model_name="jointreview", name="review_erosion_0_5"),
        migrations.RemoveConstraint(model_name="rareview", name="ra_review_probability_0_1"),
        migrations.RunPython(seal_forward, seal_backward, elidable=False),
        migrations.RemoveField(model_name="result", name="scores"),
        migrations.RemoveField(model_name="result", name="joint_scores"),
        migrations.RemoveField(model_name="result", name="confidence"),
        migrations.RemoveField(model_name="jointreview", name="model_jsn"),
        migrations.RemoveField(model_name="jointreview", name="model_erosion"),
        migrations.RemoveField(model_name="jointreview", name="model_confidence"),
        migrations.RemoveField(model_name="jointreview", name="model_abstained"),
        migrations.RemoveField(model_name="jointreview", name="jsn"),
        migrations.RemoveField(model_name="jointreview", name="erosion"),
        migrations.RemoveField(model_name="rareview", name="model_probability"),
        migrations.RemoveField(model_name="rareview", name="ra_pattern"),
        migrations.RenameField(model_name="result", old_name="scores_sealed", new_name="scores"),
        migrations.RenameField(
            model_name="result", old_name="joint_scores_sealed", new_name="joint_scores"
        ),
        migrations.RenameField(
            model_name="result", old_name="confidence_sealed", new_name="confidence"
        ),
        migrations.RenameField(
            model_name="jointreview", old_name="model_jsn_sealed", new_name="model_jsn"
        ),
        migrations.RenameField(
            model_name="jointreview", old_name="model_erosion_sealed", new_name="model_erosion"
        ),
        migrations.RenameField(
            model_name="jointreview",
            old_name="model_confidence_sealed",
            new_name="model_confidence",
        ),
        migrations.RenameField(
            model_name="jointreview", old_name="model_abstained_sealed", new_name="model_abstained"
        ),
        migrations.RenameField(model_name="jointreview", old_name="jsn_sealed", new_name="jsn"),
        migrations.RenameField(
            model_name="jointreview", old_name="erosion_sealed", new_name="erosion"
        ),
        migrations.RenameField(
            model_name="rareview", old_name="model_probability_sealed", new_name="model_probability"
        ),
        migrations.RenameField(
            model_name="rareview", old_name="ra_pattern_sealed", new_name="ra_pattern"
        ),
    ]
