from django.apps import AppConfig


class ImagingConfig(AppConfig):
    name = "imaging"

    def ready(self) -> None:
        from diary.services import ERASURE_HOOKS
        from imaging.services import patient_imaging_erase

        # A patient's erasure removes their imaging files from storage, not only the rows.
        if patient_imaging_erase not in ERASURE_HOOKS:
            ERASURE_HOOKS.append(patient_imaging_erase)
