"""Navigation by role. Each entry is (label, url name); names not yet routed are skipped."""

NAVIGATION: dict[str, list[tuple[str, str]]] = {
    "patient": [
        ("Today", "home"),
        ("Diary", "diary:entry_list"),
        ("Medicines", "diary:medicine_list"),
        ("Questionnaires", "diary:questionnaire_list"),
        ("Trends", "diary:trends"),
        ("Sharing & consent", "consent:overview"),
        ("Settings", "account_settings"),
    ],
    "clinician": [
        ("Home", "home"),
        ("My patients", "clinic:patients"),
        ("Settings", "account_settings"),
    ],
    "researcher": [
        ("Home", "home"),
        ("Exports", "registry_export:destination_list"),
        ("Cohort", "registry_export:cohort"),
        ("Settings", "account_settings"),
    ],
    "staff": [
        ("Home", "home"),
        ("Clinicians", "consent:staff_clinicians"),
        ("Admin", "admin:index"),
        ("Settings", "account_settings"),
    ],
}
