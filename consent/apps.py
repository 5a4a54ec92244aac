from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent, sharing and access log"

    def ready(self) -> None:
        from accounts.views import HOME_CONTEXT_PROVIDERS
        from consent import signals  # noqa: F401 - connects the receivers
        from consent.services import consent_erasure_record
        from consent.views import patient_home_context
        from diary.services import ERASURE_HOOKS

        HOME_CONTEXT_PROVIDERS.setdefault("patient", []).append(patient_home_context)
        if consent_erasure_record not in ERASURE_HOOKS:
            ERASURE_HOOKS.append(consent_erasure_record)
