from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"

    def ready(self) -> None:
        from diary.export import EXPORT_PARTS
        from diary.services import ERASURE_HOOKS
        from imaging.export import imaging_export_part
        from imaging.mri.export import mri_export_part
        from imaging.services import patient_imaging_erase

        # A patient's erasure removes their imaging files from storage, not only the rows.
        if patient_imaging_erase not in ERASURE_HOOKS:
            ERASURE_HOOKS.append(patient_imaging_erase)
        # The patient's own export holds their radiographs and scores too.
        if imaging_export_part not in EXPORT_PARTS:
            EXPORT_PARTS.append(imaging_export_part)
        if mri_export_part not in EXPORT_PARTS:
            EXPORT_PARTS.append(mri_export_part)
