"""Navigation by role. Each entry is (label, url name); names not yet routed are skipped."""

from django.utils.translation import gettext_lazy as _

NAVIGATION: dict[str, list[tuple[str, str]]] = {
    "patient": [
        (_("Today"), "home"),
        (_("Diary"), "diary:entry_list"),
        (_("Medicines"), "diary:medicine_list"),
        (_("Questionnaires"), "diary:questionnaire_list"),
        (_("Trends"), "diary:trends"),
        (_("Sharing & consent"), "consent:overview"),
        (_("Settings"), "account_settings"),
    ],
    "clinician": [
        (_("Home"), "home"),
        (_("My patients"), "clinic:patients"),
        (_("Settings"), "account_settings"),
    ],
    "researcher": [
        (_("Home"), "home"),
        (_("Exports"), "registry_export:destination_list"),
        (_("Cohort"), "registry_export:cohort"),
        (_("Settings"), "account_settings"),
    ],
    "staff": [
        (_("Home"), "home"),
        (_("Clinicians"), "consent:staff_clinicians"),
        (_("Admin"), "admin:index"),
        (_("Settings"), "account_settings"),
    ],
}
