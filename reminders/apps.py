from django.apps import AppConfig


class RemindersConfig(AppConfig):
    name = "reminders"

    def ready(self) -> None:
        from diary.export import EXPORT_PARTS
        from reminders.export import reminders_export_part

        if reminders_export_part not in EXPORT_PARTS:
            EXPORT_PARTS.append(reminders_export_part)
