from django.apps import AppConfig
from django.utils.translation import gettext_noop


class ClinicConfig(AppConfig):
    name = "clinic"

    def ready(self) -> None:
        from accounts.views import HOME_CONTEXT_PROVIDERS
        from clinic.dashboard import clinician_home_context

        providers = HOME_CONTEXT_PROVIDERS.setdefault("clinician", [])
        if clinician_home_context not in providers:
            providers.append(clinician_home_context)

        # consent owns the access log and the patient's page of who looked; it must not import
        # clinic (DESIGN.md section 1), so clinic names its own routes in plain words here.
        from consent.selectors import VISIT_NOUNS, WHAT_IN_PLAIN_WORDS

        WHAT_IN_PLAIN_WORDS.update(
            {
                "clinic:patients": gettext_noop("saw you in their patient list"),
                "clinic:summary": gettext_noop("opened your pre-appointment summary"),
                "clinic:summary_pdf": gettext_noop(
                    "downloaded your pre-appointment summary as a PDF"
                ),
                "clinic:timeline": gettext_noop("opened your timeline"),
            }
        )
        VISIT_NOUNS.update(
            {
                "clinic:patients": gettext_noop("your name in their patient list"),
                "clinic:summary": gettext_noop("your pre-appointment summary"),
                "clinic:summary_pdf": gettext_noop(
                    "your pre-appointment summary"
                ),  # the same thing, on paper
                "clinic:timeline": gettext_noop("your timeline"),
            }
        )
