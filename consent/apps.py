from django.apps import AppConfig


class ConsentConfig(AppConfig):
    name = "consent"
    verbose_name = "Consent, sharing and access log"

    def ready(self) -> None:
        from consent import signals  # noqa: F401 - connects the receivers
        from consent.dashboard import dashboard_panel
        from consent.export import consent_export_part
        from consent.services import consent_erasure_record
        from diary.dashboard import PANEL_PROVIDERS
        from diary.export import EXPORT_PARTS
        from diary.services import ERASURE_HOOKS

        # The patient's home page is the diary's dashboard: consent adds its panel there.
        if dashboard_panel not in PANEL_PROVIDERS:
            PANEL_PROVIDERS.append(dashboard_panel)
        if consent_erasure_record not in ERASURE_HOOKS:
            ERASURE_HOOKS.append(consent_erasure_record)
        # The patient's own export holds their consent history and access log too.
        if consent_export_part not in EXPORT_PARTS:
            EXPORT_PARTS.append(consent_export_part)
