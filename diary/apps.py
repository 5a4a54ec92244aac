from django.apps import AppConfig


class DiaryConfig(AppConfig):
    name = "diary"

    def ready(self) -> None:
        from accounts.views import HOME_CONTEXT_PROVIDERS
        from diary import checks, dashboard  # noqa: F401 - checks registers the key check

        providers = HOME_CONTEXT_PROVIDERS.setdefault("patient", [])
        if dashboard.patient_home_context not in providers:
            providers.append(dashboard.patient_home_context)
        dashboard.discover_panels()
