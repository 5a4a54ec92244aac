from django.apps import AppConfig


class RegistryExportConfig(AppConfig):
    name = "registry_export"
