from django.apps import AppConfig


class RegistryExportConfig(AppConfig):
    name = "registry_export"

    def ready(self) -> None:
        # Services hand the next step of a run to a queue instead of importing their tasks
        # module (no import circle: DESIGN.md section 1); the Celery one is wired here.
        from registry_export import services, tasks

        if services.task_queue is None:
            services.task_queue = tasks.CeleryQueue()
